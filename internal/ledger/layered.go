package ledger

import "context"

// Layered is the ledger of a fleet: Local (this process) in front of Shared
// (the table). A user held or just sent by this process is answered by Local
// without a request; only a job that Local lets through claims in Shared.
// While the table cannot be reached Local still deduplicates this
// process's own jobs.
type Layered struct {
	Local  *Memory
	Shared *Dynamo
}

// Claim claims in Local, then in Shared.
func (l Layered) Claim(ctx context.Context, key Key) (Claim, error) {
	lc, err := l.Local.Claim(ctx, key)
	if err != nil || !lc.Status.Proceed() {
		return lc, err
	}
	sc, err := l.Shared.Claim(ctx, key)
	if err != nil || !sc.Status.Proceed() {
		// Another worker has it (or sent it): let this process's next job
		// for the user ask the table again.
		l.Local.Release(ctx, lc)
	}
	return sc, err
}

// Sent marks the user sent in both.
func (l Layered) Sent(ctx context.Context, c Claim) {
	l.Shared.Sent(ctx, c)
	l.Local.Sent(ctx, c)
}

// Release releases both.
func (l Layered) Release(ctx context.Context, c Claim) {
	l.Shared.Release(ctx, c)
	l.Local.Release(ctx, c)
}
