package app

import (
	"testing"

	"github.com/resend-worker/resend-worker/internal/admin"
	"github.com/resend-worker/resend-worker/internal/config"
	"github.com/resend-worker/resend-worker/internal/ratelimit"
)

const (
	jobsURL = "https://sqs.us-east-1.amazonaws.com/1/jobs"
	bulkURL = "https://sqs.us-east-1.amazonaws.com/1/bulk"
)

func TestSendQueue(t *testing.T) {
	oneLane := config.Config{QueueURL: jobsURL}
	twoLanes := config.Config{QueueURL: jobsURL, BulkQueueURL: bulkURL}
	for _, tt := range []struct {
		name string
		cfg  config.Config
		bulk bool
		want string
	}{
		{"one lane, bulk work", oneLane, true, jobsURL},
		{"one lane, interactive work", oneLane, false, jobsURL},
		{"two lanes, bulk work", twoLanes, true, bulkURL},
		{"two lanes, --interactive", twoLanes, false, jobsURL},
	} {
		if got := sendQueue(tt.cfg, tt.bulk); got != tt.want {
			t.Errorf("%s: sendQueue = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestLanesFor(t *testing.T) {
	lim := ratelimit.New(ratelimit.Config{Max: 10})
	health := &admin.Health{}
	one, err := lanesFor(config.Config{QueueURL: jobsURL, Concurrency: 16}, lim, health)
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].queueURL != jobsURL || one[0].slots != nil || one[0].dlqLane != "" || one[0].health != health || one[0].name != "interactive" {
		t.Fatalf("one lane = %+v", one)
	}
	two, err := lanesFor(config.Config{QueueURL: jobsURL, BulkQueueURL: bulkURL, Concurrency: 32}, lim, health)
	if err != nil {
		t.Fatal(err)
	}
	if len(two) != 2 {
		t.Fatalf("%d lanes, want 2", len(two))
	}
	in, bulk := two[0], two[1]
	if in.name != "interactive" || in.queueURL != jobsURL || in.dlqLane != "interactive" || in.health != health || in.slots.Cap() != 32 {
		t.Errorf("interactive lane = %+v", in)
	}
	if bulk.name != "bulk" || bulk.queueURL != bulkURL || bulk.dlqLane != "bulk" || bulk.health != nil || bulk.slots.Cap() != 28 {
		t.Errorf("bulk lane = %+v (cap %d)", bulk, bulk.slots.Cap())
	}
	if in.limiter == bulk.limiter {
		t.Error("both lanes wait at the same priority")
	}
}
