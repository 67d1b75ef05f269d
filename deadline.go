package wsstream

import (
	"sync"
	"time"
)

// deadline is an abortable deadline, modelled on the pipeDeadline of Go's
// net/pipe.go. It is state plus a channel: the channel returned by wait is
// closed when the deadline passes, and stays the same channel while the
// deadline is moved within the future, so a goroutine blocked on it sees
// the new time without being woken. Moving the deadline into the past
// closes the channel at once; clearing it or moving it into the future
// after it has passed installs a fresh channel.
//
// A deadline never touches the connection below: when it passes, blocked
// calls return and nothing else happens.
//
// The channel is made on first use (wait, or a deadline set), not with the
// deadline: most Conns never set one, and never wait on one.
type deadline struct {
	mu sync.Mutex // guards at, timer, armed and cancelCh

	// at is the deadline; zero when none.
	at time.Time

	// timer closes cancelCh when the deadline passes. It is created on the
	// first future deadline and reused afterwards.
	timer *time.Timer
	// armed reports that timer is scheduled and its callback has not been
	// stopped. While armed, cancelCh is open and only the callback closes
	// it, so the callback may read cancelCh without the lock.
	armed bool
	// cancelCh is closed when the deadline has passed; nil until wait or
	// set first needs it (a nil cancelCh is an open one).
	cancelCh chan struct{}
}

func makeDeadline() deadline {
	return deadline{}
}

// set sets the deadline. A zero t clears it; a t in the past makes it pass
// now.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()

	d.disarm()
	d.at = t

	passed := d.cancelCh != nil && isClosed(d.cancelCh)
	if d.cancelCh == nil && !t.IsZero() {
		d.cancelCh = make(chan struct{})
	}
	if t.IsZero() {
		if passed {
			d.cancelCh = make(chan struct{})
		}
		return
	}

	if dur := time.Until(t); dur > 0 {
		if passed {
			d.cancelCh = make(chan struct{})
		}
		if d.timer == nil {
			d.timer = time.AfterFunc(dur, d.fire)
		} else {
			d.timer.Reset(dur)
		}
		d.armed = true
		return
	}

	if !passed {
		close(d.cancelCh)
	}
}

// fire is the timer's callback. It runs without the lock: set holds the
// lock while it waits for fire to finish (see disarm).
func (d *deadline) fire() {
	close(d.cancelCh)
}

// disarm stops the timer. If the callback has already started, it waits
// for it to close cancelCh. d.mu must be held.
func (d *deadline) disarm() {
	if !d.armed {
		return
	}
	d.armed = false
	if !d.timer.Stop() {
		<-d.cancelCh
	}
}

// wait returns a channel that is closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancelCh == nil {
		d.cancelCh = make(chan struct{})
	}
	return d.cancelCh
}

// passed reports whether the deadline has passed.
func (d *deadline) passed() bool {
	d.mu.Lock()
	ch := d.cancelCh
	d.mu.Unlock()
	return ch != nil && isClosed(ch)
}

// stop releases the timer, leaving the deadline's channel as it is. The
// deadline stays usable.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.disarm()
}
