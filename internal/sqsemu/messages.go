package sqsemu

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// sendFields are a message as SendMessage and a SendMessageBatch entry
// carry it.
type sendFields struct {
	MessageBody             *string
	DelaySeconds            *int32
	MessageAttributes       map[string]attrValue
	MessageSystemAttributes map[string]attrValue
	MessageGroupId          *string
	MessageDeduplicationId  *string
}

type sendMessageIn struct {
	QueueUrl string
	sendFields
}

type sendResult struct {
	Id                     string `json:",omitempty"` // batch entries only
	MessageId              string
	MD5OfMessageBody       string
	MD5OfMessageAttributes string `json:",omitempty"`
}

// validChars are the characters SQS accepts in a body: #x9, #xA, #xD,
// #x20 to #xD7FF, #xE000 to #xFFFD, #x10000 to #x10FFFF.
func validChars(s string) bool {
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD,
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// number is a Number attribute's value as SQS takes it: a decimal,
// optionally with an exponent (its 38-digit precision is not checked).
var number = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// size is the message's size as SQS counts it against MaximumMessageSize:
// the body plus each attribute's name, data type and value.
func (f *sendFields) size() int {
	n := 0
	if f.MessageBody != nil {
		n = len(*f.MessageBody)
	}
	for name, a := range f.MessageAttributes {
		n += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}

// message validates f and builds the message it sends to q.
func (f *sendFields) message(q *queue, now time.Time) (*message, time.Duration, error) {
	switch {
	case f.MessageBody == nil:
		return nil, 0, sqsError("MissingParameter", "The request must contain the parameter MessageBody.")
	case *f.MessageBody == "":
		return nil, 0, errInvalid("The request must contain a non-empty message body.")
	case !validChars(*f.MessageBody):
		return nil, 0, sqsError("InvalidMessageContents", "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
	case f.MessageGroupId != nil || f.MessageDeduplicationId != nil:
		return nil, 0, errUnsupported("MessageGroupId and MessageDeduplicationId")
	case len(f.MessageSystemAttributes) > 0:
		return nil, 0, errUnsupported("MessageSystemAttributes")
	case len(f.MessageAttributes) > 10:
		return nil, 0, errInvalid("Number of message attributes [%d] exceeds the allowed maximum [10].", len(f.MessageAttributes))
	case f.size() > q.attrs.maxSize:
		return nil, 0, errInvalid("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", q.attrs.maxSize)
	}
	for name, a := range f.MessageAttributes {
		base, _, _ := strings.Cut(a.DataType, ".")
		switch {
		case name == "" || len(name) > 256:
			return nil, 0, errInvalid("Message attribute name must be 1 to 256 characters.")
		case base != "String" && base != "Number" && base != "Binary":
			return nil, 0, errInvalid("The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", name)
		case base == "Binary" && len(a.BinaryValue) == 0, base != "Binary" && a.StringValue == "":
			return nil, 0, errInvalid("Message (user) attribute '%s' must contain a non-empty value of type '%s'.", name, base)
		case base == "Number" && !number.MatchString(a.StringValue):
			return nil, 0, errInvalid("Could not cast message attribute '%s' value to number.", name)
		}
	}
	delay := q.attrs.delay
	if f.DelaySeconds != nil {
		if *f.DelaySeconds < 0 || *f.DelaySeconds > 900 {
			return nil, 0, errInvalid("Value %d for parameter DelaySeconds is invalid. Reason: must be between 0 and 900.", *f.DelaySeconds)
		}
		delay = time.Duration(*f.DelaySeconds) * time.Second
	}
	m := &message{id: newID(), body: *f.MessageBody, attrs: f.MessageAttributes, sent: now,
		md5Body: md5Hex(*f.MessageBody), md5Attrs: md5OfAttributes(f.MessageAttributes)}
	return m, delay, nil
}

func (s *Server) sendMessage(in *sendMessageIn) (any, error) {
	q, err := s.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	m, delay, err := in.message(q, time.Now())
	if err != nil {
		return nil, err
	}
	q.add(m, delay)
	return sendResult{MessageId: m.id, MD5OfMessageBody: m.md5Body, MD5OfMessageAttributes: m.md5Attrs}, nil
}

// batchError is a failed entry of a batch.
type batchError struct {
	Id          string
	Code        string
	Message     string
	SenderFault bool
}

func entryError(id string, err error) batchError {
	if ae := (*apiError)(nil); errors.As(err, &ae) {
		return batchError{Id: id, Code: ae.query, Message: ae.message, SenderFault: ae.status < 500}
	}
	return batchError{Id: id, Code: "InternalError", Message: err.Error()}
}

type batchOut[T any] struct {
	Successful []T
	Failed     []batchError
}

var batchID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// checkBatch applies SQS's rules to a batch's entry ids.
func checkBatch(ids []string) error {
	switch {
	case len(ids) == 0:
		return legacyError("EmptyBatchRequest", "EmptyBatchRequest", "There should be at least one entry in the request.")
	case len(ids) > 10:
		return legacyError("TooManyEntriesInBatchRequest", "TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent %d.", len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !batchID.MatchString(id) {
			return legacyError("InvalidBatchEntryId", "InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return legacyError("BatchEntryIdsNotDistinct", "BatchEntryIdsNotDistinct", "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

type sendBatchIn struct {
	QueueUrl string
	Entries  []struct {
		Id string
		sendFields
	}
}

func (s *Server) sendMessageBatch(in *sendBatchIn) (any, error) {
	q, err := s.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	total := 0
	for i, e := range in.Entries {
		ids[i] = e.Id
		total += e.size()
	}
	if err := checkBatch(ids); err != nil {
		return nil, err
	}
	if total > q.attrs.maxSize {
		return nil, legacyError("BatchRequestTooLong", "BatchRequestTooLong", "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", q.attrs.maxSize, total)
	}
	out := batchOut[sendResult]{Successful: []sendResult{}, Failed: []batchError{}}
	now := time.Now()
	for _, e := range in.Entries {
		m, delay, err := e.message(q, now)
		if err != nil {
			out.Failed = append(out.Failed, entryError(e.Id, err))
			continue
		}
		q.add(m, delay)
		out.Successful = append(out.Successful, sendResult{Id: e.Id, MessageId: m.id, MD5OfMessageBody: m.md5Body, MD5OfMessageAttributes: m.md5Attrs})
	}
	return out, nil
}

type receiveIn struct {
	QueueUrl                    string
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
	MaxNumberOfMessages         *int32
	VisibilityTimeout           *int32
	WaitTimeSeconds             *int32
	ReceiveRequestAttemptId     *string
}

type messageOut struct {
	MessageId              string
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attributes             map[string]string    `json:",omitempty"`
	MD5OfMessageAttributes string               `json:",omitempty"`
	MessageAttributes      map[string]attrValue `json:",omitempty"`
}

type receiveOut struct {
	Messages []messageOut `json:",omitempty"`
}

// systemAttributes are the message system attributes a receive can return.
var systemAttributes = []string{"ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp"}

func (s *Server) receiveMessage(r *http.Request, in *receiveIn) (any, error) {
	q, err := s.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	max, visibility, wait := 1, q.attrs.visibility, q.attrs.receiveWait
	if in.MaxNumberOfMessages != nil {
		if *in.MaxNumberOfMessages < 1 || *in.MaxNumberOfMessages > 10 {
			return nil, errInvalid("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", *in.MaxNumberOfMessages)
		}
		max = int(*in.MaxNumberOfMessages)
	}
	if in.VisibilityTimeout != nil {
		if *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200 {
			return nil, errInvalid("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.", *in.VisibilityTimeout)
		}
		visibility = time.Duration(*in.VisibilityTimeout) * time.Second
	}
	if in.WaitTimeSeconds != nil {
		if *in.WaitTimeSeconds < 0 || *in.WaitTimeSeconds > 20 {
			return nil, errInvalid("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", *in.WaitTimeSeconds)
		}
		wait = time.Duration(*in.WaitTimeSeconds) * time.Second
	}
	if in.ReceiveRequestAttemptId != nil {
		return nil, errUnsupported("ReceiveRequestAttemptId (FIFO queues)")
	}
	got := longPoll(r.Context(), q, max, visibility, wait)
	out := receiveOut{}
	system := wantSystem(append(in.AttributeNames, in.MessageSystemAttributeNames...))
	for _, g := range got {
		mo := messageOut{MessageId: g.m.id, ReceiptHandle: g.handle, MD5OfBody: g.m.md5Body, Body: g.m.body}
		if len(system) > 0 {
			mo.Attributes = map[string]string{}
			for _, name := range system {
				switch name {
				case "ApproximateReceiveCount":
					mo.Attributes[name] = strconv.Itoa(g.receives)
				case "SentTimestamp":
					mo.Attributes[name] = millis(g.m.sent)
				case "ApproximateFirstReceiveTimestamp":
					mo.Attributes[name] = millis(g.firstReceive)
				}
			}
		}
		if attrs := selectAttrs(g.m.attrs, in.MessageAttributeNames); len(attrs) > 0 {
			mo.MessageAttributes, mo.MD5OfMessageAttributes = attrs, md5OfAttributes(attrs)
		}
		out.Messages = append(out.Messages, mo)
	}
	return out, nil
}

// longPoll takes up to max messages; when none is visible it waits up to
// wait for one: woken by a send or a visibility change to 0, or when the
// earliest hidden message becomes visible.
func longPoll(ctx context.Context, q *queue, max int, visibility, wait time.Duration) []received {
	deadline := time.Now().Add(wait)
	for {
		now := time.Now()
		if got := q.take(now, max, visibility); len(got) > 0 || !now.Before(deadline) {
			return got
		}
		// A send after take and before nextWake shows as an earliest
		// visible-at in the past: the timer then fires at once.
		wake := deadline
		at, arrived, ok := q.nextWake()
		if ok && at.Before(wake) {
			wake = at
		}
		t := time.NewTimer(time.Until(wake))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-arrived:
		case <-t.C:
		}
		t.Stop()
	}
}

// wantSystem is the system attributes a receive asked for.
func wantSystem(names []string) []string {
	for _, n := range names {
		if n == "All" {
			return systemAttributes
		}
	}
	return names
}

// selectAttrs is the message attributes a receive asked for: All or .*,
// a prefix ending in .*, or names.
func selectAttrs(attrs map[string]attrValue, names []string) map[string]attrValue {
	out := map[string]attrValue{}
	for _, want := range names {
		for name, a := range attrs {
			prefix, isPrefix := strings.CutSuffix(want, ".*")
			if want == "All" || want == ".*" || name == want || isPrefix && strings.HasPrefix(name, prefix+".") {
				out[name] = a
			}
		}
	}
	return out
}

type deleteIn struct {
	QueueUrl      string
	ReceiptHandle string
}

// handleOf decodes a receipt handle of q.
func handleOf(q *queue, raw string) (handle, error) {
	h, err := decodeHandle(raw)
	if err != nil || h.queue != q.name {
		return h, sqsError("ReceiptHandleIsInvalid", "The input receipt handle %q is not a valid receipt handle.", raw)
	}
	return h, nil
}

// deleteOne deletes the message of a current handle; as in SQS, a
// well-formed handle that is stale, or whose message is gone, deletes
// nothing and is no error.
func deleteOne(q *queue, raw string) error {
	h, err := handleOf(q, raw)
	if err != nil {
		return err
	}
	q.remove(h, raw, time.Now())
	return nil
}

func (s *Server) deleteMessage(in *deleteIn) (any, error) {
	q, err := s.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return struct{}{}, deleteOne(q, in.ReceiptHandle)
}

type idOut struct{ Id string }

// handleBatchIn is a DeleteMessageBatch or ChangeMessageVisibilityBatch
// request.
type handleBatchIn struct {
	QueueUrl string
	Entries  []struct {
		Id, ReceiptHandle string
		VisibilityTimeout int32 // ChangeMessageVisibilityBatch only
	}
}

// handleBatch checks a batch of receipt handles and runs do on each entry.
func (s *Server) handleBatch(in *handleBatchIn, do func(q *queue, handle string, visibility int32) error) (any, error) {
	q, err := s.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := checkBatch(ids); err != nil {
		return nil, err
	}
	out := batchOut[idOut]{Successful: []idOut{}, Failed: []batchError{}}
	for _, e := range in.Entries {
		if err := do(q, e.ReceiptHandle, e.VisibilityTimeout); err != nil {
			out.Failed = append(out.Failed, entryError(e.Id, err))
		} else {
			out.Successful = append(out.Successful, idOut{Id: e.Id})
		}
	}
	return out, nil
}

func (s *Server) deleteMessageBatch(in *handleBatchIn) (any, error) {
	return s.handleBatch(in, func(q *queue, handle string, _ int32) error { return deleteOne(q, handle) })
}

type visibilityIn struct {
	QueueUrl          string
	ReceiptHandle     string
	VisibilityTimeout int32
}

// changeOne sets the visibility of the in-flight message of a handle.
func changeOne(q *queue, raw string, secs int32) error {
	h, err := handleOf(q, raw)
	if err != nil {
		return err
	}
	if secs < 0 || secs > 43200 {
		return errInvalid("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.", secs)
	}
	switch q.setVisibility(h, raw, time.Now(), time.Duration(secs)*time.Second) {
	case handleStale:
		return errInvalid("Value %s for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.", raw)
	case handleGone:
		return errInvalid("Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", raw)
	case handleVisible:
		return legacyError("MessageNotInflight", "MessageNotInflight", "The message referred to is not in flight.")
	}
	return nil
}

func (s *Server) changeVisibility(in *visibilityIn) (any, error) {
	q, err := s.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return struct{}{}, changeOne(q, in.ReceiptHandle, in.VisibilityTimeout)
}

func (s *Server) changeVisibilityBatch(in *handleBatchIn) (any, error) {
	return s.handleBatch(in, changeOne)
}
