package dlq_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/dlq"
)

func TestList(t *testing.T) {
	f := newFakeQueues()
	for i := range 12 {
		f.deadLetter(fmt.Sprintf("a%02d", i), "UserNotFoundException", nil)
	}
	for i := range 5 {
		f.deadLetter(fmt.Sprintf("b%02d", i), "NotAuthorizedException", map[string]types.MessageAttributeValue{
			"FailedAt": str(time.Now().UTC().Format(time.RFC3339)), "ReplayCount": num("1.0")})
	}
	tests := []struct {
		name       string
		o          dlq.ListOptions
		wantListed int
		wantRead   int
	}{
		{name: "all", wantListed: 17, wantRead: 17},
		{name: "by code", o: dlq.ListOptions{Filter: dlq.Filter{ErrorCodes: []string{"NotAuthorizedException"}}}, wantListed: 5, wantRead: 17},
		{name: "older than an hour", o: dlq.ListOptions{Filter: dlq.Filter{OlderThan: time.Now().Add(-time.Hour)}}, wantListed: 12, wantRead: 17},
		{name: "limit", o: dlq.ListOptions{Limit: 3}, wantListed: 3, wantRead: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []dlq.Entry
			rep, err := dlq.List(context.Background(), f, dlqURL, tt.o, func(e dlq.Entry) { got = append(got, e) })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantListed || rep.Listed != tt.wantListed || rep.Read != tt.wantRead {
				t.Errorf("listed %d (report %d), read %d; want %d, %d", len(got), rep.Listed, rep.Read, tt.wantListed, tt.wantRead)
			}
			for _, e := range got {
				if !tt.o.Selects(e) {
					t.Errorf("%s listed but not selected", e.MessageID)
				}
				if e.ErrorCode == "NotAuthorizedException" && (e.ReplayTrusted || e.RawReplayCount != "1.0") {
					t.Errorf("forged ReplayCount read as %d trusted=%v", e.ReplayCount, e.ReplayTrusted)
				}
				if e.SourceMessageID == "" || e.Attempts != 1 || e.ReceiveCount != 2 || e.DLQReceives < 1 {
					t.Errorf("entry fields %+v", e)
				}
			}
			if n := f.hidden(dlqURL); n != 0 {
				t.Errorf("%d messages left hidden", n)
			}
			if len(f.live(dlqURL)) != 17 {
				t.Error("list consumed messages")
			}
		})
	}
}

func TestReadStats(t *testing.T) {
	f := newFakeQueues()
	for i := range 30 {
		code := "UserNotFoundException"
		if i%3 == 0 {
			code = "InvalidJob"
		}
		f.deadLetter(fmt.Sprintf("u%02d", i), code, map[string]types.MessageAttributeValue{"ReplayCount": num(fmt.Sprint(i % 4))})
	}
	st, err := dlq.ReadStats(context.Background(), f, dlqURL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 30 || st.Sampled != 30 || st.ByErrorCode["InvalidJob"] != 10 || st.ByErrorCode["UserNotFoundException"] != 20 || st.MaxReplayCount != 3 {
		t.Errorf("stats %+v", st)
	}
	st, err = dlq.ReadStats(context.Background(), f, dlqURL, 15)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 30 || st.Sampled < 15 || st.Sampled > 20 {
		t.Errorf("a sample of 15: total %d, sampled %d", st.Total, st.Sampled)
	}
	if n := f.hidden(dlqURL); n != 0 {
		t.Errorf("%d messages left hidden", n)
	}
}
