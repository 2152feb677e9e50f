package job_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/resend-worker/resend-worker/job"
)

// fakeSend records SendMessageBatch calls. fail says, per call and entry
// (by username), whether SQS refuses the entry; callErr fails a whole call.
type fakeSend struct {
	calls     []*sqs.SendMessageBatchInput
	delivered map[string]int // by username
	fail      func(username string) bool
	callErr   func(call int, entries []types.SendMessageBatchRequestEntry) error
}

func (f *fakeSend) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.calls = append(f.calls, in)
	if f.callErr != nil {
		if err := f.callErr(len(f.calls), in.Entries); err != nil {
			return nil, err
		}
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		j, err := job.Parse([]byte(aws.ToString(e.MessageBody)))
		if err != nil {
			return nil, fmt.Errorf("fake: body is no valid job: %v", err)
		}
		if f.fail != nil && f.fail(j.Username) {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("try later"), SenderFault: false})
			continue
		}
		if f.delivered == nil {
			f.delivered = map[string]int{}
		}
		f.delivered[j.Username]++
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("mid-" + j.Username)})
	}
	return out, nil
}

func users(n int) []job.Job {
	jobs := make([]job.Job, n)
	for i := range jobs {
		jobs[i] = job.Job{Username: fmt.Sprintf("user%02d", i)}
	}
	return jobs
}

func TestEnqueue(t *testing.T) {
	invalidAt := func(jobs []job.Job, idx ...int) []job.Job {
		for _, i := range idx {
			jobs[i].Username = ""
		}
		return jobs
	}
	tests := []struct {
		name       string
		jobs       []job.Job
		fail       func(string) bool
		callErr    func(int, []types.SendMessageBatchRequestEntry) error
		maxSize    int
		wantSizes  []int        // entries per SendMessageBatch call
		wantFailed map[int]bool // indexes of jobs that must come back with Err
		wantErr    bool
	}{
		{name: "one job", jobs: users(1), wantSizes: []int{1}},
		{name: "exactly ten", jobs: users(10), wantSizes: []int{10}},
		{name: "batches of ten", jobs: users(23), wantSizes: []int{10, 10, 3}},
		{name: "no jobs", jobs: nil, wantSizes: nil},
		{
			name: "per-entry failures retried, then reported", jobs: users(12),
			fail:       func(u string) bool { return u == "user03" || u == "user11" },
			wantSizes:  []int{10, 2, 2, 2},
			wantFailed: map[int]bool{3: true, 11: true}, wantErr: true,
		},
		{
			name: "invalid jobs reported and not sent", jobs: invalidAt(users(12), 0, 5),
			wantSizes:  []int{10},
			wantFailed: map[int]bool{0: true, 5: true}, wantErr: true,
		},
		{
			name: "all invalid", jobs: invalidAt(users(2), 0, 1),
			wantSizes:  nil,
			wantFailed: map[int]bool{0: true, 1: true}, wantErr: true,
		},
		{
			name: "a failed call is retried", jobs: users(15),
			callErr: func(call int, _ []types.SendMessageBatchRequestEntry) error {
				if call == 1 {
					return errors.New("network down")
				}
				return nil
			},
			wantSizes: []int{10, 5, 10},
		},
		{
			name: "a call that keeps failing fails its batch only", jobs: users(15),
			callErr: func(_ int, es []types.SendMessageBatchRequestEntry) error {
				if strings.Contains(aws.ToString(es[0].MessageBody), "user00") {
					return errors.New("network down")
				}
				return nil
			},
			wantSizes:  []int{10, 5, 10, 10},
			wantFailed: map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true}, wantErr: true,
		},
		{
			// {"username":"userNN"} is 21 bytes: 4 fit in 90.
			name: "batches by size", jobs: users(10), maxSize: 90,
			wantSizes: []int{4, 4, 2},
		},
		{
			name: "a job larger than the queue takes is refused", jobs: users(2), maxSize: 20,
			wantFailed: map[int]bool{0: true, 1: true}, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeSend{fail: tt.fail, callErr: tt.callErr}
			enq := &job.Enqueuer{API: api, QueueURL: "https://sqs.example/1/q", MaxSize: tt.maxSize}
			results, err := enq.Enqueue(context.Background(), tt.jobs...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Enqueue error = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("%d of %d", len(tt.wantFailed), len(tt.jobs))) {
				t.Errorf("error %q does not count %d of %d failures", err, len(tt.wantFailed), len(tt.jobs))
			}
			var sizes []int
			sent := api.delivered
			for _, c := range api.calls {
				if aws.ToString(c.QueueUrl) != "https://sqs.example/1/q" {
					t.Errorf("QueueUrl = %q", aws.ToString(c.QueueUrl))
				}
				sizes = append(sizes, len(c.Entries))
				ids := map[string]bool{}
				for _, e := range c.Entries {
					if ids[aws.ToString(e.Id)] {
						t.Errorf("duplicate entry id %q in one batch", aws.ToString(e.Id))
					}
					ids[aws.ToString(e.Id)] = true
					if _, perr := job.Parse([]byte(aws.ToString(e.MessageBody))); perr != nil {
						t.Errorf("sent an invalid body %q", aws.ToString(e.MessageBody))
					}
				}
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tt.wantSizes) {
				t.Errorf("batch sizes = %v, want %v", sizes, tt.wantSizes)
			}
			if len(results) != len(tt.jobs) {
				t.Fatalf("%d results for %d jobs", len(results), len(tt.jobs))
			}
			for i, r := range results {
				if !jobsEqual(r.Job, tt.jobs[i]) {
					t.Errorf("results[%d].Job = %#v, want %#v (results out of order)", i, r.Job, tt.jobs[i])
				}
				if tt.wantFailed[i] {
					if r.Err == nil || r.MessageID != "" {
						t.Errorf("results[%d] = %+v, want a failure", i, r)
					}
					if tt.jobs[i].Username == "" && !errors.Is(r.Err, job.ErrInvalid) {
						t.Errorf("results[%d].Err = %v, want ErrInvalid", i, r.Err)
					}
					continue
				}
				if r.Err != nil || r.MessageID != "mid-"+tt.jobs[i].Username {
					t.Errorf("results[%d] = %+v, want MessageID mid-%s", i, r, tt.jobs[i].Username)
				}
				if sent[tt.jobs[i].Username] != 1 {
					t.Errorf("job %d sent %d times", i, sent[tt.jobs[i].Username])
				}
			}
			if sent[""] != 0 {
				t.Errorf("an invalid job was sent")
			}
		})
	}
}

func jobsEqual(a, b job.Job) bool { return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b) }
