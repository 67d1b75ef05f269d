package wsstream

import "sync/atomic"

// Channels that carry "something changed, look again" between the
// goroutines of a Conn.

// isClosed reports whether ch is closed; a nil ch never is.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// notify wakes the goroutine waiting on ch, if any, without blocking. ch
// must have a buffer of one: a notification sent while nobody waits is
// kept for the next waiter.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// signal is a notification channel with a buffer of one, made by the first
// goroutine that waits on it: most Conns never wait for room in a full
// queue or for a writer to exit, and a channel is 96 bytes.
//
// The state a signal tells about is guarded by a lock of its owner. A
// waiter calls wait in the critical section that finds it must wait, and
// waits on the channel once it has released the lock; a notifier changes
// the state under the lock and calls notify after (or under it). Then
// either the waiter's critical section came first, and notify sees its
// channel, or the notifier's did, and the waiter sees the change and does
// not wait. A notification with no channel yet is dropped: nobody waits.
type signal struct {
	ch atomic.Pointer[chan struct{}]
}

// wait returns the channel to wait on, made on the first call. It is
// called with the owner's lock held (see signal).
func (s *signal) wait() <-chan struct{} {
	s.ensure()
	return *s.ch.Load()
}

// ensure makes the channel if nobody has; any goroutine may call it,
// without the owner's lock. For a waiter that does not wait under that
// lock: it takes made before it looks at the state, and waits on that
// channel only if it was there; otherwise it calls ensure and looks
// again, so that a change whose notification came before the channel
// existed is seen by that second look.
func (s *signal) ensure() {
	if s.ch.Load() == nil {
		ch := make(chan struct{}, 1)
		s.ch.CompareAndSwap(nil, &ch)
	}
}

// made returns the channel if a waiter made it, nil otherwise.
func (s *signal) made() <-chan struct{} {
	if p := s.ch.Load(); p != nil {
		return *p
	}
	return nil
}

// notify wakes the waiter, if a waiter made the channel; see notify.
func (s *signal) notify() {
	if p := s.ch.Load(); p != nil {
		notify(*p)
	}
}

// closedCh is a closed channel, the one a latch set before anyone waited
// holds.
var closedCh = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// latch is a channel closed once, to tell every goroutine that something
// happened for good (a Conn's close began, it was aborted, it finished).
// The channel is made by the first goroutine that waits on it, or by set:
// most Conns end without anyone waiting on these, and an idle Conn holds
// none of them (a channel is 96 bytes, 112 with its size class).
type latch struct {
	ch atomic.Pointer[chan struct{}]
}

// wait returns the channel that is closed once the latch is set, made on
// the first call. Any goroutine may call it.
func (l *latch) wait() <-chan struct{} {
	if p := l.ch.Load(); p != nil {
		return *p
	}
	ch := make(chan struct{})
	if l.ch.CompareAndSwap(nil, &ch) {
		return ch
	}
	return *l.ch.Load() // another wait, or set, came first
}

// made returns the channel if wait or set made it, nil otherwise, for a
// select that does not wait: a latch not made is not set.
func (l *latch) made() <-chan struct{} {
	if p := l.ch.Load(); p != nil {
		return *p
	}
	return nil
}

// set closes the channel, or, when nobody has waited, puts a closed one
// in its place. It must be called once.
func (l *latch) set() {
	if !l.ch.CompareAndSwap(nil, &closedCh) {
		close(*l.ch.Load())
	}
}

// isSet reports whether set was called.
func (l *latch) isSet() bool {
	p := l.ch.Load()
	return p != nil && (p == &closedCh || isClosed(*p))
}

// slot is a lock that a waiter may stop waiting for: it waits on the
// channel take returns together with whatever else ends its wait (a
// deadline, Close). The channel, with a buffer of one, is made by the
// first goroutine that finds the slot held: most Conns never see two
// Writes at once, and an idle one holds no such channel.
//
// A release notifies the channel; a waiter woken by it tries to take the
// slot again (another may have come first: it waits again). A waiter that
// stops waiting after a wake-up from the channel, without taking the slot,
// calls pass, so that another waiter is not left asleep while the slot is
// free.
type slot struct {
	held  atomic.Bool
	freed signal // notified on release, made as signal.ensure says
}

// tryTake takes the slot if it is free, and never makes the channel.
func (s *slot) tryTake() bool {
	return s.held.CompareAndSwap(false, true)
}

// take takes the slot if it is free; otherwise it returns the channel to
// wait on before trying again.
func (s *slot) take() (<-chan struct{}, bool) {
	if s.tryTake() {
		return nil, true
	}
	s.freed.ensure()
	// Look again once the channel is there: a release this look misses
	// comes after it, and so finds the channel to notify.
	if s.tryTake() {
		return nil, true
	}
	return s.freed.made(), false
}

// release gives the slot up and wakes a waiter, if any.
func (s *slot) release() {
	s.held.Store(false)
	s.pass()
}

// pass wakes a waiter, if the channel was made.
func (s *slot) pass() { s.freed.notify() }
