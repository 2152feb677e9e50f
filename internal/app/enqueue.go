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
	fs.Var(&usernames, "username", "username to resend a code to (repeatable)")
	fs.Var(&metadata, "client-metadata", "k=v passed to Cognito's ClientMetadata (repeatable)")
	file := fs.String("file", "", "read jobs from this file (- for stdin): one username or one job JSON a line; sent to RESEND_BULK_QUEUE_URL when set")
	interactive := interactiveFlag(fs)
	cfg, err := config.Load(fs, args, io.Env, config.NeedQueues)
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
	var jobs []job.Job
	var labels []string // where each job came from, for error lines
	for _, u := range usernames {
		j := job.Job{Username: u}
		if err := j.Validate(); err != nil {
			return &config.Error{Name: "--username", Reason: err.Error()}
		}
		jobs, labels = append(jobs, j), append(labels, "--username "+strconv.Itoa(len(labels)+1))
	}
	badLines := 0
	if *file != "" {
		fromFile, fileLabels, bad, err := readJobFile(*file, io)
		if err != nil {
			return err
		}
		jobs, labels, badLines = append(jobs, fromFile...), append(labels, fileLabels...), bad
	}
	for i := range jobs {
		if len(meta) > 0 && jobs[i].ClientMetadata == nil {
			jobs[i].ClientMetadata = meta
		}
	}
	awsCfg, err := loadAWS(ctx, io.Env, 4)
	if err != nil {
		return err
	}
	results, err := job.Enqueue(ctx, sqs.NewFromConfig(awsCfg), sendQueue(cfg, *file != "" && !*interactive), jobs...)
	for i, r := range results {
		if r.Err != nil {
			fmt.Fprintf(io.Stderr, "%s: %v\n", labels[i], r.Err)
			continue
		}
		fmt.Fprintln(io.Stdout, r.MessageID)
	}
	if err == nil && badLines > 0 {
		err = fmt.Errorf("enqueue: %d bad lines not sent, %d jobs sent", badLines, len(jobs))
	}
	return err
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
