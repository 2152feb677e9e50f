package sqsemu

import (
	"container/heap"
	"sync"
	"time"
)

// message is one message of a queue.
type message struct {
	seq          uint64 // the queue's sequence number; the heap's tie-break
	id           string
	body         string
	attrs        map[string]attrValue
	md5Body      string
	md5Attrs     string // "" when it has no attributes
	sent         time.Time
	firstReceive time.Time // zero until its first receive
	receives     int
	visibleAt    time.Time // the heap's key
	handle       string    // the receipt handle of its last receive; "" before
	index        int       // its position in the heap; -1 once deleted
}

// byVisibleAt is a min-heap of messages ordered by the time they become
// visible, then by sequence number (oldest first).
type byVisibleAt []*message

func (h byVisibleAt) Len() int { return len(h) }
func (h byVisibleAt) Less(i, j int) bool {
	if h[i].visibleAt.Equal(h[j].visibleAt) {
		return h[i].seq < h[j].seq
	}
	return h[i].visibleAt.Before(h[j].visibleAt)
}
func (h byVisibleAt) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *byVisibleAt) Push(x any) {
	m := x.(*message)
	m.index = len(*h)
	*h = append(*h, m)
}
func (h *byVisibleAt) Pop() any {
	old := *h
	m := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	m.index = -1
	return m
}

// queue is a standard queue. Its mutex guards everything below it.
type queue struct {
	name, url, arn string
	created        time.Time
	attrs          queueAttrs

	mu      sync.Mutex
	seq     uint64
	heap    byVisibleAt
	byID    map[uint64]*message
	arrived chan struct{} // closed and replaced when a message may have become receivable
}

// queueAttrs are the attributes a queue is created with.
type queueAttrs struct {
	visibility  time.Duration
	delay       time.Duration
	maxSize     int
	receiveWait time.Duration
}

func newQueue(name, url, arn string, a queueAttrs, now time.Time) *queue {
	return &queue{name: name, url: url, arn: arn, created: now, attrs: a,
		byID: map[uint64]*message{}, arrived: make(chan struct{})}
}

// wakeLocked wakes the long polls waiting on the queue.
func (q *queue) wakeLocked() {
	close(q.arrived)
	q.arrived = make(chan struct{})
}

// add enqueues m, visible after delay.
func (q *queue) add(m *message, delay time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	m.seq = q.seq
	m.visibleAt = m.sent.Add(delay)
	heap.Push(&q.heap, m)
	q.byID[m.seq] = m
	if delay <= 0 {
		q.wakeLocked()
	}
}

// received is a message as one receive handed it out: a copy of the fields
// the response needs, taken under the lock.
type received struct {
	m            *message
	handle       string
	receives     int
	firstReceive time.Time
}

// take hands out up to max visible messages, each hidden for visibility
// and given a new receipt handle. It costs O(max × log n).
func (q *queue) take(now time.Time, max int, visibility time.Duration) []received {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []received
	for len(out) < max && len(q.heap) > 0 && !q.heap[0].visibleAt.After(now) {
		m := heap.Pop(&q.heap).(*message)
		m.receives++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.handle = encodeHandle(q.name, m.seq, m.receives)
		out = append(out, received{m: m, handle: m.handle, receives: m.receives, firstReceive: m.firstReceive})
	}
	// Back in only now: with a visibility of 0 a message must not come
	// twice in one answer.
	for _, r := range out {
		r.m.visibleAt = now.Add(visibility)
		heap.Push(&q.heap, r.m)
	}
	return out
}

// nextWake is when the earliest hidden message becomes visible, and the
// channel closed when a message arrives; ok is false when the queue is
// empty.
func (q *queue) nextWake() (at time.Time, arrived <-chan struct{}, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.heap) == 0 {
		return time.Time{}, q.arrived, false
	}
	return q.heap[0].visibleAt, q.arrived, true
}

// handleState is what a receipt handle refers to now.
type handleState int

const (
	handleCurrent handleState = iota // the message's last receive
	handleStale                      // the message was received again since
	handleGone                       // the message was deleted
	handleVisible                    // its last receive, but its visibility has run out
)

// lookupLocked finds the message of a well-formed handle of this queue.
func (q *queue) lookupLocked(h handle, raw string, now time.Time) (*message, handleState) {
	m := q.byID[h.seq]
	switch {
	case m == nil:
		return nil, handleGone
	case m.handle != raw:
		return m, handleStale
	case !m.visibleAt.After(now):
		return m, handleVisible
	}
	return m, handleCurrent
}

// remove deletes the message of the handle if the handle is its current
// one (in flight or not); a stale handle deletes nothing, as in SQS.
func (q *queue) remove(h handle, raw string, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, st := q.lookupLocked(h, raw, now)
	if st != handleCurrent && st != handleVisible {
		return
	}
	heap.Remove(&q.heap, m.index)
	delete(q.byID, m.seq)
}

// setVisibility hides the in-flight message of the handle for d from now
// (0: visible at once). It reports the handle's state when that is not
// handleCurrent.
func (q *queue) setVisibility(h handle, raw string, now time.Time, d time.Duration) handleState {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, st := q.lookupLocked(h, raw, now)
	if st != handleCurrent {
		return st
	}
	m.visibleAt = now.Add(d)
	heap.Fix(&q.heap, m.index)
	if d <= 0 {
		q.wakeLocked()
	}
	return handleCurrent
}

// counts is the queue's visible, in-flight and delayed messages. It scans
// the queue: only GetQueueAttributes needs it.
func (q *queue) counts(now time.Time) (visible, inFlight, delayed int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.heap {
		switch {
		case !m.visibleAt.After(now):
			visible++
		case m.receives > 0:
			inFlight++
		default:
			delayed++
		}
	}
	return visible, inFlight, delayed
}
