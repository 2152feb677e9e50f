package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/resend-worker/resend-worker/internal/cognitoemu"
)

// deadLetter is one DLQ message: its body and message attributes.
type deadLetter struct {
	body  string
	attrs map[string]string
}

// drain receives every message of the DLQ (leaving them there, invisible
// for a while) with all their message attributes.
func drain(ctx context.Context, client *sqs.Client, url string) ([]deadLetter, error) {
	var out []deadLetter
	for {
		resp, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			return nil, fmt.Errorf("receive from the DLQ: %w", err)
		}
		if len(resp.Messages) == 0 {
			return out, nil
		}
		for _, m := range resp.Messages {
			d := deadLetter{body: aws.ToString(m.Body), attrs: map[string]string{}}
			for k, v := range m.MessageAttributes {
				d.attrs[k] = aws.ToString(v.StringValue)
			}
			out = append(out, d)
		}
	}
}

// printTable prints one row per job: what the worker did and what the
// stand-in saw.
func printTable(jobs []*expectation, outcomes map[string]string, calls []cognitoemu.Call, deliveries []cognitoemu.Delivery) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "   MESSAGE ID\tUSER\tOUTCOME\tCOGNITO CALLS\tCODES DELIVERED")
	for _, j := range jobs {
		user, callSummary, codes := "(invalid body)", "- (never called)", "-"
		if j.user != "" {
			user = j.user
			callSummary = summarizeCalls(callsFor(calls, j.user))
			var cs []string
			for _, d := range deliveriesFor(deliveries, j.user) {
				cs = append(cs, d.Code+" → "+d.Destination)
			}
			if len(cs) > 0 {
				codes = strings.Join(cs, ", ")
			}
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s\n", j.msgID, user, or(outcomes[j.msgID], "?"), callSummary, codes)
	}
	tw.Flush()
}

// dlqAttrs are the contract's failure attributes, in the order printed.
var dlqAttrs = []string{"ErrorCode", "ErrorMessage", "FailureKind", "SourceMessageId", "FailedAt", "Attempts", "ReceiveCount"}

// printDead prints a DLQ message's body and every message attribute.
func printDead(d deadLetter) {
	fmt.Printf("   - body %s\n", d.body)
	seen := map[string]bool{}
	for _, k := range dlqAttrs {
		fmt.Printf("       %-16s %s\n", k, or(d.attrs[k], "(missing)"))
		seen[k] = true
	}
	var rest []string
	for k := range d.attrs {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		fmt.Printf("       %-16s %s\n", k, d.attrs[k])
	}
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
