// Package testenv starts the real back ends integration tests run against:
// moto_server for SQS (one per test binary, on a free port) and the Cognito
// stand-in. Without moto_server a test skips, unless RESEND_REQUIRE_INTEGRATION=1
// (set by CI), where it fails.
package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// RequireEnv is the variable that turns a missing back end from a skip into
// a failure.
const RequireEnv = "RESEND_REQUIRE_INTEGRATION"

// Region is the region every test client and worker uses.
const Region = "us-east-1"

// Required reports whether integration tests must run.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Unavailable skips t, or fails it when integration tests are required.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (%s=1: integration tests must run)", msg, RequireEnv)
	}
	t.Skip(msg)
}

// Moto is a running moto_server.
type Moto struct {
	URL string
	cmd *exec.Cmd
	err error
}

var (
	motoOnce sync.Once
	moto     *Moto
)

// StartMoto returns the moto_server of this test binary, starting it on first
// use. Call Shutdown from TestMain to stop it.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	motoOnce.Do(func() { moto = startMoto() })
	if moto.err != nil {
		Unavailable(t, "moto_server: %v", moto.err)
	}
	return moto
}

func startMoto() *Moto {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return &Moto{err: fmt.Errorf("not found on PATH (pip install 'moto[server]'): %w", err)}
	}
	port, err := FreePort()
	if err != nil {
		return &Moto{err: err}
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, _ := os.CreateTemp("", "moto-*.log")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return &Moto{err: err}
	}
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return m
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return &Moto{err: fmt.Errorf("did not answer on %s within 30s (log: %s)", m.URL, logf.Name())}
}

// Shutdown stops the moto_server this binary started, if any.
func Shutdown() {
	if moto != nil && moto.cmd != nil && moto.cmd.Process != nil {
		_ = syscall.Kill(-moto.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = moto.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-moto.cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}

// AWSConfig is a config for local servers: dummy credentials, the test
// region, no retries beyond the SDK default.
func AWSConfig() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
}

// SQS is an SQS client of moto.
func (m *Moto) SQS() *sqs.Client {
	return sqs.NewFromConfig(AWSConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(m.URL) })
}

var queueSeq atomic.Int64

// Queues creates a fresh job queue and DLQ for one test (unique names: tests
// never share queues, so no reset is needed).
func (m *Moto) Queues(t testing.TB) (queueURL, dlqURL string) {
	t.Helper()
	name := strings.NewReplacer("/", "-", " ", "-", "_", "-").Replace(t.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("%s-%d-%d", name, os.Getpid()%10000, queueSeq.Add(1))
	return m.CreateQueue(t, name), m.CreateQueue(t, name+"-dlq")
}

// CreateQueue creates a standard queue.
func (m *Moto) CreateQueue(t testing.TB, name string) string {
	t.Helper()
	out, err := m.SQS().CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// Counts is a queue's visible and in-flight messages.
type Counts struct{ Visible, NotVisible, Delayed int }

// Total is every message the queue holds.
func (c Counts) Total() int { return c.Visible + c.NotVisible + c.Delayed }

// QueueCounts reads a queue's approximate counts (exact on moto).
func (m *Moto) QueueCounts(t testing.TB, url string) Counts {
	t.Helper()
	out, err := m.SQS().GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed},
	})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	var c Counts
	fmt.Sscan(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)], &c.Visible)
	fmt.Sscan(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], &c.NotVisible)
	fmt.Sscan(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)], &c.Delayed)
	return c
}

// Send sends raw bodies to a queue and returns their message ids.
func (m *Moto) Send(t testing.TB, url string, bodies ...string) []string {
	t.Helper()
	ids := make([]string, 0, len(bodies))
	for _, b := range bodies {
		out, err := m.SQS().SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(b)})
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		ids = append(ids, aws.ToString(out.MessageId))
	}
	return ids
}

// Drain receives every visible message of a queue (leaving them in flight
// for a minute) and returns them.
func (m *Moto) Drain(t testing.TB, url string) []types.Message {
	t.Helper()
	var all []types.Message
	for {
		out, err := m.SQS().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		all = append(all, out.Messages...)
	}
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

// Eventually polls cond every interval until it is true or timeout passes,
// then fails t with what.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
