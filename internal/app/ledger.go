package app

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/fleet"
	"github.com/resend-worker/resend-worker/internal/ledger"
	"github.com/resend-worker/resend-worker/internal/metrics"
	"github.com/resend-worker/resend-worker/internal/processor"
	"github.com/resend-worker/resend-worker/internal/ratelimit"
)

// sharedState is what COOLDOWN_TABLE gives a worker.
type sharedState struct {
	ledger processor.Ledger
	db     *dynamodb.Client // nil without COOLDOWN_TABLE
	obs    *metrics.Ledger  // nil without COOLDOWN_TABLE
	warner *ledger.Warner   // the rate-limited "table unreachable" warning
	owner  string           // this process's id in the table
	fleet  *fleet.Fleet     // nil without COOLDOWN_TABLE
}

// newShared builds the ledger: this process's own (ledger.Memory), or with
// COOLDOWN_TABLE the same in front of the fleet's table (ledger.Layered).
// The DynamoDB client comes from the SDK's chain (AWS_ENDPOINT_URL_DYNAMODB).
func newShared(cfg config.Config, awsCfg aws.Config, reg prometheus.Registerer, log *zap.Logger, lim *ratelimit.Limiter) (sharedState, error) {
	local := ledger.NewMemory(cfg.UserCooldown, nil)
	if cfg.CooldownTable == "" {
		return sharedState{ledger: local}, nil
	}
	s := sharedState{
		db:     dynamodb.NewFromConfig(awsCfg),
		obs:    metrics.NewLedger(reg),
		warner: &ledger.Warner{Log: log},
		owner:  ledger.RandomID(),
	}
	f, err := fleet.New(s.db, lim, fleet.Config{
		Table: cfg.CooldownTable, Group: cfg.ClientID, Task: s.owner, Quota: cfg.MaxRPS,
		Observer: s.obs, OnError: s.warner.Warn,
		OnChange: func(tasks int, share float64) {
			log.Info("fleet share", zap.Int("tasks", tasks), zap.Float64("max_rps", share))
		},
	})
	if err != nil {
		return s, err
	}
	s.fleet = f
	if cfg.UserCooldown <= 0 {
		log.Info("USER_COOLDOWN is 0: no claims nor sent-marks, the table only paces the fleet")
		s.ledger = local
		return s, nil
	}
	d, err := ledger.NewDynamo(s.db, ledger.DynamoConfig{
		Table:    cfg.CooldownTable,
		Cooldown: cfg.UserCooldown,
		ClaimTTL: visibilityFor(cfg) + 10*time.Second,
		Owner:    s.owner,
		Observer: s.obs,
		OnError:  s.warner.Warn,
	})
	if err != nil {
		return s, err
	}
	s.ledger = ledger.Layered{Local: local, Shared: d}
	return s, nil
}

// limiter is what the processor waits on: with a fleet, the limiter and
// then this task's slot.
func (s sharedState) limiter(lim *ratelimit.Limiter) processor.Limiter {
	if s.fleet == nil {
		return lim
	}
	return &fleet.Paced{Limiter: lim, Fleet: s.fleet}
}

// join makes this task one of the fleet before it calls Cognito (a
// heartbeat, then one interval for the others to make room) and
// heartbeats until the returned function is called, after the last call:
// that removes the task, whose share the others take at their next beat.
func (s sharedState) join(ctx context.Context) (leave func()) {
	if s.fleet == nil {
		return func() {}
	}
	s.fleet.Join(ctx)
	beatCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { s.fleet.Run(beatCtx); close(done) }()
	return func() {
		cancel()
		<-done
		s.fleet.Leave(ctx)
	}
}
