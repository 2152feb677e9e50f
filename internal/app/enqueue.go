package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/job"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// enqueueCommand sends jobs and prints their message ids.
func enqueueCommand(ctx context.Context, args []string, io IO) error {
	fs := newFlagSet("enqueue", io.Stderr)
	var usernames, metadata multiFlag
	fs.Var(&usernames, "username", "username to resend a code to (repeatable)")
	fs.Var(&metadata, "client-metadata", "k=v passed to Cognito's ClientMetadata (repeatable)")
	cfg, err := config.Load(fs, args, io.Env, config.NeedQueues)
	if err != nil {
		return err
	}
	if len(usernames) == 0 {
		return &config.Error{Name: "--username", Reason: "is required"}
	}
	meta := map[string]string{}
	for _, kv := range metadata {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return &config.Error{Name: "--client-metadata", Reason: fmt.Sprintf("%q is not k=v", kv)}
		}
		meta[k] = v
	}
	jobs := make([]job.Job, len(usernames))
	for i, u := range usernames {
		jobs[i] = job.Job{Username: u}
		if len(meta) > 0 {
			jobs[i].ClientMetadata = meta
		}
		if err := jobs[i].Validate(); err != nil {
			return &config.Error{Name: "--username", Reason: err.Error()}
		}
	}
	awsCfg, err := loadAWS(ctx, io.Env, 4)
	if err != nil {
		return err
	}
	results, err := job.Enqueue(ctx, sqs.NewFromConfig(awsCfg), cfg.QueueURL, jobs...)
	for i, r := range results {
		if r.Err != nil {
			fmt.Fprintf(io.Stderr, "job %d: %v\n", i+1, r.Err)
			continue
		}
		fmt.Fprintln(io.Stdout, r.MessageID)
	}
	return err
}
