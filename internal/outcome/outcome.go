// Package outcome is the contract's closed set of job outcomes: the
// `outcome` field of each job's log line and the `outcome` label of
// resend_jobs_total. The processor decides them, the metrics count them;
// both take them from here, so an outcome is added in one place.
package outcome

// Outcome is what happened to one receive of a job.
type Outcome string

// The outcomes, in the contract's order.
const (
	Resent           Outcome = "resent"            // Cognito sent a code
	AlreadyConfirmed Outcome = "already_confirmed" // nothing to resend: deleted
	Deduplicated     Outcome = "deduplicated"      // a code went to the user within USER_COOLDOWN: deleted without a call
	DeadLettered     Outcome = "dead_lettered"     // copied to the DLQ with its reason, then deleted
	Requeued         Outcome = "requeued"          // back on the queue for a later receive
)

// All is every outcome, in the contract's order.
func All() []Outcome {
	return []Outcome{Resent, AlreadyConfirmed, Deduplicated, DeadLettered, Requeued}
}
