package job

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SendAPI is the SQS call Enqueue needs; *sqs.Client has it.
type SendAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Result is what happened to one job of an Enqueue call: a MessageID, or Err.
type Result struct {
	Job       Job
	MessageID string
	Err       error
}

// Enqueue validates jobs and sends the valid ones in batches of ten. It
// returns one Result per job, in order; the error is non-nil when any job
// was not sent (the Results say which).
func Enqueue(ctx context.Context, api SendAPI, queueURL string, jobs ...Job) ([]Result, error) {
	results := make([]Result, len(jobs))
	var pending []int // indexes of valid jobs not yet sent
	failed := 0
	for i, j := range jobs {
		results[i].Job = j
		if err := j.Validate(); err != nil {
			results[i].Err = err
			failed++
			continue
		}
		pending = append(pending, i)
	}
	for len(pending) > 0 {
		n := min(len(pending), 10)
		batch := pending[:n]
		pending = pending[n:]
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for k, i := range batch {
			body, _ := jobs[i].Marshal()
			entries[k] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(k)), MessageBody: aws.String(string(body))}
		}
		out, err := api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
		if err != nil {
			for _, i := range batch {
				results[i].Err = fmt.Errorf("send: %w", err)
				failed++
			}
			continue
		}
		for _, ok := range out.Successful {
			if k, err := strconv.Atoi(aws.ToString(ok.Id)); err == nil && k >= 0 && k < len(batch) {
				results[batch[k]].MessageID = aws.ToString(ok.MessageId)
			}
		}
		for _, f := range out.Failed {
			if k, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && k >= 0 && k < len(batch) {
				results[batch[k]].Err = fmt.Errorf("send: %s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
			}
		}
		for _, i := range batch {
			if results[i].MessageID == "" && results[i].Err == nil {
				results[i].Err = fmt.Errorf("send: SQS reported neither success nor failure for this entry")
			}
			if results[i].Err != nil {
				failed++
			}
		}
	}
	if failed > 0 {
		return results, fmt.Errorf("enqueue: %d of %d jobs not sent", failed, len(jobs))
	}
	return results, nil
}
