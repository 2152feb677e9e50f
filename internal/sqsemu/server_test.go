package sqsemu

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// newClient serves a new Server and returns the real SDK's client of it.
func newClient(t testing.TB) (*sqs.Client, *Server) {
	t.Helper()
	s := New(Options{})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(ts.URL) }), s
}

func createQueue(t *testing.T, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl)
}

func receive(t *testing.T, c *sqs.Client, url string, max, wait, visibility int32) []types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: max, WaitTimeSeconds: wait, VisibilityTimeout: visibility,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

func counts(t *testing.T, c *sqs.Client, url string) (visible, inFlight, delayed int) {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		t.Fatal(err)
	}
	n := func(k types.QueueAttributeName) int { v, _ := strconv.Atoi(out.Attributes[string(k)]); return v }
	return n(types.QueueAttributeNameApproximateNumberOfMessages), n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)
}

func TestQueues(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	url := createQueue(t, c, "jobs", map[string]string{"VisibilityTimeout": "45", "MaximumMessageSize": "2048"})
	if !strings.HasSuffix(url, "/000000000000/jobs") {
		t.Errorf("queue URL %q", url)
	}
	if again := createQueue(t, c, "jobs", map[string]string{"VisibilityTimeout": "45", "MaximumMessageSize": "2048"}); again != url {
		t.Errorf("creating it again: %q, want %q", again, url)
	}
	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	if err != nil || aws.ToString(got.QueueUrl) != url {
		t.Errorf("GetQueueUrl = %v, %v", aws.ToString(got.QueueUrl), err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:jobs", "VisibilityTimeout": "45",
		"MaximumMessageSize": "2048", "ApproximateNumberOfMessages": "0", "DelaySeconds": "0"} {
		if attrs.Attributes[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, attrs.Attributes[k], want)
		}
	}
	if _, ok := attrs.Attributes["RedrivePolicy"]; ok {
		t.Error("RedrivePolicy reported for a queue without one")
	}
}

func TestErrors(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	url := createQueue(t, c, "jobs", nil)
	missing := strings.Replace(url, "/jobs", "/nope", 1)
	for _, tc := range []struct {
		name     string
		call     func() error
		code     string // ErrorCode(): SQS's query code, which callers match on
		typed    func(error) bool
		contains string
	}{
		{"receive from a missing queue", func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(missing)})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue", func(err error) bool { var e *types.QueueDoesNotExist; return errors.As(err, &e) }, ""},
		{"GetQueueUrl of a missing queue", func() error {
			_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue", func(err error) bool { var e *types.QueueDoesNotExist; return errors.As(err, &e) }, ""},
		{"same name, other attributes", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"VisibilityTimeout": "5"}})
			return err
		}, "QueueAlreadyExists", func(err error) bool { var e *types.QueueNameExists; return errors.As(err, &e) }, ""},
		{"a malformed receipt handle", func() error {
			_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("garbage!")})
			return err
		}, "ReceiptHandleIsInvalid", func(err error) bool { var e *types.ReceiptHandleIsInvalid; return errors.As(err, &e) }, ""},
		{"an empty batch", func() error {
			_, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{}})
			return err
		}, "AWS.SimpleQueueService.EmptyBatchRequest", func(err error) bool { var e *types.EmptyBatchRequest; return errors.As(err, &e) }, ""},
		{"repeated batch ids", func() error {
			e := types.SendMessageBatchRequestEntry{Id: aws.String("a"), MessageBody: aws.String("x")}
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{e, e}})
			return err
		}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", func(err error) bool { var e *types.BatchEntryIdsNotDistinct; return errors.As(err, &e) }, ""},
		{"a FIFO queue", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs.fifo")})
			return err
		}, "AWS.SimpleQueueService.UnsupportedOperation", func(err error) bool { var e *types.UnsupportedOperation; return errors.As(err, &e) }, "FIFO"},
		{"a redrive policy", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("r"), Attributes: map[string]string{"RedrivePolicy": "{}"}})
			return err
		}, "InvalidAttributeName", func(err error) bool { var e *types.InvalidAttributeName; return errors.As(err, &e) }, "RedrivePolicy"},
		{"an operation it does not implement", func() error {
			_, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)})
			return err
		}, "AWS.SimpleQueueService.UnsupportedOperation", func(err error) bool { var e *types.UnsupportedOperation; return errors.As(err, &e) }, "PurgeQueue"},
		{"a body SQS refuses", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("a\x00b")})
			return err
		}, "InvalidMessageContents", func(err error) bool { var e *types.InvalidMessageContents; return errors.As(err, &e) }, ""},
		{"a body over MaximumMessageSize", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strings.Repeat("x", 262145))})
			return err
		}, "InvalidParameterValue", nil, "shorter than 262144"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var api smithy.APIError
			if !errors.As(err, &api) {
				t.Fatalf("error %v is not an API error", err)
			}
			if api.ErrorCode() != tc.code {
				t.Errorf("ErrorCode() = %q, want %q (%v)", api.ErrorCode(), tc.code, err)
			}
			if tc.typed != nil && !tc.typed(err) {
				t.Errorf("%T is not the modelled error type", err)
			}
			if !strings.Contains(api.ErrorMessage(), tc.contains) {
				t.Errorf("message %q does not name %q", api.ErrorMessage(), tc.contains)
			}
		})
	}
}

func TestSendReceiveDelete(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	url := createQueue(t, c, "jobs", nil)
	attrs := map[string]types.MessageAttributeValue{
		"ErrorCode": {DataType: aws.String("String"), StringValue: aws.String("UserNotFoundException")},
		"Attempts":  {DataType: aws.String("Number"), StringValue: aws.String("3")},
		"Raw":       {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
	}
	before := time.Now()
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"username":"u1"}`), MessageAttributes: attrs})
	if err != nil {
		t.Fatal(err) // the SDK checks MD5OfMessageBody itself
	}
	wantAttrMD5 := aws.ToString(sent.MD5OfMessageAttributes)
	if wantAttrMD5 == "" {
		t.Errorf("no MD5OfMessageAttributes") // its value is pinned by TestAttributeDigest
	}

	msgs := receive(t, c, url, 10, 0, 30)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) || aws.ToString(m.Body) != `{"username":"u1"}` {
		t.Errorf("received %+v", m)
	}
	if aws.ToString(m.MD5OfMessageAttributes) != wantAttrMD5 {
		t.Errorf("MD5OfMessageAttributes on receive %s, on send %s", aws.ToString(m.MD5OfMessageAttributes), wantAttrMD5)
	}
	if got := m.MessageAttributes["Raw"].BinaryValue; string(got) != "\x00\x01\x02" {
		t.Errorf("binary attribute %v", got)
	}
	if got := aws.ToString(m.MessageAttributes["ErrorCode"].StringValue); got != "UserNotFoundException" {
		t.Errorf("string attribute %q", got)
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" {
		t.Errorf("ApproximateReceiveCount %q", m.Attributes["ApproximateReceiveCount"])
	}
	sentMs, _ := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
	firstMs, _ := strconv.ParseInt(m.Attributes["ApproximateFirstReceiveTimestamp"], 10, 64)
	if sentMs < before.UnixMilli() || firstMs < sentMs || firstMs > time.Now().UnixMilli() {
		t.Errorf("SentTimestamp %d, ApproximateFirstReceiveTimestamp %d, sent after %d", sentMs, firstMs, before.UnixMilli())
	}
	if v, nv, _ := counts(t, c, url); v != 0 || nv != 1 {
		t.Errorf("while in flight: visible %d, not visible %d", v, nv)
	}
	if again := receive(t, c, url, 10, 0, 30); len(again) != 0 {
		t.Errorf("an in-flight message was received again")
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if v, nv, d := counts(t, c, url); v+nv+d != 0 {
		t.Errorf("after delete: %d %d %d", v, nv, d)
	}
	// Deleting again is no error, as in SQS.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

// attrDigestAB is MD5OfMessageAttributes of {a: String "x", b: Binary
// 00 01 02}, computed independently: by python3 hashlib over the encoding of
// the SQS developer guide, and by moto 5.2.1's Message.attribute_md5.
const attrDigestAB = "c7b075151a8e2e09ccb36b393bdb284a"

// TestAttributeDigest pins MD5OfMessageAttributes to SQS's algorithm (the
// SDK checks only MD5OfMessageBody).
func TestAttributeDigest(t *testing.T) {
	got := md5OfAttributes(map[string]attrValue{
		"b": {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
		"a": {DataType: "String", StringValue: "x"},
	})
	if got != attrDigestAB {
		t.Errorf("md5OfAttributes = %s, want %s", got, attrDigestAB)
	}
	if md5OfAttributes(nil) != "" {
		t.Error("no attributes must have no digest")
	}
}

func TestVisibilityAndHandles(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	url := createQueue(t, c, "jobs", nil)
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	first := receive(t, c, url, 1, 0, 30)[0]
	// Visibility 0 makes it receivable again, with a new handle.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	second := receive(t, c, url, 1, 0, 30)
	if len(second) != 1 || aws.ToString(second[0].ReceiptHandle) == aws.ToString(first.ReceiptHandle) || second[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("second receive %+v", second)
	}
	if second[0].Attributes["ApproximateFirstReceiveTimestamp"] != first.Attributes["ApproximateFirstReceiveTimestamp"] {
		t.Error("ApproximateFirstReceiveTimestamp changed on the second receive")
	}
	// The first handle is stale: a delete succeeds but deletes nothing,
	// a visibility change fails.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if v, nv, _ := counts(t, c, url); v+nv != 1 {
		t.Errorf("a stale handle deleted the message")
	}
	res, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url),
		Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("stale"), ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 60},
			{Id: aws.String("current"), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 1},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Successful) != 1 || aws.ToString(res.Successful[0].Id) != "current" ||
		len(res.Failed) != 1 || aws.ToString(res.Failed[0].Id) != "stale" || aws.ToString(res.Failed[0].Code) != "InvalidParameterValue" || !res.Failed[0].SenderFault {
		t.Fatalf("batch: ok %+v failed %+v", res.Successful, res.Failed)
	}
	// The message comes back after its 1 s: a long poll returns it then.
	start := time.Now()
	third := receive(t, c, url, 1, 5, 30)
	if len(third) != 1 || third[0].Attributes["ApproximateReceiveCount"] != "3" {
		t.Fatalf("after the 1 s visibility: %+v", third)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("the long poll returned after %s, the message was visible after 1 s", waited)
	}
	// Once its visibility has run out, the last handle is not in flight.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: third[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: third[0].ReceiptHandle, VisibilityTimeout: 10})
	var notInFlight *types.MessageNotInflight
	if !errors.As(err, &notInFlight) {
		t.Errorf("visibility change of a visible message: %v", err)
	}
	// Its last handle still deletes it, as in SQS.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: third[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if v, nv, d := counts(t, c, url); v+nv+d != 0 {
		t.Errorf("after delete: %d %d %d", v, nv, d)
	}
}

func TestBatches(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	url := createQueue(t, c, "jobs", map[string]string{"MaximumMessageSize": "1024"})
	var entries []types.SendMessageBatchRequestEntry
	for i := range 10 {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String("e" + strconv.Itoa(i)), MessageBody: aws.String("body " + strconv.Itoa(i))})
	}
	entries[3].MessageBody = aws.String("bad \x01")
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 9 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "e3" || aws.ToString(out.Failed[0].Code) != "InvalidMessageContents" {
		t.Fatalf("ok %d, failed %+v", len(out.Successful), out.Failed)
	}
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String(strings.Repeat("x", 600))}, {Id: aws.String("b"), MessageBody: aws.String(strings.Repeat("y", 600))}}})
	var tooLong *types.BatchRequestTooLong
	if !errors.As(err, &tooLong) {
		t.Errorf("a 1200-byte batch on a 1024-byte queue: %v", err)
	}

	var got []types.Message
	for len(got) < 9 {
		msgs := receive(t, c, url, 10, 0, 30)
		if len(msgs) == 0 {
			t.Fatalf("received %d of 9", len(got))
		}
		got = append(got, msgs...)
	}
	del := []types.DeleteMessageBatchRequestEntry{{Id: aws.String("bad"), ReceiptHandle: aws.String("%%%")}}
	for i, m := range got {
		del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String("d" + strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	res, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Successful) != 9 || len(res.Failed) != 1 || aws.ToString(res.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Errorf("delete batch: ok %d, failed %+v", len(res.Successful), res.Failed)
	}
	if v, nv, d := counts(t, c, url); v+nv+d != 0 {
		t.Errorf("left: %d %d %d", v, nv, d)
	}
}

func TestLongPollWakesOnSend(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	url := createQueue(t, c, "jobs", nil)
	type result struct {
		msgs []types.Message
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20, MaxNumberOfMessages: 10})
		if err != nil {
			done <- result{}
			return
		}
		done <- result{out.Messages, time.Since(start)}
	}()
	// The receive may start after the send: either way it returns the
	// message long before its 20 s wait.
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("wake")}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if len(r.msgs) != 1 || aws.ToString(r.msgs[0].Body) != "wake" {
			t.Fatalf("long poll returned %+v", r.msgs)
		}
		if r.took > 5*time.Second {
			t.Errorf("long poll took %s", r.took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not return within 10 s of the send")
	}

	// With nothing sent it waits its WaitTimeSeconds, then returns empty.
	start := time.Now()
	if msgs := receive(t, c, url, 10, 1, 30); len(msgs) != 0 {
		t.Fatalf("an empty queue returned %d messages", len(msgs))
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("an empty long poll of 1 s returned after %s", took)
	}
}

func TestDelaySeconds(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	url := createQueue(t, c, "jobs", nil)
	// 2 s: the counts and the first receive below come well before it ends.
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("later"), DelaySeconds: 2}); err != nil {
		t.Fatal(err)
	}
	if v, nv, d := counts(t, c, url); v != 0 || nv != 0 || d != 1 {
		t.Errorf("delayed message counted as %d %d %d", v, nv, d)
	}
	if msgs := receive(t, c, url, 1, 0, 30); len(msgs) != 0 {
		t.Fatal("a delayed message was received at once")
	}
	if msgs := receive(t, c, url, 1, 5, 30); len(msgs) != 1 {
		t.Fatal("a long poll did not return the message once its delay passed")
	}
}

// TestVisibilityZero: with a visibility timeout of 0 a message is
// receivable again at once, but never twice in one answer.
func TestVisibilityZero(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	url := createQueue(t, c, "jobs", map[string]string{"VisibilityTimeout": "0"})
	for _, body := range []string{"a", "b", "c"} {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	for round := 1; round <= 2; round++ {
		msgs := receive(t, c, url, 10, 0, 0)
		seen := map[string]bool{}
		for _, m := range msgs {
			if seen[aws.ToString(m.Body)] {
				t.Errorf("round %d: %s twice in one answer", round, aws.ToString(m.Body))
			}
			seen[aws.ToString(m.Body)] = true
		}
		if len(seen) != 3 {
			t.Errorf("round %d: received %v, want a, b and c", round, seen)
		}
	}
}

func TestMessageAttributeRules(t *testing.T) {
	c, _ := newClient(t)
	url := createQueue(t, c, "jobs", nil)
	str := func(typ, v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String(typ), StringValue: aws.String(v)}
	}
	for _, tc := range []struct {
		name string
		attr types.MessageAttributeValue
		ok   bool
	}{
		{"string", str("String", "x"), true},
		{"custom string type", str("String.json", "{}"), true},
		{"integer", str("Number", "3"), true},
		{"decimal with exponent", str("Number", "-1.5e10"), true},
		{"number that is not one", str("Number", "three"), false},
		{"empty string", str("String", ""), false},
		{"unknown type", str("Text", "x"), false},
		{"binary", types.MessageAttributeValue{DataType: aws.String("Binary"), BinaryValue: []byte{1}}, true},
		{"empty binary", types.MessageAttributeValue{DataType: aws.String("Binary")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b"),
				MessageAttributes: map[string]types.MessageAttributeValue{"A": tc.attr}})
			var api smithy.APIError
			switch {
			case tc.ok && err != nil:
				t.Errorf("refused: %v", err)
			case !tc.ok && (!errors.As(err, &api) || api.ErrorCode() != "InvalidParameterValue"):
				t.Errorf("error %v, want InvalidParameterValue", err)
			}
		})
	}
}
