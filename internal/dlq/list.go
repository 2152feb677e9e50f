package dlq

import "context"

// ListOptions selects what List shows.
type ListOptions struct {
	Filter
	Limit  int // list at most this many; 0: no limit
	Limits ScanLimits
}

// ListReport is what a List call read.
type ListReport struct {
	Read       int            // messages read
	Listed     int            // of which selected and passed to each
	Codes      map[string]int // every ErrorCode read, with its count
	Incomplete string         // why the DLQ was not read to the end; "" if it was (or Limit was reached)
}

// List reads the DLQ once and calls each for every selected dead job, up to
// Limit, in the order SQS returns them. It changes nothing: what it read is
// held only while it reads (so that it sees each message once, within one
// pass: at most Limits.MaxHeld messages, before the hold expires) and made
// visible again at once when it ends, also on an error or a cancelled ctx.
func List(ctx context.Context, api QueueAPI, dlqURL string, o ListOptions, each func(Entry)) (rep ListReport, err error) {
	rep.Codes = map[string]int{}
	sc := newScanner(api, dlqURL, o.Limits)
	defer func() {
		if rerr := sc.release(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	for o.Limit == 0 || rep.Listed < o.Limit {
		if over, _ := sc.passOver(); over != "" {
			rep.Incomplete = over
			return rep, nil
		}
		batch, err := sc.next(ctx)
		if err != nil || batch == nil {
			return rep, err
		}
		for _, e := range batch {
			rep.Read++
			rep.Codes[codeKey(e)]++
			if o.Selects(e) && (o.Limit == 0 || rep.Listed < o.Limit) {
				rep.Listed++
				each(e)
			}
		}
	}
	return rep, nil
}
