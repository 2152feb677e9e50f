package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/internal/devenv"
	"github.com/resend-worker/resend-worker/internal/resend"
)

// naiveMain is the baseline, run as a child process of the bench (so that its
// CPU and RSS are its own): Concurrency loops of receive 1 (long poll), call
// Cognito with the SDK's default retryer and no limiter, delete 1. A failed
// call leaves the message to come back after its visibility timeout. It
// serves the worker's metric names on -admin so the bench reads both alike.
func naiveMain(args []string) int {
	fs := flag.NewFlagSet("naive", flag.ContinueOnError)
	sqsURL := fs.String("sqs", "", "SQS endpoint")
	cogURL := fs.String("cognito", "", "Cognito endpoint")
	queueURL := fs.String("queue", "", "queue URL")
	clientID := fs.String("client", "", "client id")
	secret := fs.String("secret", "", "client secret")
	conc := fs.Int("concurrency", 64, "receive loops")
	admin := fs.String("admin", "", "metrics address")
	maxReceives := fs.Int("max-receives", 5, "a failure on this receive would dead-letter")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	cfg := devenv.AWSConfig()
	sqsClient := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(*sqsURL) })
	cog := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(*cogURL) })

	var resent, receives, deletes, wouldDLQ atomic.Int64
	ln, err := net.Listen("tcp", *admin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "resend_jobs_total{outcome=\"resent\"} %d\n", resent.Load())
			fmt.Fprintf(w, "resend_jobs_total{outcome=\"dead_lettered\"} %d\n", wouldDLQ.Load())
			fmt.Fprintf(w, "resend_sqs_requests_total{op=\"ReceiveMessage\"} %d\n", receives.Load())
			fmt.Fprintf(w, "resend_sqs_requests_total{op=\"DeleteMessage\"} %d\n", deletes.Load())
		}))
	}()

	var wg sync.WaitGroup
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				receives.Add(1)
				out, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
					QueueUrl: aws.String(*queueURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 20, VisibilityTimeout: 30,
					MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
				})
				if err != nil || len(out.Messages) == 0 {
					continue
				}
				m := out.Messages[0]
				var j struct {
					Username string `json:"username"`
				}
				_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &j)
				_, err = cog.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{
					ClientId: clientID, Username: aws.String(j.Username),
					SecretHash: aws.String(resend.SecretHash(*secret, j.Username, *clientID)),
				})
				var already *ciptypes.InvalidParameterException
				if err != nil && !errors.As(err, &already) {
					if n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); n >= *maxReceives {
						wouldDLQ.Add(1)
					}
					continue // back on the queue after its visibility timeout
				}
				deletes.Add(1)
				if _, err := sqsClient.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: queueURL, ReceiptHandle: m.ReceiptHandle}); err == nil {
					resent.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return 0
}
