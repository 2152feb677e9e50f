package app

import (
	"bufio"
	"context"
	"fmt"
	stdio "io"
	"os"
	"strconv"
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
	fs.Var(&usernames, "username", "`USER` to resend a code to (repeatable)")
	fs.Var(&metadata, "client-metadata", "`K=V` passed to Cognito's ClientMetadata (repeatable)")
	file := fs.String("file", "", "read jobs from `FILE` (- for stdin): one username or one job JSON a line; sent to RESEND_BULK_QUEUE_URL when it is set")
	interactive := fs.Bool("interactive", false, "send --file's jobs to RESEND_QUEUE_URL even when RESEND_BULK_QUEUE_URL is set")
	cfg, err := config.Load(fs, args, io.Env, config.NeedQueue)
	if err != nil {
		return err
	}
	if len(usernames) == 0 && *file == "" {
		return &config.Error{Name: "--username", Reason: "is required (or --file)"}
	}
	meta := map[string]string{}
	for _, kv := range metadata {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return &config.Error{Name: "--client-metadata", Reason: fmt.Sprintf("%q is not k=v", kv)}
		}
		meta[k] = v
	}
	// --username jobs are a person's: the interactive queue. --file's are a
	// backfill: the bulk queue when there is one.
	direct := batch{queueURL: cfg.QueueURL}
	for _, u := range usernames {
		j := job.Job{Username: u}
		if err := j.Validate(); err != nil {
			return &config.Error{Name: "--username", Reason: err.Error()}
		}
		direct.add(j, "--username "+strconv.Itoa(len(direct.jobs)+1))
	}
	fromFile := batch{queueURL: cfg.QueueURL}
	if cfg.BulkQueueURL != "" && !*interactive {
		fromFile.queueURL = cfg.BulkQueueURL
	}
	badLines := 0
	if *file != "" {
		jobs, labels, bad, err := readJobFile(*file, io)
		if err != nil {
			return err
		}
		fromFile.jobs, fromFile.labels, badLines = jobs, labels, bad
	}
	awsCfg, err := loadAWS(ctx, io.Env, 4)
	if err != nil {
		return err
	}
	api := sqs.NewFromConfig(awsCfg)
	sent := 0
	for _, b := range []*batch{&direct, &fromFile} {
		for i := range b.jobs {
			if len(meta) > 0 && b.jobs[i].ClientMetadata == nil {
				b.jobs[i].ClientMetadata = meta
			}
		}
		n, berr := b.send(ctx, api, io)
		sent += n
		if err == nil {
			err = berr
		}
	}
	if err == nil && badLines > 0 {
		err = fmt.Errorf("enqueue: %d bad lines not sent, %d jobs sent", badLines, sent)
	}
	return err
}

// batch is jobs bound for one queue, with where each came from.
type batch struct {
	queueURL string
	jobs     []job.Job
	labels   []string // "--username 2", "line 7": for error lines
}

func (b *batch) add(j job.Job, label string) {
	b.jobs, b.labels = append(b.jobs, j), append(b.labels, label)
}

// send enqueues the batch, printing each message id on stdout and each
// failure on stderr; it returns how many were sent.
func (b *batch) send(ctx context.Context, api job.SendAPI, io IO) (int, error) {
	if len(b.jobs) == 0 {
		return 0, nil
	}
	results, err := job.Enqueue(ctx, api, b.queueURL, b.jobs...)
	sent := 0
	for i, r := range results {
		if r.Err != nil {
			fmt.Fprintf(io.Stderr, "%s: %v\n", b.labels[i], r.Err)
			continue
		}
		sent++
		fmt.Fprintln(io.Stdout, r.MessageID)
	}
	return sent, err
}

// readJobFile reads one username or one job JSON object a line; blank lines
// and lines starting with # are skipped. A bad line is reported on stderr
// (by number, never its content) and the rest are still read.
func readJobFile(name string, io IO) (jobs []job.Job, labels []string, bad int, err error) {
	var r stdio.Reader = io.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, 0, &config.Error{Name: "--file", Reason: err.Error()}
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var j job.Job
		var perr error
		if strings.HasPrefix(line, "{") {
			j, perr = job.Parse([]byte(line))
		} else {
			j = job.Job{Username: line}
			perr = j.Validate()
		}
		if perr != nil {
			fmt.Fprintf(io.Stderr, "line %d: %v\n", n, perr)
			bad++
			continue
		}
		jobs, labels = append(jobs, j), append(labels, "line "+strconv.Itoa(n))
	}
	if err := sc.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("reading %s: %w", name, err)
	}
	return jobs, labels, bad, nil
}
