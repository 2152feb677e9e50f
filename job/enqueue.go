package job

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/sqsbatch"
)

// SendAPI is the SQS call Enqueue needs; *sqs.Client has it.
type SendAPI = sqsbatch.SendAPI

// Result is what happened to one job of an Enqueue call: a MessageID, or Err.
type Result struct {
	Job       Job
	MessageID string
	Err       error
}

// Enqueuer sends jobs to one queue.
type Enqueuer struct {
	API      SendAPI
	QueueURL string
	// MaxSize is the queue's MaximumMessageSize in bytes (see
	// sqsbatch.MaxMessageSize): a batch request stays under it and a job
	// whose body is larger is refused. 0: SQS's default, 262144.
	MaxSize int
	// Tries is how many requests may carry a job whose send failed on the
	// way or on SQS's side; default 3. A retry after an ambiguous failure
	// (a timeout) may enqueue a job twice: the worker's cooldown makes that
	// one code.
	Tries int
}

// Enqueue sends jobs to queueURL with an Enqueuer's defaults.
func Enqueue(ctx context.Context, api SendAPI, queueURL string, jobs ...Job) ([]Result, error) {
	return (&Enqueuer{API: api, QueueURL: queueURL}).Enqueue(ctx, jobs...)
}

// Enqueue validates jobs and sends the valid ones in batches (at most 10
// and MaxSize bytes each). It returns one Result per job, in order; the
// error is non-nil when any job was not sent (the Results say which).
func (e *Enqueuer) Enqueue(ctx context.Context, jobs ...Job) ([]Result, error) {
	results := make([]Result, len(jobs))
	var pending []int // indexes of valid jobs
	var entries []types.SendMessageBatchRequestEntry
	failed := 0
	for i, j := range jobs {
		results[i].Job = j
		body, err := j.Marshal() // validates
		if err != nil {
			results[i].Err = err
			failed++
			continue
		}
		pending = append(pending, i)
		entries = append(entries, types.SendMessageBatchRequestEntry{MessageBody: aws.String(string(body))})
	}
	tries := e.Tries
	if tries <= 0 {
		tries = 3
	}
	outs := sqsbatch.Do(ctx, sqsbatch.Send(e.API, e.QueueURL), entries, sqsbatch.Config{MaxBytes: e.MaxSize, Tries: tries})
	for k, i := range pending {
		if err := outs[k].Err; err != nil {
			results[i].Err = fmt.Errorf("send: %w", err)
			failed++
			continue
		}
		results[i].MessageID = outs[k].MessageID
	}
	if failed > 0 {
		return results, fmt.Errorf("enqueue: %d of %d jobs not sent", failed, len(jobs))
	}
	return results, nil
}
