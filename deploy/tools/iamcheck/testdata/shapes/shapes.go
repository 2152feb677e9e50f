// Package shapes is a fixture: the ways the worker's code reaches SQS, and
// methods that only share an operation's name.
package shapes

import (
	"bufio"
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// api is a narrow interface declared where it is consumed; declaring it is no call.
type api interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// store has a method named like a DynamoDB operation, with other parameters.
type store struct{}

func (store) Query(_ context.Context, _ string) error { return nil }

func run[In, Out any](f func(context.Context, In, ...func(*sqs.Options)) (Out, error)) { _ = f }

func wire(ctx context.Context, c api, in *sqs.SendMessageBatchInput) {
	run(c.ChangeMessageVisibilityBatch) // a method value handed to a helper
	_, _ = c.SendMessageBatch(ctx, in)  // a call through the interface
	sc := bufio.NewScanner(strings.NewReader("x"))
	for sc.Scan() { // bufio, not dynamodb:Scan
	}
	_ = store{}.Query(ctx, "select") // not dynamodb:Query
}
