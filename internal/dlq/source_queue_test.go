package dlq_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/resend-worker/resend-worker/internal/dlq"
)

// With a bulk lane, a dead-lettered copy names the lane it came from, within
// SQS's ten attributes, and a replay drops it with the other failure
// attributes.
func TestSourceQueue(t *testing.T) {
	f := failure
	f.SourceQueue = "bulk"
	attrs := dlq.Attributes(originals("ReplayCount", "a", "b", "c"), f)
	if got := aws.ToString(attrs[dlq.AttrSourceQueue].StringValue); got != "bulk" {
		t.Errorf("SourceQueue = %q, want bulk", got)
	}
	if len(attrs) != dlq.MaxAttributes {
		t.Errorf("%d attributes %v, want %d (8 failure attributes, ReplayCount, a)", len(attrs), names(attrs), dlq.MaxAttributes)
	}
	for _, n := range []string{"ReplayCount", "a"} {
		if _, ok := attrs[n]; !ok {
			t.Errorf("original %s dropped", n)
		}
	}
	if _, ok := dlq.ReplayAttributes(attrs, 0)[dlq.AttrSourceQueue]; ok {
		t.Error("replay kept SourceQueue")
	}
	if _, ok := dlq.Attributes(nil, failure)[dlq.AttrSourceQueue]; ok {
		t.Error("SourceQueue written without a lane")
	}
}
