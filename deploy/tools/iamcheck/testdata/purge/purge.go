// Package purge is a fixture: a new SQS call the task role does not allow.
package purge

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func purge(ctx context.Context, api *sqs.Client, url string) error {
	_, err := api.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &url})
	return err
}
