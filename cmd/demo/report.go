package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

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

// printOutage prints the outage phase as a timeline from the outage's start.
func printOutage(r outageRun) {
	at := func(t time.Time) string {
		if t.IsZero() {
			return "   never"
		}
		return fmt.Sprintf("%+7.1fs", t.Sub(r.start).Seconds())
	}
	fmt.Printf("   %s  the stand-in fails every call (HTTP 500 InternalErrorException) for %s; %d jobs enqueued\n", at(r.start), outageFor, outageJobs)
	before := r.callsIn(r.start, orNow(r.downAt))
	fmt.Printf("   %s  worker judges Cognito down after %d failed calls: resend_cognito_outage 1, /readyz %d, /healthz %d, receiving stops\n",
		at(r.downAt), len(before), r.readyDuring, r.healthDuring)
	if !r.downAt.IsZero() {
		probes := r.callsIn(r.downAt, orNow(r.backAt))
		var ps []string
		for _, c := range probes {
			ps = append(ps, fmt.Sprintf("%+.1fs %s", c.Time.Sub(r.start).Seconds(), c.Outcome))
		}
		fmt.Printf("   %s  probes, one at a time, 1 s doubling: %s\n", "        ", or(strings.Join(ps, ", "), "none"))
	}
	fmt.Printf("   %s  the stand-in answers again\n", at(r.end))
	fmt.Printf("   %s  worker judges Cognito back: resend_cognito_outage 0, receiving resumes at the limiter's rate (%.0f/s; %.0f/s while down: outage errors do not cut it)\n",
		at(r.backAt), r.rateBack, r.rateDown)
	delivered := 0
	for _, n := range r.codes {
		delivered += n
	}
	if !r.doneAt.IsZero() && !r.backAt.IsZero() {
		fmt.Printf("   %s  all %d codes sent and the queue empty, %.1fs after the worker saw Cognito back\n", at(r.doneAt), delivered, r.doneAt.Sub(r.backAt).Seconds())
	}
	fmt.Printf("   Cognito calls while it was down: %d in %s (a burst before the judgement, then probes); none dead-lettered is checked below\n",
		len(r.callsIn(r.start, r.end)), outageFor)
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}
