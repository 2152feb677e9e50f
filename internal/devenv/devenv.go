// Package devenv starts the local back ends the tests, the demo and the
// benchmark run against: moto_server for SQS and the Cognito stand-in, with
// the environment a worker process needs to reach them.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
	"github.com/resend-worker/resend-worker/internal/sqsemu"
)

// Region is the region of every local client and worker.
const Region = "us-east-1"

// ErrNoMoto means moto_server is not installed.
var ErrNoMoto = errors.New("moto_server not found on PATH nor in the module's .venv (`bash scripts/moto.sh`, run by make demo/test, installs it there)")

// Moto is a running moto_server.
type Moto struct {
	URL     string
	LogFile string
	cmd     *exec.Cmd
}

// StartMoto starts moto_server on a free loopback port and waits until it
// answers (it takes about 3 s).
func StartMoto(ctx context.Context) (*Moto, error) {
	bin, err := MotoPath()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Stop kills its children too
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("moto_server: %w", err)
	}
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port), LogFile: logf.Name(), cmd: cmd}
	if err := waitHTTP(ctx, m.URL+"/moto-api/", 30*time.Second); err != nil {
		m.Stop()
		return nil, fmt.Errorf("moto_server did not answer on %s (log %s): %w", m.URL, m.LogFile, err)
	}
	return m, nil
}

// Stop ends moto_server.
func (m *Moto) Stop() {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// SQS is an SQS client of moto.
func (m *Moto) SQS() *sqs.Client {
	return sqs.NewFromConfig(AWSConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(m.URL) })
}

// CreateQueue creates a standard queue and returns its URL.
func (m *Moto) CreateQueue(ctx context.Context, name string) (string, error) {
	out, err := m.SQS().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// Counts is a queue's visible, in-flight and delayed messages.
type Counts struct{ Visible, NotVisible, Delayed int }

// Total is every message the queue holds.
func (c Counts) Total() int { return c.Visible + c.NotVisible + c.Delayed }

// QueueCounts reads a queue's approximate counts (exact on moto).
func (m *Moto) QueueCounts(ctx context.Context, url string) (Counts, error) {
	out, err := m.SQS().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed},
	})
	if err != nil {
		return Counts{}, fmt.Errorf("queue attributes: %w", err)
	}
	var c Counts
	fmt.Sscan(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)], &c.Visible)
	fmt.Sscan(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], &c.NotVisible)
	fmt.Sscan(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)], &c.Delayed)
	return c, nil
}

// Cognito is a Cognito stand-in served on a loopback port of this process.
type Cognito struct {
	URL    string
	Server *cognitoemu.Server
	srv    *http.Server
}

// StartCognito serves a new stand-in with opts.
func StartCognito(opts cognitoemu.Options) (*Cognito, error) {
	c := &Cognito{Server: cognitoemu.New(opts)}
	var err error
	if c.URL, c.srv, err = serveLoopback(c.Server); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop closes the stand-in's listener and connections.
func (c *Cognito) Stop() { _ = c.srv.Close() }

// SQSStandIn is the in-memory SQS stand-in (package sqsemu) served on a
// loopback port of this process: the benchmark's SQS when moto's receive,
// which scans the whole queue, would set the pace. The tests keep moto.
type SQSStandIn struct {
	URL    string
	Server *sqsemu.Server
	srv    *http.Server
}

// StartSQS serves a new SQS stand-in without queues.
func StartSQS() (*SQSStandIn, error) {
	s := &SQSStandIn{Server: sqsemu.New(sqsemu.Options{Region: Region})}
	var err error
	if s.URL, s.srv, err = serveLoopback(s.Server); err != nil {
		return nil, err
	}
	return s, nil
}

// API is a client of the stand-in with Moto's SQS helpers (SQS,
// CreateQueue, QueueCounts), which need only the URL; it serves no
// DynamoDB, and its Stop does nothing.
func (s *SQSStandIn) API() *Moto { return &Moto{URL: s.URL} }

// Stop closes the stand-in's listener and connections.
func (s *SQSStandIn) Stop() { _ = s.srv.Close() }

// serveLoopback serves h on a free loopback port.
func serveLoopback(h http.Handler) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv, nil
}

// AWSConfig is a config for local servers: the local region and dummy
// credentials.
func AWSConfig() aws.Config {
	return aws.Config{Region: Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

// Target is what a worker process needs to know of the local back ends.
type Target struct {
	SQSURL, CognitoURL string
	QueueURL, DLQURL   string
	ClientID, Secret   string
	AdminAddr          string // ADMIN_ADDR; "" disables
	Extra              map[string]string
}

// Env is the environment of a worker process for t: the SDK pointed at the
// local servers through AWS_ENDPOINT_URL_*, dummy credentials, shared config
// files ignored, and the contract's variables. Extra entries override; a
// value "-" removes the variable.
func (t Target) Env() []string {
	vars := map[string]string{
		"AWS_REGION":                                 Region,
		"AWS_ACCESS_KEY_ID":                          "test",
		"AWS_SECRET_ACCESS_KEY":                      "test",
		"AWS_CONFIG_FILE":                            "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE":                "/dev/null",
		"AWS_EC2_METADATA_DISABLED":                  "true",
		"AWS_ENDPOINT_URL_SQS":                       t.SQSURL,
		"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": t.CognitoURL,
		"RESEND_QUEUE_URL":                           t.QueueURL,
		"RESEND_DLQ_URL":                             t.DLQURL,
		"COGNITO_CLIENT_ID":                          t.ClientID,
		"COGNITO_CLIENT_SECRET":                      t.Secret,
		"ADMIN_ADDR":                                 t.AdminAddr,
		"PATH":                                       os.Getenv("PATH"),
	}
	for k, v := range t.Extra {
		if v == "-" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// FreePort returns a TCP port free on 127.0.0.1 now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers or timeout passes.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// EnvString is Env joined for a shell, for printing.
func (t Target) EnvString() string { return strings.Join(t.Env(), " ") }
