package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/resend-worker/resend-worker/internal/config"
)

// QueueAttributesAPI is the SQS call the start-up check makes.
type QueueAttributesAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Queue is one queue of `worker run` as the start-up check found it.
type Queue struct {
	Var            string // the variable that names it, e.g. RESEND_DLQ_URL
	URL            string // "" when an optional queue is not configured
	MaxMessageSize int    // the queue's MaximumMessageSize, in bytes
}

// Queues are the queues `worker run` uses.
type Queues struct {
	Job, DLQ Queue
	Bulk     Queue // URL "" without RESEND_BULK_QUEUE_URL
}

// QueueError is a queue the start-up check could not read: the worker exits
// 1 with one line naming the queue's variable.
type QueueError struct {
	Var, URL string
	Missing  bool  // SQS says the queue does not exist
	Err      error // what SQS answered
}

func (e *QueueError) Error() string {
	if e.Missing {
		return fmt.Sprintf("%s: queue %s does not exist", e.Var, e.URL)
	}
	return fmt.Sprintf("%s: cannot read queue %s: %v", e.Var, e.URL, e.Err)
}

func (e *QueueError) Unwrap() error { return e.Err }

// CheckQueues reads MaximumMessageSize of each queue cfg names, so that `run`
// fails at start, naming the queue, when one does not exist (instead of
// logging NonExistentQueue every few seconds), and so that the sizes are
// known to what must fit a message in them.
func CheckQueues(ctx context.Context, api QueueAttributesAPI, cfg config.Config) (Queues, error) {
	qs := Queues{
		Job:  Queue{Var: "RESEND_QUEUE_URL", URL: cfg.QueueURL},
		DLQ:  Queue{Var: "RESEND_DLQ_URL", URL: cfg.DLQURL},
		Bulk: Queue{Var: "RESEND_BULK_QUEUE_URL", URL: cfg.BulkQueueURL},
	}
	for _, q := range []*Queue{&qs.Job, &qs.DLQ, &qs.Bulk} {
		if q.URL == "" {
			continue
		}
		out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(q.URL),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameMaximumMessageSize},
		})
		if err != nil {
			return qs, &QueueError{Var: q.Var, URL: q.URL, Missing: isNonExistentQueue(err), Err: err}
		}
		size, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameMaximumMessageSize)])
		if err != nil || size <= 0 {
			return qs, &QueueError{Var: q.Var, URL: q.URL, Err: fmt.Errorf("MaximumMessageSize %q is not a size", out.Attributes[string(types.QueueAttributeNameMaximumMessageSize)])}
		}
		q.MaxMessageSize = size
	}
	return qs, nil
}

// isNonExistentQueue reports whether SQS answered that the queue does not
// exist (QueueDoesNotExist in the JSON protocol, the query protocol's
// AWS.SimpleQueueService.NonExistentQueue otherwise).
func isNonExistentQueue(err error) bool {
	var missing *types.QueueDoesNotExist
	if errors.As(err, &missing) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue":
			return true
		}
	}
	return false
}

// endpointForLog is an endpoint URL as it may be logged: without user
// information or query; "default" for the SDK's own endpoint.
func endpointForLog(p *string) string {
	if p == nil || *p == "" {
		return "default"
	}
	u, err := url.Parse(*p)
	if err != nil {
		return "(unparsable)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
