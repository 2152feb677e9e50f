package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/admin"
	"github.com/resend-worker/resend-worker/internal/breaker"
	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/consumer"
	"github.com/resend-worker/resend-worker/internal/dlq"
	"github.com/resend-worker/resend-worker/internal/logging"
	"github.com/resend-worker/resend-worker/internal/metrics"
	"github.com/resend-worker/resend-worker/internal/processor"
	"github.com/resend-worker/resend-worker/internal/ratelimit"
	"github.com/resend-worker/resend-worker/internal/redact"
	"github.com/resend-worker/resend-worker/internal/resend"
	"github.com/resend-worker/resend-worker/internal/retry"
)

func runCommand(ctx context.Context, args []string, io IO) error {
	cfg, err := config.Load(newFlagSet("run", io.Stderr), args, io.Env, config.NeedAll)
	if err != nil {
		return err
	}
	log, err := logging.New(io.Stdout, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // nothing to do if stdout is gone
	awsCfg, err := loadAWS(ctx, io.Env, cfg.Concurrency+16)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	metrics.RegisterRuntime(reg)
	w, err := NewWorker(ctx, cfg, awsCfg, reg, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped (SIGTERM) while checking the queues: nothing to shut down
		}
		return err
	}
	if cfg.AdminAddr != "" {
		srv, err := admin.Start(cfg.AdminAddr, admin.Handler(w.Health, reg))
		if err != nil {
			return &config.Error{Name: "ADMIN_ADDR", Reason: err.Error()}
		}
		defer srv.Close()
		log.Info("admin endpoint listening", zap.String("addr", srv.Addr()))
	}
	return w.Run(ctx)
}

// loadAWS reads the SDK's default chain (region, credentials, endpoint
// variables), with an HTTP client that keeps enough idle connections for
// the worker's concurrency.
func loadAWS(ctx context.Context, env Env, conns int) (aws.Config, error) {
	client := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = max(conns*2, 100)
		t.MaxIdleConnsPerHost = conns
	})
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithHTTPClient(client))
	if err != nil {
		return cfg, fmt.Errorf("aws config: %w", err)
	}
	if cfg.Region == "" {
		return cfg, &config.Error{Name: "AWS_REGION", Reason: "is required (or a region in the shared AWS config)"}
	}
	return cfg, nil
}

// Worker is the wired `worker run`: a consumer feeding a processor per lane.
type Worker struct {
	Health    *admin.Health
	Metrics   *metrics.Metrics
	Limiter   *ratelimit.Limiter
	Breaker   *breaker.Breaker
	Queues    Queues // the queues and their MaximumMessageSize, read at start
	consumers []*consumer.Consumer
	log       *zap.Logger
	cfg       config.Config
	started   []zap.Field // the queues and endpoints, for "worker starting"
	shared    sharedState
}

// NewWorker builds the clients from awsCfg, checks that the queues exist
// (a *QueueError if not) and wires a worker with metrics in reg.
func NewWorker(ctx context.Context, cfg config.Config, awsCfg aws.Config, reg prometheus.Registerer, log *zap.Logger) (*Worker, error) {
	m := metrics.New(reg)
	sqsClient := sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		o.APIOptions = append(o.APIOptions, m.CountSQSRequests())
	})
	cognito := cip.NewFromConfig(awsCfg, func(o *cip.Options) {
		o.Retryer = aws.NopRetryer{} // our retry policy counts every attempt
	})
	queues, err := CheckQueues(ctx, sqsClient, cfg)
	if err != nil {
		return nil, err
	}
	started := []zap.Field{
		zap.String("queue_url", queues.Job.URL), zap.String("dlq_url", queues.DLQ.URL), zap.String("bulk_queue_url", queues.Bulk.URL),
		zap.String("region", awsCfg.Region),
		zap.String("sqs_endpoint", endpointForLog(sqsClient.Options().BaseEndpoint)),
		zap.String("cognito_endpoint", endpointForLog(cognito.Options().BaseEndpoint)),
	}
	health := &admin.Health{}
	limCfg := ratelimit.Tuned(cfg.MaxRPS)
	limCfg.OnChange = m.RateLimit.Set
	lim := ratelimit.New(limCfg)
	brk := breaker.New(breaker.Config{OnChange: outageSignals(log, health, m)})
	held := &atomic.Int64{} // jobs the consumers hold, both lanes
	shared, err := newShared(cfg, awsCfg, reg, log, lim)
	if err != nil {
		return nil, err
	}
	lanes, err := lanesFor(cfg, shared.limiter(lim), health)
	if err != nil {
		return nil, err
	}
	w := &Worker{Health: health, Metrics: m, Limiter: lim, Breaker: brk, Queues: queues, log: log, cfg: cfg, started: started, shared: shared}
	deps := processor.Deps{
		Sender:  &resend.Client{API: cognito, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret},
		DLQ:     &dlq.Writer{API: sqsClient, DLQURL: cfg.DLQURL, MaxSize: queues.DLQ.MaxMessageSize},
		Breaker: brk,
		Retrier: &retry.Retrier{Policy: retry.Policy{InitialInterval: cfg.RetryInitialInterval, MaxInterval: cfg.RetryMaxInterval, MaxElapsed: cfg.RetryMaxElapsed}},
		Ledger:  shared.ledger,
		Hasher:  redact.NewHasher([]byte(cfg.LogUserHashKey)),
	}
	for _, l := range lanes {
		laneLog := log.With(zap.String("lane", l.name))
		deps.Limiter, deps.Observer, deps.Logger = l.limiter, observer{m, l.name}, laneLog
		proc := processor.New(processor.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			MaxReceives:  cfg.MaxReceives,
			RequeueDelay: cfg.RequeueDelay,
			Lane:         l.dlqLane,
		}, deps)
		c, err := consumer.New(sqsClient, proc, consumer.Config{
			QueueURL:          l.queueURL,
			Concurrency:       cfg.Concurrency,
			Slots:             l.slots,
			VisibilityTimeout: visibilityFor(cfg),
			ShutdownTimeout:   cfg.ShutdownTimeout,
			FlushInterval:     flushInterval,
			ReceiveLimit:      receiveLimit(lim, brk),
			ReceiveGate:       receiveGate(brk, held),
			Alive:             health.Beat,
			Logger:            laneLog,
			Observer:          consumerObserver{l.health, m, l.name, held},
		})
		if err != nil {
			return nil, err
		}
		w.consumers = append(w.consumers, c)
	}
	return w, nil
}

// visibilityFor is the visibility timeout asked for on receive; the
// heartbeat renews it while a job runs.
func visibilityFor(config.Config) time.Duration { return config.VisibilityTimeout }

// flushInterval is the longest a delete or visibility change waits to fill a
// batch of 10. At 20 jobs/s a second fills a batch (0.1 DeleteMessageBatch
// per job; at 200 ms it was 0.21); a message waiting for its delete is still
// invisible, far from its visibility timeout, so the delay costs nothing.
const flushInterval = time.Second

// receiveLimit is the backpressure from the limiter: a receive asks for no
// more messages than the limiter can start within 2 s, less those already
// held (0 or less: the consumer waits for jobs to end before it receives).
// Two seconds keeps a full batch of 10 at 5 calls/s and up; a short horizon
// keeps processes sharing a quota finishing together (with 5 s, the last one
// drained its backlog alone at its share of the quota). While Cognito is
// down only one call at a time can start (a probe): a receive the gate lets
// through then asks for one message, the probe's.
func receiveLimit(lim *ratelimit.Limiter, brk *breaker.Breaker) func(inflight int) int {
	const horizon = 2 * time.Second
	return func(inflight int) int {
		if brk.Down() {
			return 1 - inflight
		}
		canStart := int(math.Ceil(lim.Rate() * horizon.Seconds()))
		return canStart - inflight
	}
}

// receiveGate holds receives while Cognito is judged down: no long poll is
// open then (a message it brought would wait for Cognito, hidden, and one
// whose client gave up would stay hidden for the visibility timeout). When
// no job is held, none can probe: the gate then lets one receive through
// when a probe is due, and the job it brings is the probe.
func receiveGate(brk *breaker.Breaker, held *atomic.Int64) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		return brk.WaitReceive(ctx, func() bool { return held.Load() == 0 })
	}
}

// outageSignals marks each change of the breaker's state: one log line (warn
// when down, with the error code that tripped it and the numbers it judged
// by; info when back), the resend_cognito_outage gauge and readiness.
func outageSignals(log *zap.Logger, health *admin.Health, m *metrics.Metrics) func(breaker.Change) {
	return func(c breaker.Change) {
		health.CognitoDown(c.Down)
		if c.Down {
			m.CognitoOutage.Set(1)
			log.Warn("cognito down: holding jobs, receiving none, probing",
				zap.String("error_code", c.Code), zap.Int("failures", c.Failures), zap.Int("calls", c.Calls),
				zap.Float64("failure_share", math.Round(c.Share*1000)/1000))
			return
		}
		m.CognitoOutage.Set(0)
		log.Info("cognito back: resuming", zap.Int64("down_ms", c.Duration.Milliseconds()), zap.Int("probes", c.Probes))
	}
}

// Run consumes until ctx ends, then shuts down within SHUTDOWN_TIMEOUT. Its
// log lines come in order: "shutdown requested" before anything the stop
// logs, nothing after "worker stopped".
func (w *Worker) Run(ctx context.Context) error {
	w.log.Info("worker starting", append(w.started,
		zap.Int("concurrency", w.cfg.Concurrency),
		zap.Float64("max_rps", w.cfg.MaxRPS),
		zap.Int("max_receives", w.cfg.MaxReceives),
		zap.Bool("secret_hash", w.cfg.ClientSecret != ""),
		zap.Bool("bulk_lane", w.cfg.BulkQueueURL != ""))...)
	// The consumers see the stop only once it has been logged.
	consumerCtx, stopConsumer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConsumer()
	ended := make(chan struct{})
	watcher := make(chan time.Time, 1) // when the stop was asked for; zero if it was not
	go func() {
		select {
		case <-ctx.Done():
			t := time.Now()
			w.Health.Stopping()
			w.log.Info("shutdown requested", zap.Duration("shutdown_timeout", w.cfg.ShutdownTimeout))
			stopConsumer()
			watcher <- t
		case <-ended:
			watcher <- time.Time{}
		}
	}()
	leave := w.shared.join(ctx)
	errs := make(chan error, len(w.consumers))
	for _, c := range w.consumers {
		go func() { errs <- c.Run(consumerCtx) }()
	}
	var err error
	for range w.consumers {
		err = errors.Join(err, <-errs)
	}
	leave() // after the last call: the others take this task's share
	close(ended)
	fields := []zap.Field{zap.Error(err)}
	if t := <-watcher; !t.IsZero() {
		fields = append(fields, zap.Int64("shutdown_ms", time.Since(t).Milliseconds()))
	}
	w.log.Info("worker stopped", fields...)
	return err
}
