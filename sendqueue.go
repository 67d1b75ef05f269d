package wsstream

import (
	"sync"
	"sync/atomic"
	"time"
)

// sendQueue is the send half of a Conn: the bytes Write accepted that are
// not on the socket yet, as buffers of at most maxMsg bytes, each sent as
// one message. Only the last buffer grows, so small writes that arrive
// while earlier ones wait for the socket are coalesced.
//
// A writer goroutine (Conn.writeLoop) exists only while there is data to
// send and for writerLinger after, so that a request-response exchange
// reuses one writer instead of starting one per message.
type sendQueue struct {
	maxMsg int // largest buffer; immutable
	limit  int // most bytes queued at once; immutable

	mu    sync.Mutex // guards bufs, bytes, failed, and changes to running
	bufs  []*[]byte  // waiting for the socket, oldest first
	bytes int        // bytes in bufs plus the buffer being sent
	// running is set while a sender exists: a writer goroutine, or a Write
	// sending from its own goroutine. Whoever sets it starts the sender;
	// only the sender clears it (linger, stopIfEmpty), then notifies
	// exitCh. It changes under mu, and may be read without it.
	running atomic.Bool
	// failed is set when a write failed: nothing more is sent, and
	// queued bytes are dropped.
	failed bool
	// writeClosed is set by closeWrite: the end-of-stream marker is
	// queued and push takes nothing more.
	writeClosed bool

	// space tells a waiting Write that room was freed (made by the push
	// that finds the queue full); wake tells a lingering writer that data
	// was queued; exit tells Close that the sender exited. Their state is
	// guarded by mu.
	space signal
	wake  signal
	exit  signal
	// lingerTimer bounds the writer's wait for more data; only the
	// writer uses it.
	lingerTimer *time.Timer
}

func newSendQueue(maxMsg, limit int) *sendQueue {
	return &sendQueue{maxMsg: maxMsg, limit: limit}
}

// Small writes (under coalesceBelow bytes) that come within coalesceWindow
// of the end of the last send from a writing goroutine are gathered by the
// writer goroutine rather than sent one by one (see Conn.startSending).
const (
	coalesceBelow  = 2 << 10
	coalesceWindow = 5 * time.Microsecond
)

// writerLinger is how long the writer waits for more data before it
// exits: a few round trips on a fast network.
const writerLinger = 100 * time.Microsecond

// push queues as much of p as there is room for. It reports how many
// bytes it took and whether the caller must start a writer (running was
// clear; push set it). It takes nothing once the queue has failed.
func (q *sendQueue) push(p []byte) (n int, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failed || q.writeClosed {
		return 0, false
	}
	room := q.limit - q.bytes
	for n < len(p) && room > 0 {
		var b *[]byte
		if k := len(q.bufs); k > 0 && len(*q.bufs[k-1]) < q.maxMsg {
			b = q.bufs[k-1]
		} else {
			b = getBuf(q.maxMsg)
			*b = (*b)[:0]
			q.bufs = append(q.bufs, b)
		}
		k := min(len(p)-n, q.maxMsg-len(*b), room)
		*b = append(*b, p[n:n+k]...)
		n += k
		room -= k
	}
	q.bytes += n
	if n > 0 {
		start = !q.running.Load()
		q.running.Store(true)
		if !start {
			q.wake.notify()
		}
	} else if room <= 0 {
		q.space.wait() // the Write waits on spaceCh
	}
	return n, start
}

// claim sets running, for a Write that sends its data past the queue
// (Conn.sendDirect), when no sender exists, nothing is queued, and the
// queue has neither failed nor been closed for writing. It reports
// whether it did; the claimer clears running with stopIfEmpty.
func (q *sendQueue) claim() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running.Load() || len(q.bufs) > 0 || q.failed || q.writeClosed {
		return false
	}
	q.running.Store(true)
	return true
}

// eofMarker is queued by closeWrite: an empty message, the end of the
// stream under the half-close extension. It never goes to the pool.
var eofMarker = new([]byte)

// closeWrite queues the end-of-stream marker after the data already
// queued, once, and reports whether the caller must start a writer.
func (q *sendQueue) closeWrite() (start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failed || q.writeClosed {
		return false
	}
	q.writeClosed = true
	q.bufs = append(q.bufs, eofMarker)
	start = !q.running.Load()
	q.running.Store(true)
	if !start {
		q.wake.notify()
	}
	return start
}

// isWriteClosed reports whether closeWrite was called.
func (q *sendQueue) isWriteClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.writeClosed
}

// pop takes the oldest buffer for the writer, or returns nil when there is
// none or the queue has failed.
func (q *sendQueue) pop() *[]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.bufs) == 0 || q.failed {
		return nil
	}
	b := q.bufs[0]
	copy(q.bufs, q.bufs[1:])
	q.bufs[len(q.bufs)-1] = nil
	q.bufs = q.bufs[:len(q.bufs)-1]
	return b
}

// sent records that the writer is done with b, which pop returned: on
// the socket if ok, and otherwise the queue fails and drops the rest (the
// caller notes why first: see Conn.sendOne).
func (q *sendQueue) sent(b *[]byte, ok bool) {
	q.mu.Lock()
	q.bytes -= len(*b)
	if b != eofMarker {
		putBuf(b)
	}
	if !ok {
		q.failLocked()
	}
	q.mu.Unlock()
	q.space.notify()
}

// fail makes the queue refuse data and drops what it holds.
func (q *sendQueue) fail() {
	q.mu.Lock()
	q.failLocked()
	q.mu.Unlock()
	q.space.notify()
}

func (q *sendQueue) failLocked() {
	q.failed = true
	for i, b := range q.bufs {
		q.bytes -= len(*b)
		if b != eofMarker {
			putBuf(b)
		}
		q.bufs[i] = nil
	}
	q.bufs = q.bufs[:0]
}

// linger waits up to writerLinger for more data, unless the queue has
// failed or stop is set. It reports whether there is more to send;
// when it reports false it has cleared running, and the writer must exit.
func (q *sendQueue) linger(stop *latch) bool {
	q.mu.Lock()
	wait := len(q.bufs) == 0 && !q.failed
	wakeCh := q.wake.wait()
	q.mu.Unlock()
	if wait && !stop.isSet() {
		if q.lingerTimer == nil {
			q.lingerTimer = time.NewTimer(writerLinger)
		} else {
			q.lingerTimer.Reset(writerLinger)
		}
		select {
		case <-wakeCh:
		case <-q.lingerTimer.C:
		case <-stop.wait():
		}
		q.lingerTimer.Stop()
	}
	q.mu.Lock()
	more := len(q.bufs) > 0 && !q.failed
	if !more {
		q.running.Store(false)
	}
	q.mu.Unlock()
	if !more {
		q.exit.notify()
	}
	return more
}

// stopIfEmpty clears running and reports true when nothing is queued;
// otherwise it reports false and the caller must start a writer.
func (q *sendQueue) stopIfEmpty() bool {
	q.mu.Lock()
	stop := len(q.bufs) == 0 && !q.failed
	if stop {
		q.running.Store(false)
	}
	q.mu.Unlock()
	if stop {
		q.exit.notify() // a Close may be waiting in waitExit
	}
	return stop
}

// isRunning reports whether a sender (a writer goroutine or a Write sending
// from its own goroutine) exists.
func (q *sendQueue) isRunning() bool {
	return q.running.Load()
}

// hasFailed reports whether a write failed.
func (q *sendQueue) hasFailed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failed
}

// waitExit waits until no writer runs, or timeoutCh closes or fires. It
// reports whether no writer runs.
func (q *sendQueue) waitExit(timeoutCh <-chan time.Time) bool {
	for {
		q.mu.Lock()
		running := q.running.Load()
		var exitCh <-chan struct{}
		if running {
			exitCh = q.exit.wait()
		}
		q.mu.Unlock()
		if !running {
			return true
		}
		select {
		case <-exitCh:
		case <-timeoutCh:
			return !q.isRunning()
		}
	}
}

// spaceCh returns the channel a Write whose push took nothing waits on for
// room: made by that push when it found the queue full, nil when it took
// nothing for another reason (the queue failed: the Conn is ending).
func (q *sendQueue) spaceCh() <-chan struct{} {
	return q.space.made()
}
