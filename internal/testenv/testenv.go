// Package testenv starts the real back ends integration tests run against:
// moto_server for SQS (one per test binary, on a free port) and the Cognito
// stand-in. Without moto_server a test skips, unless RESEND_REQUIRE_INTEGRATION=1
// (set by CI), where it fails.
//
// It is not a test package and does not import testing (which would add the
// test flags to any binary importing it): its helpers take a T, which
// *testing.T and *testing.B satisfy. Starting and stopping processes, and
// everything the demo and the benchmark share, lives in internal/devenv.
package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/resend-worker/resend-worker/internal/devenv"
)

// RequireEnv is the variable that turns a missing back end from a skip into
// a failure.
const RequireEnv = "RESEND_REQUIRE_INTEGRATION"

// Region is the region every test client and worker uses.
const Region = devenv.Region

// T is the part of T this package uses.
type T interface {
	Helper()
	Name() string
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
}

// Required reports whether integration tests must run.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Unavailable skips t, or fails it when integration tests are required.
func Unavailable(t T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (%s=1: integration tests must run)", msg, RequireEnv)
	}
	t.Skip(msg)
}

// Moto is the moto_server of this test binary.
type Moto struct {
	*devenv.Moto
	err error
}

var (
	motoOnce sync.Once
	moto     *Moto
)

// StartMoto returns the moto_server of this test binary, starting it on first
// use. Call Shutdown from TestMain to stop it.
func StartMoto(t T) *Moto {
	t.Helper()
	motoOnce.Do(func() {
		m, err := devenv.StartMoto(context.Background())
		moto = &Moto{Moto: m, err: err}
	})
	if moto.err != nil {
		Unavailable(t, "moto_server: %v", moto.err)
	}
	return moto
}

// Shutdown stops the moto_server this binary started, if any.
func Shutdown() {
	if moto != nil {
		moto.Stop()
	}
}

var queueSeq atomic.Int64

// Queues creates a fresh job queue and DLQ for one test (unique names: tests
// never share queues, so no reset is needed).
func (m *Moto) Queues(t T) (queueURL, dlqURL string) {
	t.Helper()
	name := strings.NewReplacer("/", "-", " ", "-", "_", "-").Replace(t.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("%s-%d-%d", name, os.Getpid()%10000, queueSeq.Add(1))
	return m.CreateQueue(t, name), m.CreateQueue(t, name+"-dlq")
}

// CreateQueue creates a standard queue.
func (m *Moto) CreateQueue(t T, name string) string {
	t.Helper()
	url, err := m.Moto.CreateQueue(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// QueueCounts reads a queue's counts (exact on moto).
func (m *Moto) QueueCounts(t T, url string) devenv.Counts {
	t.Helper()
	c, err := m.Moto.QueueCounts(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Send sends raw bodies to a queue and returns their message ids.
func (m *Moto) Send(t T, url string, bodies ...string) []string {
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

// drainVisibility is how long Drain hides what it has received, in
// seconds: longer than a drain of a few thousand messages takes on moto,
// whose receives slow down as a queue grows.
const drainVisibility = 600

// Drain receives every visible message of a queue (leaving them in flight
// for drainVisibility) and returns each once.
func (m *Moto) Drain(t T, url string) []types.Message {
	t.Helper()
	var all []types.Message
	seen := map[string]bool{} // by MessageId
	for {
		out, err := m.SQS().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: drainVisibility,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		for _, msg := range out.Messages {
			// A message received again after its hold lapsed (a drain of
			// thousands on moto can take longer than the hold) is the same
			// message, not a second one: two different messages with the
			// same content stay two.
			if id := aws.ToString(msg.MessageId); !seen[id] {
				seen[id] = true
				all = append(all, msg)
			}
		}
	}
}

// FreePort returns a TCP port free on 127.0.0.1 now.
func FreePort() (int, error) { return devenv.FreePort() }

// Eventually polls cond every interval until it is true or timeout passes,
// then fails t with what.
func Eventually(t T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Progressing waits for a volume of work whose speed is the back end's, not
// the worker's: moto's ReceiveMessage scans the whole queue (about 0.55 ms a
// queued message here, so 570 ms a receive on a 1,000-message queue), and a
// fixed budget for 1,000 messages fails on a slow or loaded machine while the
// worker is healthy. progress reports the work done so far and whether it is
// all done; Progressing fails t when the count has not grown for stall (the
// worker is stuck) or when limit passes (it is far too slow).
func Progressing(t T, stall, limit time.Duration, what string, progress func() (n float64, done bool)) {
	t.Helper()
	start := time.Now()
	last, lastAt := -1.0, start
	for {
		n, done := progress()
		now := time.Now()
		if done {
			return
		}
		if n > last {
			last, lastAt = n, now
		}
		if now.Sub(lastAt) > stall {
			t.Fatalf("no progress for %s waiting for %s (stuck at %.0f after %s)", stall, what, last, now.Sub(start).Round(time.Second))
		}
		if now.Sub(start) > limit {
			t.Fatalf("timed out after %s waiting for %s (%.0f done)", limit, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
