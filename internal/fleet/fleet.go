// Package fleet shares one Cognito quota among the tasks of a fleet: each
// task heartbeats into one item of the COOLDOWN_TABLE (an UpdateItem that
// sets its own entry's expiry and returns the whole item), counts the tasks
// alive, and caps its limiter at quota/tasks. The limiter's AIMD adaptation
// to throttling (other callers of the same quota) keeps working under the
// cap. A task joining waits one heartbeat before it starts, so the others
// have made room; a task leaving removes its entry, one that died is
// dropped once its entry is TTL old, and the others scale their rate up at
// their next heartbeat.
package fleet

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resend-worker/resend-worker/internal/ledger"
)

// API is the DynamoDB action a fleet uses.
type API interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Capper takes this task's share of the quota (ratelimit.Limiter).
type Capper interface {
	SetMax(perSecond float64)
}

// Config configures a task's membership.
type Config struct {
	Table string  // COOLDOWN_TABLE; required
	Group string  // the fleet's name: tasks of one group share Quota; required
	Task  string  // this task's id; required
	Quota float64 // the account's quota, calls per second (COGNITO_MAX_RPS); required
	// Interval is the heartbeat period; default 1s.
	Interval time.Duration
	// TTL is how long a task's entry lasts without a heartbeat; default 3s.
	// A task that died gives its share back within TTL + Interval.
	TTL time.Duration
	// Timeout bounds one request; default 1s.
	Timeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Observer counts requests (op heartbeat, leave); default none.
	Observer ledger.Observer
	// OnError is told of each failed request; default nothing.
	OnError func(op string, err error)
	// OnChange is told when the number of tasks changes; default nothing.
	OnChange func(tasks int, share float64)
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.TTL <= 0 {
		c.TTL = 3 * c.Interval
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Observer == nil {
		c.Observer = ledger.NopObserver{}
	}
	if c.OnError == nil {
		c.OnError = func(string, error) {}
	}
	if c.OnChange == nil {
		c.OnChange = func(int, float64) {}
	}
	return c
}

func (c Config) validate() error {
	if c.Table == "" || c.Group == "" || c.Task == "" || !(c.Quota > 0) {
		return errors.New("fleet: table, group, task and quota are required")
	}
	return nil
}

// Fleet is one task's membership. Its methods are safe for concurrent use.
type Fleet struct {
	api API
	cfg Config
	cap Capper

	mu   sync.Mutex
	slot Slot
	last map[string]types.AttributeValue // the item at the last heartbeat
}

// New returns a task's membership; it caps c at the task's share.
func New(api API, c Capper, cfg Config) (*Fleet, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Fleet{api: api, cfg: cfg, cap: c, slot: Slot{Tasks: 1}}, nil
}

// Attribute names in the fleet's item.
const taskPrefix = "t_"

// Key is the partition key of group's item.
func Key(group string) string { return "fleet#" + group }

// Slot is how many tasks share the quota and this one's place among them,
// as last seen (alone before any heartbeat succeeded).
func (f *Fleet) Slot() Slot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.slot
}

// Join heartbeats once and then waits one Interval, so that every other
// task has seen this one and lowered its share before this one calls. A
// table that cannot be reached does not stop it: the task runs at the
// whole quota until a heartbeat succeeds, with the limiter's adaptation.
func (f *Fleet) Join(ctx context.Context) {
	f.Beat(ctx)
	select {
	case <-ctx.Done():
	case <-time.After(f.cfg.Interval):
	}
}

// Run heartbeats every Interval until ctx ends. Call Leave after the last
// call to Cognito.
func (f *Fleet) Run(ctx context.Context) {
	t := time.NewTicker(f.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.Beat(ctx)
		}
	}
}

// Beat is one heartbeat: this task's entry set to expire TTL from now,
// entries long expired removed, and the live ones counted.
func (f *Fleet) Beat(ctx context.Context) {
	now := f.cfg.Now()
	rctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	names := map[string]string{"#me": taskPrefix + f.cfg.Task, "#exp": ledger.AttrExpires}
	expr := "SET #me = :alive, #exp = :itemexp"
	var stale []string
	for i, name := range f.staleNames(now) {
		alias := "#d" + strconv.Itoa(i)
		names[alias] = name
		stale = append(stale, alias)
	}
	if len(stale) > 0 {
		expr += " REMOVE " + strings.Join(stale, ", ")
	}
	out, err := f.api.UpdateItem(rctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(f.cfg.Table),
		Key:                      map[string]types.AttributeValue{ledger.AttrPK: &types.AttributeValueMemberS{Value: Key(f.cfg.Group)}},
		UpdateExpression:         aws.String(expr),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":alive":   millis(now.Add(f.cfg.TTL)),
			":itemexp": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(time.Hour).Unix(), 10)},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		f.cfg.Observer.Request("heartbeat", ledger.ResultError)
		f.cfg.OnError("heartbeat", err)
		return
	}
	f.cfg.Observer.Request("heartbeat", ledger.ResultOK)
	f.mu.Lock()
	f.last = out.Attributes
	f.mu.Unlock()
	f.apply(SlotOf(out.Attributes, f.cfg.Task, now))
}

// Leave removes this task's entry, for the others to take its share at
// their next heartbeat.
func (f *Fleet) Leave(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.Timeout)
	defer cancel()
	_, err := f.api.UpdateItem(rctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(f.cfg.Table),
		Key:                      map[string]types.AttributeValue{ledger.AttrPK: &types.AttributeValueMemberS{Value: Key(f.cfg.Group)}},
		UpdateExpression:         aws.String("REMOVE #me"),
		ExpressionAttributeNames: map[string]string{"#me": taskPrefix + f.cfg.Task},
	})
	if err != nil {
		f.cfg.Observer.Request("leave", ledger.ResultError)
		f.cfg.OnError("leave", err)
		return
	}
	f.cfg.Observer.Request("leave", ledger.ResultOK)
}

func (f *Fleet) apply(s Slot) {
	f.mu.Lock()
	changed := s.Tasks != f.slot.Tasks
	f.slot = s
	f.mu.Unlock()
	share := Share(f.cfg.Quota, s.Tasks)
	f.cap.SetMax(share)
	if changed {
		f.cfg.OnChange(s.Tasks, share)
	}
}

// staleNames are entries of the last item seen that expired more than 10
// TTLs ago: tasks that died without leaving.
func (f *Fleet) staleNames(now time.Time) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for name, v := range f.last {
		if exp, ok := entryExpiry(name, v); ok && now.Sub(exp) > 10*f.cfg.TTL {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Share is each task's cap: the quota split evenly.
func Share(quota float64, tasks int) float64 { return quota / float64(max(tasks, 1)) }

// Live counts the tasks of item alive at now, this task always included.
func Live(item map[string]types.AttributeValue, me string, now time.Time) int {
	return SlotOf(item, me, now).Tasks
}

func entryExpiry(name string, v types.AttributeValue) (time.Time, bool) {
	if !strings.HasPrefix(name, taskPrefix) {
		return time.Time{}, false
	}
	nv, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(nv.Value, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

func millis(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}
