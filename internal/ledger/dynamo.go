package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoAPI is the part of the DynamoDB client the ledger and the fleet use:
// exactly the item actions the task role grants.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Attribute names of a ledger item. The table's partition key is pk
// (String); expires_at (Number, epoch seconds) is its TTL attribute.
const (
	AttrPK      = "pk"
	AttrExpires = "expires_at"
	AttrState   = "state"
	AttrOwner   = "owner"

	stateClaimed = "claimed"
	stateSent    = "sent"
)

// DynamoConfig configures the shared ledger.
type DynamoConfig struct {
	// Table is COOLDOWN_TABLE; required.
	Table string
	// Cooldown is USER_COOLDOWN, how long a sent-mark lasts; 0 keeps no
	// sent-marks (claims only).
	Cooldown time.Duration
	// ClaimTTL is how long an in-progress claim lasts unless renewed: the
	// visibility timeout (30 s) plus a margin, so that the claim of a task
	// that died is gone by the time its message is visible again; default
	// 40s. A live claim is renewed every ClaimTTL/2 (one UpdateItem), so a
	// job that runs longer keeps it.
	ClaimTTL time.Duration
	// Timeout bounds one request; default 2s.
	Timeout time.Duration
	// Owner identifies this process in claims; default random.
	Owner string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Observer counts requests; default NopObserver.
	Observer Observer
	// OnError is told of each failed request (a rate-limited warning, see
	// Warner); default nothing.
	OnError func(op string, err error)
}

// WithDefaults fills unset fields.
func (c DynamoConfig) WithDefaults() DynamoConfig {
	if c.ClaimTTL <= 0 {
		c.ClaimTTL = 40 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Owner == "" {
		c.Owner = RandomID()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Observer == nil {
		c.Observer = NopObserver{}
	}
	if c.OnError == nil {
		c.OnError = func(string, error) {}
	}
	return c
}

func (c DynamoConfig) validate() error {
	if c.Table == "" {
		return errors.New("ledger: no table")
	}
	if c.Cooldown < 0 {
		return errors.New("ledger: negative cooldown")
	}
	return nil
}

// RandomID is 16 random hex digits.
func RandomID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic("ledger: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Dynamo is the fleet's ledger in one DynamoDB table. Per job it makes one
// conditional PutItem to claim (its answer says, when the claim is refused,
// whether the user was sent a code or is in progress) and one request to
// end the claim: a PutItem of the sent-mark or a conditional DeleteItem. A
// failed request never fails the job: Claim answers Unguarded.
type Dynamo struct {
	api DynamoAPI
	cfg DynamoConfig
	seq atomic.Uint64
}

// NewDynamo returns the shared ledger on api.
func NewDynamo(api DynamoAPI, cfg DynamoConfig) (*Dynamo, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Dynamo{api: api, cfg: cfg}, nil
}

// held is a claim this process holds in the table, renewed until it ends.
type held struct {
	key   Key
	owner string

	mu      sync.Mutex
	stopped bool
	timer   *time.Timer
}

func (h *held) stop() {
	h.mu.Lock()
	h.stopped = true
	if h.timer != nil {
		h.timer.Stop()
	}
	h.mu.Unlock()
}

func epoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(s string) types.AttributeValue { return &types.AttributeValueMemberN{Value: s} }
func keyOf(k Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(string(k))}
}

// Claim writes an in-progress claim unless the user has a live one or a
// live sent-mark.
func (d *Dynamo) Claim(ctx context.Context, key Key) (Claim, error) {
	now := d.cfg.Now()
	owner := fmt.Sprintf("%s/%d", d.cfg.Owner, d.seq.Add(1))
	rctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	_, err := d.api.PutItem(rctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.cfg.Table),
		Item: map[string]types.AttributeValue{
			AttrPK:      str(string(key)),
			AttrState:   str(stateClaimed),
			AttrOwner:   str(owner),
			AttrExpires: num(epoch(now.Add(d.cfg.ClaimTTL))),
		},
		ConditionExpression:                 aws.String("attribute_not_exists(#pk) OR #exp < :now"),
		ExpressionAttributeNames:            map[string]string{"#pk": AttrPK, "#exp": AttrExpires},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": num(epoch(now))},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var refused *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		d.cfg.Observer.Request("claim", ResultOK)
		h := &held{key: key, owner: owner}
		d.scheduleRenew(h)
		return Claim{Status: Claimed, Key: key, shared: h}, nil
	case errors.As(err, &refused):
		d.cfg.Observer.Request("claim", ResultConditionalFailed)
		if s, ok := refused.Item[AttrState].(*types.AttributeValueMemberS); ok && s.Value == stateSent {
			return Claim{Status: AlreadySent, Key: key}, nil
		}
		return Claim{Status: Busy, Key: key}, nil
	case ctx.Err() != nil:
		return Claim{Key: key}, ctx.Err()
	}
	d.failed("claim", err)
	return Claim{Status: Unguarded, Key: key}, nil
}

// Sent replaces the claim with a sent-mark lasting the cooldown. The code
// went out whoever holds the item now, so the write is unconditional.
func (d *Dynamo) Sent(ctx context.Context, c Claim) {
	if c.shared == nil {
		return
	}
	c.shared.stop()
	if d.cfg.Cooldown <= 0 {
		d.Release(ctx, c)
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.Timeout)
	defer cancel()
	_, err := d.api.PutItem(rctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.cfg.Table),
		Item: map[string]types.AttributeValue{
			AttrPK:      str(string(c.Key)),
			AttrState:   str(stateSent),
			AttrExpires: num(epoch(d.cfg.Now().Add(d.cfg.Cooldown))),
		},
	})
	d.count("sent", err)
}

// Release deletes the claim if this job still owns it.
func (d *Dynamo) Release(ctx context.Context, c Claim) {
	if c.shared == nil {
		return
	}
	c.shared.stop()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.Timeout)
	defer cancel()
	_, err := d.api.DeleteItem(rctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(d.cfg.Table),
		Key:                       keyOf(c.Key),
		ConditionExpression:       aws.String("#owner = :me"),
		ExpressionAttributeNames:  map[string]string{"#owner": AttrOwner},
		ExpressionAttributeValues: map[string]types.AttributeValue{":me": str(c.shared.owner)},
	})
	d.count("release", err)
}

// scheduleRenew extends the claim every ClaimTTL/2 while it is held: a job
// that ends within that time (nearly all) costs no renewal.
func (d *Dynamo) scheduleRenew(h *held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	h.timer = time.AfterFunc(d.cfg.ClaimTTL/2, func() {
		if d.renew(h) {
			d.scheduleRenew(h)
		}
	})
}

// renew pushes the claim's expiry out if this job still owns it in
// progress; it reports whether to keep renewing.
func (d *Dynamo) renew(h *held) bool {
	h.mu.Lock()
	stopped := h.stopped
	h.mu.Unlock()
	if stopped {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
	defer cancel()
	_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.cfg.Table),
		Key:                       keyOf(h.key),
		UpdateExpression:          aws.String("SET #exp = :exp"),
		ConditionExpression:       aws.String("#owner = :me AND #state = :claimed"),
		ExpressionAttributeNames:  map[string]string{"#exp": AttrExpires, "#owner": AttrOwner, "#state": AttrState},
		ExpressionAttributeValues: map[string]types.AttributeValue{":exp": num(epoch(d.cfg.Now().Add(d.cfg.ClaimTTL))), ":me": str(h.owner), ":claimed": str(stateClaimed)},
	})
	d.count("renew", err)
	var refused *types.ConditionalCheckFailedException
	return !errors.As(err, &refused) // lost the claim: stop; an error: try again later
}

// count records a request that ends a claim; a refused condition is not a
// failure (the claim had ended or passed to another job).
func (d *Dynamo) count(op string, err error) {
	var refused *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		d.cfg.Observer.Request(op, ResultOK)
	case errors.As(err, &refused):
		d.cfg.Observer.Request(op, ResultConditionalFailed)
	default:
		d.failed(op, err)
	}
}

func (d *Dynamo) failed(op string, err error) {
	d.cfg.Observer.Request(op, ResultError)
	d.cfg.OnError(op, err)
}
