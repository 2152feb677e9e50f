package consumer

import (
	"fmt"
	"sync"
)

// Slots is a consumer's share of a pool of job slots: one slot per message
// held, from the receive that asks for it until its job ends. A consumer on
// its own has a pool of Concurrency slots; the two consumers of Lanes share
// one pool.
type Slots struct {
	pool  *slotPool
	limit int           // the most this share may hold
	batch int           // the most one receive may ask for
	held  int           // slots this share holds (under pool.mu)
	freed chan struct{} // a slot of the pool came free
}

type slotPool struct {
	mu     sync.Mutex
	size   int
	held   int
	shares []*Slots
}

func newPool(size int, limits ...int) []*Slots {
	p := &slotPool{size: size}
	for _, l := range limits {
		p.shares = append(p.shares, &Slots{pool: p, limit: l, batch: maxBatch, freed: make(chan struct{}, 1)})
	}
	return p.shares
}

// newSlots is a pool of n slots for one consumer.
func newSlots(n int) *Slots { return newPool(n, n)[0] }

// Cap is the most this share may hold.
func (s *Slots) Cap() int { return s.limit }

// take takes one slot if the share and the pool have room.
func (s *Slots) take() bool {
	p := s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.held >= s.limit || p.held >= p.size {
		return false
	}
	s.held++
	p.held++
	return true
}

// give gives n slots back and wakes every share's waiting receiver.
func (s *Slots) give(n int) {
	if n <= 0 {
		return
	}
	p := s.pool
	p.mu.Lock()
	s.held -= n
	p.held -= n
	p.mu.Unlock()
	for _, sh := range p.shares {
		select {
		case sh.freed <- struct{}{}:
		default:
		}
	}
}

// heldNow is how many slots this share holds.
func (s *Slots) heldNow() int {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	return s.held
}

// room is how many more slots this share could take now.
func (s *Slots) room() int {
	p := s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(min(s.limit-s.held, p.size-p.held), 0)
}

// Lanes is one pool of job slots shared by two consumers: an interactive one
// (jobs a person waits for) and a bulk one (replays, backfills). The
// interactive consumer may hold every slot; the bulk one all but Reserve,
// which keeps slots free for interactive receives however much bulk work is
// held: the interactive queue always has a long poll open, and a job that
// arrives on it starts at once. Up to Reserve interactive jobs run beside a
// full bulk share; more take slots as bulk jobs end (a bulk job is never
// preempted: it holds its slot until its Cognito call is answered). An
// interactive receive asks for at most Reserve messages, so that an idle
// interactive long poll holds no more than the reserve: the bulk lane keeps
// the rest of the pool.
//
// The slots bound what is held; the Cognito rate is shared by
// ratelimit.Priority, which lets an interactive job's call go first.
type Lanes struct {
	Interactive *Slots // Config.Slots of the interactive consumer
	Bulk        *Slots // Config.Slots of the bulk consumer
	Reserve     int
}

// DefaultReserve is the interactive reserve for a pool of concurrency slots:
// an eighth, at least 1 and at most a receive's batch of 10.
func DefaultReserve(concurrency int) int { return min(max(concurrency/8, 1), maxBatch) }

// NewLanes splits concurrency slots between the lanes, keeping reserve (0:
// DefaultReserve) for the interactive lane alone. The bulk lane needs at
// least one slot: concurrency must exceed the reserve.
func NewLanes(concurrency, reserve int) (*Lanes, error) {
	if reserve <= 0 {
		reserve = DefaultReserve(concurrency)
	}
	if concurrency <= reserve {
		return nil, fmt.Errorf("consumer: %d slots leave none for the bulk lane beside an interactive reserve of %d", concurrency, reserve)
	}
	s := newPool(concurrency, concurrency, concurrency-reserve)
	s[0].batch = reserve
	return &Lanes{Interactive: s[0], Bulk: s[1], Reserve: reserve}, nil
}
