package app

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/ledger"
	"github.com/resend-worker/resend-worker/internal/metrics"
	"github.com/resend-worker/resend-worker/internal/processor"
)

// sharedState is what COOLDOWN_TABLE gives a worker.
type sharedState struct {
	ledger processor.Ledger
	db     *dynamodb.Client // nil without COOLDOWN_TABLE
	obs    *metrics.Ledger  // nil without COOLDOWN_TABLE
	warner *ledger.Warner   // the rate-limited "table unreachable" warning
	owner  string           // this process's id in the table
}

// newShared builds the ledger: this process's own (ledger.Memory), or with
// COOLDOWN_TABLE the same in front of the fleet's table (ledger.Layered).
// The DynamoDB client comes from the SDK's chain (AWS_ENDPOINT_URL_DYNAMODB).
func newShared(cfg config.Config, awsCfg aws.Config, reg prometheus.Registerer, log *zap.Logger) (sharedState, error) {
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
