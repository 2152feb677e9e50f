package dlq_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/dlq"
)

var failure = dlq.Failure{
	ErrorCode:       "UserNotFoundException",
	ErrorMessage:    "Username/client id combination not found.",
	Kind:            dlq.KindPermanent,
	SourceMessageID: "msg-1",
	FailedAt:        time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600)),
	Attempts:        1,
	ReceiveCount:    3,
}

func str(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func num(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(v)}
}

func originals(names ...string) map[string]types.MessageAttributeValue {
	m := map[string]types.MessageAttributeValue{}
	for _, n := range names {
		m[n] = str("orig-" + n)
	}
	return m
}

func TestAttributesContract(t *testing.T) {
	attrs := dlq.Attributes(nil, failure)
	want := map[string]types.MessageAttributeValue{
		"ErrorCode":       str("UserNotFoundException"),
		"ErrorMessage":    str("Username/client id combination not found."),
		"FailureKind":     str("permanent"),
		"SourceMessageId": str("msg-1"),
		"FailedAt":        str("2024-05-06T05:08:09Z"), // RFC 3339, UTC
		"Attempts":        num("1"),
		"ReceiveCount":    num("3"),
	}
	if len(attrs) != len(want) {
		t.Errorf("%d attributes, want %d: %v", len(attrs), len(want), names(attrs))
	}
	for name, w := range want {
		got, ok := attrs[name]
		if !ok {
			t.Errorf("attribute %s missing", name)
			continue
		}
		if aws.ToString(got.DataType) != aws.ToString(w.DataType) || aws.ToString(got.StringValue) != aws.ToString(w.StringValue) {
			t.Errorf("%s = %s %q, want %s %q", name, aws.ToString(got.DataType), aws.ToString(got.StringValue), aws.ToString(w.DataType), aws.ToString(w.StringValue))
		}
	}
	if ts, err := time.Parse(time.RFC3339, aws.ToString(attrs["FailedAt"].StringValue)); err != nil || !ts.Equal(failure.FailedAt.Truncate(time.Second)) {
		t.Errorf("FailedAt %q does not parse back to the failure time: %v", aws.ToString(attrs["FailedAt"].StringValue), err)
	}
	// The package's list is the contract's.
	for _, name := range dlq.FailureAttributes {
		if _, ok := want[name]; !ok && name != dlq.AttrSourceQueue { // SourceQueue: only with a bulk lane
			t.Errorf("FailureAttributes has %q, not a contract attribute", name)
		}
	}
	if len(dlq.FailureAttributes) != 8 {
		t.Errorf("FailureAttributes has %d names, want 8", len(dlq.FailureAttributes))
	}
}

func TestAttributesValues(t *testing.T) {
	long := strings.Repeat("é", 300)
	tests := []struct {
		name  string
		f     func(f *dlq.Failure)
		attr  string
		want  string
		check func(t *testing.T, v string)
	}{
		{name: "kind exhausted", f: func(f *dlq.Failure) { f.Kind = dlq.KindExhausted }, attr: "FailureKind", want: "exhausted"},
		{name: "kind invalid", f: func(f *dlq.Failure) { f.Kind = dlq.KindInvalid }, attr: "FailureKind", want: "invalid"},
		{name: "message cut to 256 characters", f: func(f *dlq.Failure) { f.ErrorMessage = long }, attr: "ErrorMessage", want: strings.Repeat("é", 256)},
		{name: "256 characters kept", f: func(f *dlq.Failure) { f.ErrorMessage = strings.Repeat("x", 256) }, attr: "ErrorMessage", want: strings.Repeat("x", 256)},
		{name: "empty message: the code", f: func(f *dlq.Failure) { f.ErrorMessage = "" }, attr: "ErrorMessage", want: "UserNotFoundException"},
		{name: "empty message and code", f: func(f *dlq.Failure) { f.ErrorMessage, f.ErrorCode = "", "" }, attr: "ErrorMessage", want: "-"},
		{name: "empty code", f: func(f *dlq.Failure) { f.ErrorCode = "" }, attr: "ErrorCode", want: "Unknown"},
		{name: "empty source id", f: func(f *dlq.Failure) { f.SourceMessageID = "" }, attr: "SourceMessageId", want: "-"},
		{name: "zero attempts", f: func(f *dlq.Failure) { f.Attempts = 0 }, attr: "Attempts", want: "0"},
		{name: "many attempts", f: func(f *dlq.Failure) { f.Attempts = 137 }, attr: "Attempts", want: "137"},
		{name: "invalid UTF-8 message", f: func(f *dlq.Failure) { f.ErrorMessage = "bad \xff byte" }, attr: "ErrorMessage", check: func(t *testing.T, v string) {
			if !utf8.ValidString(v) || !strings.HasPrefix(v, "bad ") {
				t.Errorf("ErrorMessage = %q, want valid UTF-8", v)
			}
		}},
		{name: "control characters SQS refuses", f: func(f *dlq.Failure) { f.ErrorMessage = "a\x00b\x01c\td\ne\uFFFEf" }, attr: "ErrorMessage", check: func(t *testing.T, v string) {
			if !sqsValid(v) || !strings.Contains(v, "\td\ne") {
				t.Errorf("ErrorMessage = %q, want SQS-safe characters, tab and newline kept", v)
			}
		}},
		{name: "control characters in the code", f: func(f *dlq.Failure) { f.ErrorCode = "Bad\x00Code" }, attr: "ErrorCode", check: func(t *testing.T, v string) {
			if !sqsValid(v) {
				t.Errorf("ErrorCode = %q, not SQS-safe", v)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := failure
			tt.f(&f)
			got := aws.ToString(dlq.Attributes(nil, f)[tt.attr].StringValue)
			if tt.check != nil {
				tt.check(t, got)
				return
			}
			if got != tt.want {
				t.Errorf("%s = %q, want %q", tt.attr, got, tt.want)
			}
		})
	}
}

func TestAttributesOriginals(t *testing.T) {
	tests := []struct {
		name     string
		original map[string]types.MessageAttributeValue
		wantKept []string
		wantLost []string
	}{
		{name: "none", original: nil},
		{name: "three fit", original: originals("a", "b", "c"), wantKept: []string{"a", "b", "c"}},
		{name: "the first three by name", original: originals("d", "b", "a", "c", "e"), wantKept: []string{"a", "b", "c"}, wantLost: []string{"d", "e"}},
		{name: "ReplayCount first", original: originals("a", "b", "c", "ReplayCount"), wantKept: []string{"ReplayCount", "a", "b"}, wantLost: []string{"c"}},
		{name: "ReplayCount with many", original: originals("a", "b", "c", "d", "e", "f", "g", "h", "i", "ReplayCount"), wantKept: []string{"ReplayCount", "a", "b"}},
		{
			name:     "contract names are never overwritten",
			original: originals("ErrorCode", "ErrorMessage", "FailureKind", "SourceMessageId", "FailedAt", "Attempts", "ReceiveCount", "a"),
			wantKept: []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := dlq.Attributes(tt.original, failure)
			if len(attrs) > dlq.MaxAttributes {
				t.Fatalf("%d attributes, SQS takes %d", len(attrs), dlq.MaxAttributes)
			}
			if want := 7 + len(tt.wantKept); len(attrs) != want {
				t.Errorf("%d attributes %v, want %d", len(attrs), names(attrs), want)
			}
			for _, n := range tt.wantKept {
				if got := aws.ToString(attrs[n].StringValue); got != "orig-"+n {
					t.Errorf("original %s = %q, want kept", n, got)
				}
			}
			for _, n := range tt.wantLost {
				if _, ok := attrs[n]; ok {
					t.Errorf("original %s kept beyond the limit", n)
				}
			}
			for _, n := range dlq.FailureAttributes {
				if strings.HasPrefix(aws.ToString(attrs[n].StringValue), "orig-") {
					t.Errorf("contract attribute %s overwritten by the original", n)
				}
			}
			if aws.ToString(attrs["ErrorCode"].StringValue) != failure.ErrorCode {
				t.Errorf("ErrorCode = %q", aws.ToString(attrs["ErrorCode"].StringValue))
			}
		})
	}
	// The originals map is not changed.
	orig := originals("a", "ErrorCode")
	dlq.Attributes(orig, failure)
	if len(orig) != 2 || aws.ToString(orig["ErrorCode"].StringValue) != "orig-ErrorCode" {
		t.Errorf("Attributes changed its input: %v", orig)
	}
}

type fakeSend struct {
	in  *sqs.SendMessageInput
	err error
}

func (f *fakeSend) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.in = in
	if f.err != nil {
		return nil, f.err
	}
	return &sqs.SendMessageOutput{MessageId: aws.String("dlq-1")}, nil
}

func TestWriterWrite(t *testing.T) {
	sendErr := errors.New("AccessDenied")
	tests := []struct {
		name    string
		body    string
		err     error
		wantErr bool
	}{
		{name: "sent", body: `{"username":"alice"}`},
		{name: "body byte-identical", body: "{ \"username\" :\t\"bob\" ,\n \"x\": \"\\u00e9\u00e9\" }  "},
		{name: "invalid job body kept", body: "not json at all \U0001F600"},
		{name: "send fails", body: `{"username":"alice"}`, err: sendErr, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeSend{err: tt.err}
			w := &dlq.Writer{API: api, DLQURL: "https://sqs.example/1/dlq"}
			err := w.Write(context.Background(), tt.body, originals("trace"), failure)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Write = %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, sendErr) {
				t.Errorf("Write error %v does not wrap the send error", err)
			}
			if api.in == nil {
				t.Fatal("SendMessage not called")
			}
			if got := aws.ToString(api.in.MessageBody); got != tt.body {
				t.Errorf("body = %q, want %q byte for byte", got, tt.body)
			}
			if aws.ToString(api.in.QueueUrl) != "https://sqs.example/1/dlq" {
				t.Errorf("QueueUrl = %q", aws.ToString(api.in.QueueUrl))
			}
			if len(api.in.MessageAttributes) != 8 || aws.ToString(api.in.MessageAttributes["trace"].StringValue) != "orig-trace" {
				t.Errorf("attributes = %v, want the contract's and trace", names(api.in.MessageAttributes))
			}
		})
	}
}

func TestNumberAttr(t *testing.T) {
	for _, n := range []int{0, 1, -1, 1 << 40} {
		a := dlq.NumberAttr(n)
		if aws.ToString(a.DataType) != "Number" || aws.ToString(a.StringValue) != fmt.Sprint(n) {
			t.Errorf("NumberAttr(%d) = %s %q", n, aws.ToString(a.DataType), aws.ToString(a.StringValue))
		}
	}
}

// FuzzAttributes: no panic, at most 10 attributes, every value non-empty and
// made of characters SQS accepts, ErrorMessage at most 256 characters.
func FuzzAttributes(f *testing.F) {
	f.Add("UserNotFoundException", "Username/client id combination not found.", "msg-1", 1, 3, int64(0), uint8(0), "a,b,ReplayCount")
	f.Add("", "", "", 0, 0, int64(-1), uint8(1), "")
	f.Add("X\x00", strings.Repeat("\xff", 300), "id", -5, 1<<30, int64(1<<62), uint8(2), "ErrorCode,FailedAt,x,y,z,w,v,u,t,s,r")
	f.Fuzz(func(t *testing.T, code, msg, id string, attempts, receives int, unix int64, kind uint8, orig string) {
		kinds := []dlq.Kind{dlq.KindPermanent, dlq.KindExhausted, dlq.KindInvalid}
		original := map[string]types.MessageAttributeValue{}
		for _, n := range strings.Split(orig, ",") {
			if n != "" {
				original[n] = str("v")
			}
		}
		attrs := dlq.Attributes(original, dlq.Failure{
			ErrorCode: code, ErrorMessage: msg, Kind: kinds[int(kind)%len(kinds)], SourceMessageID: id,
			FailedAt: time.Unix(0, unix), Attempts: attempts, ReceiveCount: receives, SourceQueue: "bulk",
		})
		if len(attrs) > dlq.MaxAttributes {
			t.Fatalf("%d attributes", len(attrs))
		}
		for _, n := range dlq.FailureAttributes {
			if _, ok := attrs[n]; !ok {
				t.Fatalf("attribute %s missing", n)
			}
		}
		for name, v := range attrs {
			s := aws.ToString(v.StringValue)
			if s == "" || aws.ToString(v.DataType) == "" {
				t.Fatalf("attribute %s is empty: %+v", name, v)
			}
			if !sqsValid(s) {
				t.Fatalf("attribute %s = %q has characters SQS refuses", name, s)
			}
		}
		if n := utf8.RuneCountInString(aws.ToString(attrs["ErrorMessage"].StringValue)); n > dlq.MaxErrorMessage {
			t.Fatalf("ErrorMessage has %d characters", n)
		}
	})
}

// sqsValid reports whether SQS accepts s in a message: valid UTF-8 of
// #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
func sqsValid(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

func names(m map[string]types.MessageAttributeValue) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestReplayAttributes(t *testing.T) {
	deadLettered := func(extra ...string) map[string]types.MessageAttributeValue {
		m := dlq.Attributes(originals(extra...), failure)
		return m
	}
	tests := []struct {
		name       string
		attrs      map[string]types.MessageAttributeValue
		count      int
		wantReplay string
		wantKept   []string
	}{
		{name: "first replay", attrs: deadLettered("trace"), count: 0, wantReplay: "1", wantKept: []string{"trace"}},
		{name: "second replay", attrs: deadLettered("ReplayCount", "trace"), count: 1, wantReplay: "2", wantKept: []string{"trace"}},
		{name: "nothing at all", attrs: nil, count: 0, wantReplay: "1"},
		{
			// Redriven by SQS itself: the original's ten attributes, no
			// failure attributes, no ReplayCount. SQS takes ten at most.
			name:  "ten originals",
			attrs: originals("a", "b", "c", "d", "e", "f", "g", "h", "i", "j"), count: 0, wantReplay: "1",
			wantKept: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := map[string]types.MessageAttributeValue{}
			for k, v := range tt.attrs {
				in[k] = v
			}
			got := dlq.ReplayAttributes(tt.attrs, tt.count)
			if len(got) > dlq.MaxAttributes {
				t.Errorf("%d attributes, SQS takes %d", len(got), dlq.MaxAttributes)
			}
			for _, n := range dlq.FailureAttributes {
				if _, ok := got[n]; ok {
					t.Errorf("failure attribute %s kept", n)
				}
			}
			rc := got["ReplayCount"]
			if aws.ToString(rc.DataType) != "Number" || aws.ToString(rc.StringValue) != tt.wantReplay {
				t.Errorf("ReplayCount = %s %q, want Number %q", aws.ToString(rc.DataType), aws.ToString(rc.StringValue), tt.wantReplay)
			}
			for _, n := range tt.wantKept {
				if aws.ToString(got[n].StringValue) != "orig-"+n {
					t.Errorf("attribute %s not kept", n)
				}
			}
			if len(got) != len(tt.wantKept)+1 {
				t.Errorf("attributes %v, want %v and ReplayCount", names(got), tt.wantKept)
			}
			if len(in) != len(tt.attrs) {
				t.Errorf("input changed")
			}
		})
	}
}
