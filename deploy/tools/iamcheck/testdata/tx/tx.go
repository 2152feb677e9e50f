// Package tx is a fixture: an operation whose IAM actions are not its name.
package tx

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func write(ctx context.Context, c *dynamodb.Client) {
	_, _ = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{})
}
