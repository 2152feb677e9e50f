package dlq

import (
	"context"
	"time"
)

// Stats describes a DLQ's contents.
type Stats struct {
	Total          int            `json:"total"`
	ByErrorCode    map[string]int `json:"byErrorCode"`
	ByFailureKind  map[string]int `json:"byFailureKind"`
	OldestFailedAt *time.Time     `json:"oldestFailedAt,omitempty"`
	NewestFailedAt *time.Time     `json:"newestFailedAt,omitempty"`
	MaxReplayCount int            `json:"maxReplayCount"`
}

// ReadStats scans the DLQ without consuming it: every message read is made
// visible again at once when the scan ends.
func ReadStats(ctx context.Context, api QueueAPI, dlqURL string) (st Stats, err error) {
	st = Stats{ByErrorCode: map[string]int{}, ByFailureKind: map[string]int{}}
	sc := &scanner{api: api, queueURL: dlqURL}
	defer func() {
		if rerr := sc.release(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	for {
		batch, err := sc.next(ctx)
		if err != nil {
			return st, err
		}
		if batch == nil {
			return st, nil
		}
		for _, e := range batch {
			st.Total++
			st.ByErrorCode[codeKey(e)]++
			kind := e.FailureKind
			if kind == "" {
				kind = "(none)"
			}
			st.ByFailureKind[kind]++
			if !e.FailedAt.IsZero() {
				t := e.FailedAt
				if st.OldestFailedAt == nil || t.Before(*st.OldestFailedAt) {
					st.OldestFailedAt = &t
				}
				if st.NewestFailedAt == nil || t.After(*st.NewestFailedAt) {
					st.NewestFailedAt = &t
				}
			}
			st.MaxReplayCount = max(st.MaxReplayCount, e.ReplayCount)
		}
	}
}
