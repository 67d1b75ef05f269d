//go:build !js

package wsstream

import "time"

// Waiting for the output: whether bytes wait for the socket or for the
// peer, and, at the end, for the flusher to exit (output.go).

// busy reports whether bytes wait for the socket in the flusher's queue.
func (o *output) busy() bool {
	if o.raw == nil {
		return false // no flusher without a socket; do not wait for a write
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flusher
}

// stuckBacklog is how many unacknowledged bytes in the kernel's send
// buffer make the output count as backlogged: the peer is not reading (a
// healthy, reading peer acknowledges far less in flight on an idle link).
const stuckBacklog = DefaultWriteBufferSize

// backlogged reports whether written bytes wait for the peer to read
// them: in the output's queue, or, where the system tells, at least
// stuckBacklog bytes in the kernel's send buffer. Keepalive does not ping
// then, as a ping would wait behind them.
func (o *output) backlogged() bool {
	if o.busy() {
		return true
	}
	if o.raw == nil {
		return false
	}
	n := 0
	o.raw.Control(func(fd uintptr) { n = kernelUnsent(fd) })
	return n >= stuckBacklog
}

// waitIdle waits until no flusher runs, or timeoutCh fires (nil: no
// timeout). It reports whether no flusher runs.
func (o *output) waitIdle(timeoutCh <-chan time.Time) bool {
	for {
		ch, busy := o.idleWait()
		if !busy {
			return true
		}
		select {
		case <-ch:
			// Close's flush and the transport's drain can wait at once:
			// the one notification must reach both.
			if !o.busy() {
				o.idle.notify()
			}
		case <-timeoutCh:
			return !o.busy()
		}
	}
}

// idleWait reports whether a flusher runs and, if one does, returns the
// channel its exit is told on.
func (o *output) idleWait() (<-chan struct{}, bool) {
	if o.raw == nil {
		return nil, false // see busy
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.flusher {
		return nil, false
	}
	return o.idle.wait(), true
}

// drain writes out what is gathered or queued within timeout, for Close.
// The write deadline comes first, so that a write in progress ends within
// timeout even when the socket is stuck (without a socket of its own the
// output writes under mu, blocking), and mu comes free: drain waits for
// it rather than give up, as it once did, when another write held mu for
// a moment, which cut the stream short of the close frame.
func (o *output) drain(timeout time.Duration) {
	o.conn.SetWriteDeadline(time.Now().Add(timeout))
	o.mu.Lock()
	if o.gather != nil && len(*o.gather) > 0 {
		o.handOnLocked(*o.gather)
		*o.gather = (*o.gather)[:0]
	}
	o.mu.Unlock()
	o.waitIdle(nil) // the write deadline ends the flusher's last write
}
