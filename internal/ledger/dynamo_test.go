package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resend-worker/resend-worker/internal/ledger"
	"github.com/resend-worker/resend-worker/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Shutdown()
	os.Exit(code)
}

// counter is a ledger.Observer.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) Request(op, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[op+"/"+result]++
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

var tableSeq atomic.Int64

// motoTable is a fresh ledger table on the test binary's moto_server.
func motoTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	m := testenv.StartMoto(t)
	name := fmt.Sprintf("ledger-%d-%d", os.Getpid(), tableSeq.Add(1))
	if err := m.CreateLedgerTable(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return m.DynamoDB(), name
}

func newDynamo(t *testing.T, api ledger.DynamoAPI, cfg ledger.DynamoConfig) *ledger.Dynamo {
	t.Helper()
	d, err := ledger.NewDynamo(api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func item(t *testing.T, db *dynamodb.Client, table string, key ledger.Key) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: string(key)}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func attr(it map[string]types.AttributeValue, name string) string {
	switch v := it[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

// The conditional writes, against moto's DynamoDB: two workers (two Dynamo
// ledgers with their own owners) on one table.
func TestDynamoClaimsOnMoto(t *testing.T) {
	db, table := motoTable(t)
	clock := newClock()
	obs := &counter{}
	cfg := ledger.DynamoConfig{Table: table, Cooldown: 2 * time.Minute, ClaimTTL: 40 * time.Second, Now: clock.Now, Observer: obs}
	cfgA, cfgB := cfg, cfg
	cfgA.Owner, cfgB.Owner = "task-a", "task-b"
	a, b := newDynamo(t, db, cfgA), newDynamo(t, db, cfgB)
	ctx := context.Background()
	key := ledger.UserKey("client", "", "alice@example.com")

	ca := mustClaim(t, a, key, ledger.Claimed)
	it := item(t, db, table, key)
	if attr(it, "state") != "claimed" || attr(it, "owner") != "task-a/1" || attr(it, "expires_at") != fmt.Sprint(clock.Now().Add(40*time.Second).Unix()) {
		t.Errorf("claim item = %v", it)
	}
	mustClaim(t, b, key, ledger.Busy)
	mustClaim(t, a, key, ledger.Busy) // another job of the same process too
	// A Release by a job that does not own the claim leaves it.
	clock.Advance(41 * time.Second) // a's claim expired: a dead task's
	cb := mustClaim(t, b, key, ledger.Claimed)
	a.Release(ctx, ca)
	if o := attr(item(t, db, table, key), "owner"); !strings.HasPrefix(o, "task-b/") {
		t.Fatalf("a stale owner's release removed the new owner's claim (owner %q)", o)
	}
	if obs.get("release/conditional_failed") != 1 {
		t.Errorf("release counts = %v", obs.n)
	}
	b.Sent(ctx, cb)
	it = item(t, db, table, key)
	if attr(it, "state") != "sent" || attr(it, "owner") != "" || attr(it, "expires_at") != fmt.Sprint(clock.Now().Add(2*time.Minute).Unix()) {
		t.Errorf("sent-mark = %v", it)
	}
	mustClaim(t, a, key, ledger.AlreadySent)
	clock.Advance(2*time.Minute + time.Second)
	ca = mustClaim(t, a, key, ledger.Claimed) // the sent-mark expired
	a.Release(ctx, ca)
	if it := item(t, db, table, key); it != nil {
		t.Errorf("after release the item is %v, want none", it)
	}
	if got := obs.get("claim/ok") + obs.get("claim/conditional_failed"); got != 6 {
		t.Errorf("claim requests = %d, want 6 (%v)", got, obs.n)
	}
	if obs.get("claim/error")+obs.get("sent/error")+obs.get("release/error") != 0 {
		t.Errorf("errors counted: %v", obs.n)
	}
}

// Among concurrent claims of one user from several workers, exactly one wins.
func TestDynamoOneClaimAmongManyOnMoto(t *testing.T) {
	db, table := motoTable(t)
	key := ledger.UserKey("client", "", "bob@example.com")
	var wg sync.WaitGroup
	var claimed atomic.Int32
	for i := range 8 {
		d := newDynamo(t, db, ledger.DynamoConfig{Table: table, Cooldown: time.Minute, Owner: fmt.Sprint("task-", i)})
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := d.Claim(context.Background(), key)
			if err != nil || !(c.Status == ledger.Claimed || c.Status == ledger.Busy) {
				t.Errorf("Claim = %v, %v", c.Status, err)
			}
			if c.Status == ledger.Claimed {
				claimed.Add(1)
			}
		}()
	}
	wg.Wait()
	if claimed.Load() != 1 {
		t.Errorf("%d workers claimed one user, want 1", claimed.Load())
	}
}

// A claim held longer than half its TTL is renewed (one UpdateItem); ending
// it stops the renewals.
func TestDynamoRenewsALongClaimOnMoto(t *testing.T) {
	db, table := motoTable(t)
	obs := &counter{}
	d := newDynamo(t, db, ledger.DynamoConfig{Table: table, Cooldown: time.Minute, ClaimTTL: 200 * time.Millisecond, Observer: obs})
	key := ledger.UserKey("client", "", "carol@example.com")
	c := mustClaim(t, d, key, ledger.Claimed)
	testenv.Eventually(t, 5*time.Second, "two renewals", func() bool { return obs.get("renew/ok") >= 2 })
	d.Sent(context.Background(), c)
	n := obs.get("renew/ok")
	time.Sleep(300 * time.Millisecond) // longer than a renewal period: none may follow
	if got := obs.get("renew/ok") + obs.get("renew/conditional_failed"); got > n+1 {
		t.Errorf("renewals went on after Sent: %d then %d", n, got)
	}
	if attr(item(t, db, table, key), "state") != "sent" {
		t.Error("a renewal after Sent overwrote the sent-mark")
	}
}

// failingAPI is a table that cannot be reached.
type failingAPI struct{ calls atomic.Int32 }

var errDown = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")

func (f *failingAPI) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.calls.Add(1)
	return nil, errDown
}
func (f *failingAPI) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.calls.Add(1)
	return nil, errDown
}
func (f *failingAPI) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.calls.Add(1)
	return nil, errDown
}
func (f *failingAPI) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	f.calls.Add(1)
	return nil, errDown
}

// Without the table a job proceeds (Unguarded), counted as an error and
// reported; the in-process layer still deduplicates the process's own jobs.
func TestLayeredProceedsWithoutTheTable(t *testing.T) {
	api := &failingAPI{}
	obs := &counter{}
	var reported []string
	d := newDynamo(t, api, ledger.DynamoConfig{Table: "t", Cooldown: time.Minute, Observer: obs,
		OnError: func(op string, err error) { reported = append(reported, op) }})
	l := ledger.Layered{Local: ledger.NewMemory(time.Minute, nil), Shared: d}
	c := mustClaim(t, l, "a", ledger.Unguarded)
	l.Sent(context.Background(), c)
	mustClaim(t, l, "a", ledger.AlreadySent)
	if api.calls.Load() != 1 || obs.get("claim/error") != 1 || len(reported) != 1 || reported[0] != "claim" {
		t.Errorf("calls %d, counts %v, reported %v: want one failed claim", api.calls.Load(), obs.n, reported)
	}
}

// A job whose context ends while claiming is not claimed.
func TestDynamoClaimContextEnded(t *testing.T) {
	d := newDynamo(t, &failingAPI{}, ledger.DynamoConfig{Table: "t"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Claim(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Claim with an ended context: %v, want context.Canceled", err)
	}
}

// Layered: the second job for a user in one process costs no request.
func TestLayeredLocalAnswersFirstOnMoto(t *testing.T) {
	db, table := motoTable(t)
	obs := &counter{}
	l := ledger.Layered{Local: ledger.NewMemory(time.Minute, nil),
		Shared: newDynamo(t, db, ledger.DynamoConfig{Table: table, Cooldown: time.Minute, Observer: obs})}
	other := newDynamo(t, db, ledger.DynamoConfig{Table: table, Cooldown: time.Minute})
	key := ledger.UserKey("client", "", "dave@example.com")
	c := mustClaim(t, l, key, ledger.Claimed)
	l.Sent(context.Background(), c)
	mustClaim(t, l, key, ledger.AlreadySent)
	mustClaim(t, other, key, ledger.AlreadySent)
	if obs.get("claim/ok") != 1 || obs.get("sent/ok") != 1 || len(obs.n) != 2 {
		t.Errorf("requests %v, want one claim and one sent-mark", obs.n)
	}
	// Busy in the table leaves the local layer free for the next job.
	key2 := ledger.UserKey("client", "", "erin@example.com")
	oc := mustClaim(t, other, key2, ledger.Claimed)
	mustClaim(t, l, key2, ledger.Busy)
	other.Release(context.Background(), oc)
	mustClaim(t, l, key2, ledger.Claimed)
}

func TestNewDynamoNeedsATable(t *testing.T) {
	if _, err := ledger.NewDynamo(&failingAPI{}, ledger.DynamoConfig{}); err == nil {
		t.Error("NewDynamo without a table: no error")
	}
}
