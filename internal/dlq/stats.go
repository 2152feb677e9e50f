package dlq

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// DefaultSample is how many messages `dlq stats` reads for its breakdown.
const DefaultSample = 1000

// Stats describes a DLQ's contents: the counts from SQS's queue attributes,
// the breakdown from a sample of at most Sampled messages.
type Stats struct {
	Total          int            `json:"total"`    // ApproximateNumberOfMessages + NotVisible + Delayed
	Visible        int            `json:"visible"`  // ApproximateNumberOfMessages
	InFlight       int            `json:"inFlight"` // ApproximateNumberOfMessagesNotVisible
	Delayed        int            `json:"delayed"`  // ApproximateNumberOfMessagesDelayed
	Sampled        int            `json:"sampled"`  // messages read for the breakdown below
	ByErrorCode    map[string]int `json:"byErrorCode"`
	ByFailureKind  map[string]int `json:"byFailureKind"`
	OldestFailedAt *time.Time     `json:"oldestFailedAt,omitempty"`
	NewestFailedAt *time.Time     `json:"newestFailedAt,omitempty"`
	MaxReplayCount int            `json:"maxReplayCount"`
	Untrusted      int            `json:"untrustedReplayCounts"` // ReplayCount not a whole number from 0 to 1,000,000
}

// ReadStats reads the DLQ's counts from GetQueueAttributes and a sample of
// at most sample messages (0: DefaultSample) for the breakdown, without
// consuming anything: the sample is made visible again at once.
func ReadStats(ctx context.Context, api QueueAPI, dlqURL string, sample int) (st Stats, err error) {
	if sample <= 0 {
		sample = DefaultSample
	}
	st = Stats{ByErrorCode: map[string]int{}, ByFailureKind: map[string]int{}}
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(dlqURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed},
	})
	if err != nil {
		return st, fmt.Errorf("queue attributes of %s: %w", dlqURL, err)
	}
	count := func(n types.QueueAttributeName) int { v, _ := strconv.Atoi(out.Attributes[string(n)]); return v }
	st.Visible = count(types.QueueAttributeNameApproximateNumberOfMessages)
	st.InFlight = count(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
	st.Delayed = count(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)
	st.Total = st.Visible + st.InFlight + st.Delayed

	sc := newScanner(api, dlqURL, ScanLimits{Hold: time.Minute, MaxHeld: sample + 10})
	defer func() {
		if rerr := sc.release(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	for st.Sampled < sample && !over(sc) {
		batch, err := sc.next(ctx)
		if err != nil || batch == nil {
			return st, err
		}
		for _, e := range batch {
			st.add(e)
		}
	}
	return st, nil
}

func (st *Stats) add(e Entry) {
	st.Sampled++
	st.ByErrorCode[codeKey(e)]++
	kind := e.FailureKind
	if kind == "" {
		kind = "(none)"
	}
	st.ByFailureKind[kind]++
	if !e.FailedAt.IsZero() {
		t := e.FailedAt
		if st.OldestFailedAt == nil || t.Before(*st.OldestFailedAt) {
			st.OldestFailedAt = &t
		}
		if st.NewestFailedAt == nil || t.After(*st.NewestFailedAt) {
			st.NewestFailedAt = &t
		}
	}
	if !e.ReplayTrusted {
		st.Untrusted++
	}
	st.MaxReplayCount = max(st.MaxReplayCount, e.ReplayCount)
}
