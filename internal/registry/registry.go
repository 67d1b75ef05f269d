// Package registry fans events out to subscribers, in the manner of Rust's
// pharos crate: a publisher never blocks on a subscriber. A bounded
// subscriber that falls behind loses events (counted); an unbounded one
// accumulates a backlog in memory.
package registry

import (
	"sync"
	"sync/atomic"
)

// defaultBuffer is the number of slots a subscriber gets when
// Config.Buffer is 0. It is also the capacity of the channel between
// an unbounded subscriber's queue and its consumer.
const defaultBuffer = 64

// maxSpare bounds the capacity of the queue an unbounded subscriber keeps
// for reuse, so that one burst does not pin its memory forever.
const maxSpare = 1024

// Registry fans events out to subscribers, in the manner of Rust's pharos
// crate. Use New; the zero value is not usable.
//
// All methods are safe for concurrent use. Publish never blocks on a
// subscriber: a bounded subscriber that falls behind loses events, and an
// unbounded one accumulates a backlog in memory.
type Registry[E any] struct {
	clone func(E) E // nil means events are delivered as published

	// n mirrors len(subs) so that Len need not take mu.
	n atomic.Int64

	// mu guards subs, closed, final and the per-subscriber fields documented
	// as such in Sub. It also serialises every send on a bounded
	// subscriber's channel and every close of a subscriber's channel that is
	// not done by its forwarder.
	mu     sync.Mutex
	subs   []*Sub[E] // live subscribers; subs[i].idx == i
	closed bool
	final  E // valid once closed
}

// New returns an open registry with no subscribers.
//
// If clone is non-nil it is called, from the publishing goroutine and under
// the registry's lock, once for every event delivered to every subscriber
// (including the final event), so that no two subscribers share a payload.
// It is not called for events a subscriber filters out or drops, and it must
// not call any method of the registry or of a Sub (doing so deadlocks). If
// clone is nil every subscriber receives the value passed to Publish or Close.
func New[E any](clone func(E) E) *Registry[E] {
	return &Registry[E]{clone: clone}
}

// Config configures a subscription.
type Config[E any] struct {
	// Filter, if non-nil, selects the published events the subscriber
	// receives. It is called once per published event from the publishing
	// goroutine while the registry's lock is held, so it may keep state
	// without further locking, must be fast, and must not call any method of
	// the registry or of any Sub (doing so deadlocks). It is not consulted
	// for the final event passed to Close.
	Filter func(E) bool

	// Buffer selects the delivery mode:
	//   > 0: bounded with Buffer slots. When they are all occupied, a newly
	//        published event is dropped for this subscriber and counted by
	//        Sub.Dropped; events already buffered are kept.
	//   = 0: bounded with 64 slots.
	//   < 0: unbounded. Nothing is ever dropped; the backlog of a slow
	//        consumer grows in memory without limit, and a goroutine exists
	//        while the backlog is non-empty.
	Buffer int
}

// Sub is one subscription to a Registry. Obtain it from Registry.Subscribe.
type Sub[E any] struct {
	reg     *Registry[E]
	filter  func(E) bool
	buffer  int // > 0: bounded with that many slots; < 0: unbounded
	dropped atomic.Uint64

	// eventsCh carries events to the consumer. A bounded subscriber's
	// channel has capacity buffer+1; the extra slot is reserved for the
	// final event.
	eventsCh chan E
	// doneCh is closed by Unsubscribe to stop the forwarder; nil if bounded.
	doneCh chan struct{}

	// The fields below are guarded by reg.mu.
	idx          int  // index in reg.subs, or -1 if not live
	unsubscribed bool // Unsubscribe has been called
	chClosed     bool // eventsCh is closed or its closing is committed to
	// Unbounded only:
	queue       []E  // backlog not yet handed to the forwarder
	spare       []E  // drained batch kept for reuse as the next queue
	forwarding  bool // a forwarder goroutine owns sends on eventsCh
	finalQueued bool // the final event is in queue; close eventsCh after it
}

// Subscribe registers a new subscriber. It receives, in publish order, the
// events published after Subscribe returns that pass cfg.Filter, followed by
// the final event passed to Close, after which its channel is closed.
//
// If the registry is already closed, the returned Sub's channel yields the
// final event once and is closed.
func (r *Registry[E]) Subscribe(cfg Config[E]) *Sub[E] {
	s := &Sub[E]{reg: r, filter: cfg.Filter, buffer: cfg.Buffer, idx: -1}
	switch {
	case s.buffer == 0:
		s.buffer = defaultBuffer
	case s.buffer < 0:
		s.doneCh = make(chan struct{})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		s.eventsCh = make(chan E, 1)
		s.eventsCh <- r.cloneEvent(r.final)
		close(s.eventsCh)
		s.chClosed = true
		return s
	}
	if s.buffer > 0 {
		s.eventsCh = make(chan E, s.buffer+1)
	} else {
		s.eventsCh = make(chan E, defaultBuffer)
	}
	s.idx = len(r.subs)
	r.subs = append(r.subs, s)
	r.n.Store(int64(len(r.subs)))
	return s
}

// Publish delivers e to every live subscriber whose filter accepts it. It
// never blocks on a subscriber and takes time proportional to the number of
// subscribers. Publish after Close does nothing.
func (r *Registry[E]) Publish(e E) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	for _, s := range r.subs {
		if s.filter != nil && !s.filter(e) {
			continue
		}
		if s.buffer < 0 {
			s.enqueue(r.cloneEvent(e))
		} else if len(s.eventsCh) < s.buffer {
			// Only publishers send, under mu, so this cannot block.
			s.eventsCh <- r.cloneEvent(e)
		} else {
			s.dropped.Add(1)
		}
	}
}

// Close closes the registry. Every live subscriber receives final, regardless
// of its filter and even if its bounded buffer is full, after the events
// already delivered to it; its channel is then closed. Subscribers that
// subscribe later receive final alone.
//
// Close is idempotent: calls after the first do nothing, and in particular do
// not change the final event.
func (r *Registry[E]) Close(final E) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	r.final = final
	for _, s := range r.subs {
		s.idx = -1
		if s.buffer < 0 {
			s.finalQueued = true
			s.enqueue(r.cloneEvent(final))
			continue
		}
		// len(eventsCh) <= buffer, so the reserved slot is free.
		s.eventsCh <- r.cloneEvent(final)
		close(s.eventsCh)
		s.chClosed = true
	}
	clear(r.subs)
	r.subs = nil
	r.n.Store(0)
}

// Len reports the number of live subscribers: those subscribed, not
// unsubscribed, and not yet closed by Close. It does not take the registry's
// lock, so a publisher can use it cheaply to skip building events nobody
// will receive; the answer may be stale by the time it is used.
func (r *Registry[E]) Len() int {
	return int(r.n.Load())
}

// cloneEvent returns the copy of e to deliver to one subscriber.
func (r *Registry[E]) cloneEvent(e E) E {
	if r.clone == nil {
		return e
	}
	return r.clone(e)
}

// Events returns the channel on which the subscriber's events arrive. It is
// closed after the final event, or by Unsubscribe.
func (s *Sub[E]) Events() <-chan E {
	return s.eventsCh
}

// Unsubscribe ends the subscription: no further events are delivered, events
// still buffered are discarded, and the channel returned by Events is closed
// before Unsubscribe returns, so a range loop over it ends at its next
// iteration. A consumer receiving concurrently from another goroutine may
// still receive some buffered events while Unsubscribe runs.
//
// Unsubscribe is idempotent and may be called from any goroutine, including
// the one ranging over Events, and after Close. It must not be called from a
// filter.
func (s *Sub[E]) Unsubscribe() {
	r := s.reg
	r.mu.Lock()
	if !s.unsubscribed {
		s.unsubscribed = true
		if s.idx >= 0 {
			last := r.subs[len(r.subs)-1]
			r.subs[s.idx], last.idx = last, s.idx
			r.subs[len(r.subs)-1] = nil
			r.subs = r.subs[:len(r.subs)-1]
			r.n.Store(int64(len(r.subs)))
			s.idx = -1
		}
		clear(s.queue)
		s.queue, s.spare = nil, nil
		if s.doneCh != nil {
			close(s.doneCh)
		}
		// A running forwarder closes eventsCh itself once it sees doneCh.
		if !s.chClosed && !s.forwarding {
			close(s.eventsCh)
			s.chClosed = true
		}
	}
	r.mu.Unlock()
	// Discard what is buffered; this ends when eventsCh is closed, which
	// the forwarder, if any, does promptly because doneCh is closed.
	for range s.eventsCh {
	}
}

// Dropped reports how many events have been dropped for this subscriber
// because its bounded buffer was full. It is always 0 for unbounded
// subscribers.
func (s *Sub[E]) Dropped() uint64 {
	return s.dropped.Load()
}

// enqueue appends e to an unbounded subscriber's backlog and starts a
// forwarder if none is running. The caller holds reg.mu.
func (s *Sub[E]) enqueue(e E) {
	s.queue = append(s.queue, e)
	if !s.forwarding {
		s.forwarding = true
		go s.forward()
	}
}

// forward moves an unbounded subscriber's backlog to eventsCh, one batch at a
// time. It exits when the backlog is empty or the subscriber unsubscribes,
// closing eventsCh if the final event was delivered or on unsubscription.
func (s *Sub[E]) forward() {
	r := s.reg
	var batch []E
	for {
		r.mu.Lock()
		if batch != nil && !s.unsubscribed && cap(batch) <= maxSpare {
			clear(batch)
			s.spare = batch[:0]
		}
		if s.unsubscribed || len(s.queue) == 0 {
			s.forwarding = false
			closeCh := s.unsubscribed || s.finalQueued
			s.chClosed = s.chClosed || closeCh
			r.mu.Unlock()
			if closeCh {
				close(s.eventsCh)
			}
			return
		}
		batch, s.queue, s.spare = s.queue, s.spare, nil
		r.mu.Unlock()
	send:
		for _, e := range batch {
			select {
			case s.eventsCh <- e:
			case <-s.doneCh:
				break send
			}
		}
	}
}
