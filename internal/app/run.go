package app

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/resend-worker/resend-worker/internal/admin"
	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/consumer"
	"github.com/resend-worker/resend-worker/internal/cooldown"
	"github.com/resend-worker/resend-worker/internal/dlq"
	"github.com/resend-worker/resend-worker/internal/logging"
	"github.com/resend-worker/resend-worker/internal/metrics"
	"github.com/resend-worker/resend-worker/internal/processor"
	"github.com/resend-worker/resend-worker/internal/ratelimit"
	"github.com/resend-worker/resend-worker/internal/redact"
	"github.com/resend-worker/resend-worker/internal/resend"
	"github.com/resend-worker/resend-worker/internal/retry"
	"github.com/resend-worker/resend-worker/internal/sqsbatch"
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
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w, err := NewWorker(cfg, awsCfg, reg, log)
	if err != nil {
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

// Worker is the wired `worker run`: the consumer feeding the processor.
type Worker struct {
	Health   *admin.Health
	Metrics  *metrics.Metrics
	Limiter  *ratelimit.Limiter
	consumer *consumer.Consumer
	log      *zap.Logger
	cfg      config.Config
}

// NewWorker builds the clients from awsCfg and wires a worker with metrics
// in reg.
func NewWorker(cfg config.Config, awsCfg aws.Config, reg prometheus.Registerer, log *zap.Logger) (*Worker, error) {
	m := metrics.New(reg)
	sqsClient := sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		o.APIOptions = append(o.APIOptions, m.CountSQSRequests())
	})
	cognito := cip.NewFromConfig(awsCfg, func(o *cip.Options) {
		o.Retryer = aws.NopRetryer{} // our retry policy counts every attempt
	})
	health := &admin.Health{}
	limCfg := ratelimit.Tuned(cfg.MaxRPS)
	limCfg.OnChange = m.RateLimit.Set
	lim := ratelimit.New(limCfg)
	proc := processor.New(processor.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		MaxReceives:  cfg.MaxReceives,
		RequeueDelay: cfg.RequeueDelay,
	}, processor.Deps{
		Sender:   &resend.Client{API: cognito, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret},
		DLQ:      &dlq.Writer{API: sqsClient, DLQURL: cfg.DLQURL, MaxSize: dlqMaxSize(sqsClient, cfg.DLQURL, log)},
		Limiter:  lim,
		Retrier:  &retry.Retrier{Policy: retry.Policy{InitialInterval: cfg.RetryInitialInterval, MaxInterval: cfg.RetryMaxInterval, MaxElapsed: cfg.RetryMaxElapsed}},
		Cooldown: cooldown.New(cfg.UserCooldown, nil),
		Hasher:   redact.NewHasher(nil),
		Observer: observer{m},
		Logger:   log,
	})
	visibility := visibilityFor(cfg)
	c, err := consumer.New(sqsClient, proc, consumer.Config{
		QueueURL:          cfg.QueueURL,
		Concurrency:       cfg.Concurrency,
		VisibilityTimeout: visibility,
		ShutdownTimeout:   cfg.ShutdownTimeout,
		FlushInterval:     flushInterval,
		ReceiveLimit:      receiveLimit(lim),
		Logger:            log,
		Observer:          consumerObserver{health, m},
	})
	if err != nil {
		return nil, err
	}
	return &Worker{Health: health, Metrics: m, Limiter: lim, consumer: c, log: log, cfg: cfg}, nil
}

// visibilityFor is the visibility timeout asked for on receive: 30 s, the
// heartbeat renews it while a job runs.
func visibilityFor(config.Config) time.Duration { return 30 * time.Second }

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
// drained its backlog alone at its share of the quota).
func receiveLimit(lim *ratelimit.Limiter) func(inflight int) int {
	const horizon = 2 * time.Second
	return func(inflight int) int {
		canStart := int(math.Ceil(lim.Rate() * horizon.Seconds()))
		return canStart - inflight
	}
}

// Run consumes until ctx ends, then shuts down within SHUTDOWN_TIMEOUT.
func (w *Worker) Run(ctx context.Context) error {
	w.log.Info("worker starting",
		zap.Int("concurrency", w.cfg.Concurrency),
		zap.Float64("max_rps", w.cfg.MaxRPS),
		zap.Int("max_receives", w.cfg.MaxReceives),
		zap.Bool("secret_hash", w.cfg.ClientSecret != ""))
	stopAt := make(chan time.Time, 1)
	go func() {
		<-ctx.Done()
		stopAt <- time.Now()
		w.Health.Stopping()
		w.log.Info("shutdown requested", zap.Duration("shutdown_timeout", w.cfg.ShutdownTimeout))
	}()
	err := w.consumer.Run(ctx)
	fields := []zap.Field{zap.Error(err)}
	select {
	case t := <-stopAt:
		fields = append(fields, zap.Int64("shutdown_ms", time.Since(t).Milliseconds()))
	default:
	}
	w.log.Info("worker stopped", fields...)
	return err
}

type observer struct{ m *metrics.Metrics }

func (o observer) JobDone(out processor.Outcome) { o.m.Jobs.WithLabelValues(string(out)).Inc() }
func (o observer) CognitoCall(code string, d time.Duration) {
	o.m.CognitoRequests.WithLabelValues(code).Inc()
	o.m.CognitoDurations.Observe(d.Seconds())
}

type consumerObserver struct {
	h *admin.Health
	m *metrics.Metrics
}

func (o consumerObserver) Received(n int, err error) { o.h.Received(n, err) }
func (o consumerObserver) InFlight(delta int)        { o.m.InFlight.Add(float64(delta)) }

// dlqMaxSize is the DLQ's MaximumMessageSize, 0 (SQS's default) if it
// cannot be read. After h3's start-up check it is Queues.DLQ.MaxMessageSize.
func dlqMaxSize(api sqsbatch.AttributesAPI, dlqURL string, log *zap.Logger) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := sqsbatch.MaxMessageSize(ctx, api, dlqURL)
	if err != nil {
		log.Warn("cannot read the DLQ's MaximumMessageSize; assuming 262144", zap.Error(err))
	}
	return n
}
