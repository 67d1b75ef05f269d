//go:build !js

package wsstream

import (
	"net"
	"sync"
	"syscall"
)

// output is the write side of a transport. Every byte coder/websocket
// writes goes through it, in order.
//
// Corking: while the Conn's writing goroutine sends a burst of messages,
// what coder/websocket flushes is gathered and handed on with one system
// call per corkSize bytes, instead of one per 4 KiB of coder's buffer
// (through which it masks a client's frames) plus one per frame header.
// Frames the read loop writes meanwhile (pongs, a close frame) are
// gathered behind, in order.
//
// Never blocking: where the connection gives access to its socket (TCP,
// not TLS), bytes are handed on with one non-blocking write; what the
// socket does not take is queued, and a flusher goroutine, which exists
// only while the queue is not empty, writes it out. So a Write can send
// from its own goroutine without ever blocking on the socket, and a pong
// never holds coder/websocket's write lock for long. The queue is bounded
// by queueLimit: past it, coder/websocket's writes wait for the flusher.
type output struct {
	conn net.Conn
	// raw is the socket, or nil when the connection has none to give
	// (TLS, wrapped connections): then bytes are written with blocking
	// writes, and never queued.
	raw syscall.RawConn

	mu      sync.Mutex // guards every field below; held while writing to raw
	corked  bool
	flusher bool    // a flusher goroutine runs; set while queued is not empty
	gather  *[]byte // bytes gathered while corked; from the pool, nil otherwise
	queued  *[]byte // bytes waiting for the flusher; from the pool, nil otherwise
	spare   *[]byte // the flusher's batch, reused
	err     error   // the first write error; every later write fails with it

	// try* are the arguments and results of tryFn, bound once so that a
	// non-blocking write does not allocate: tryHead, when set, goes
	// before tryBuf in the same system call. Guarded by mu.
	tryHead []byte
	tryBuf  []byte
	tryN    int
	tryErr  error
	tryFn   func(fd uintptr) bool

	// space tells a writer waiting for the queue that the flusher wrote a
	// batch (coder/websocket writes one frame at a time: one such writer
	// at most); idle that it exited, and a waitIdle that finds it so
	// passes that on to the next waiter. Their state is guarded by mu.
	space signal
	idle  signal

	// frames follows coder/websocket's frames, for sendFrame
	// (framewrite.go). Guarded by mu.
	frames outFrames
	// framed mirrors frames.on: set by startFrames before the Conn
	// starts, immutable after, read without mu.
	framed bool
}

// corkSize is how many corked bytes are gathered before they are handed
// on: two messages of DefaultMaxMessageSize with their headers fit.
const corkSize = 2*DefaultMaxMessageSize + 64

// queueLimit bounds the bytes waiting for the flusher before writers
// wait: a write budget and a few cork loads, or pongs to a ping flood.
const queueLimit = DefaultWriteBufferSize + 2*corkSize

func (o *output) init(nc net.Conn) {
	o.conn = nc
	if raw := socketOf(nc); raw != nil {
		o.raw = raw
		o.tryFn = o.tryOnce
	}
}

// write hands on p, which coder/websocket wrote, or gathers it while
// corked. It waits, before it changes anything, while the flusher's queue
// is full.
func (o *output) write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.waitRoomLocked()
	if err := o.writeLocked(p); err != nil {
		return 0, err
	}
	o.frames.follow(p)
	return len(p), nil
}

// waitRoomLocked waits, with o.mu held (it releases it meanwhile), until
// the flusher's queue has room or a write failed.
func (o *output) waitRoomLocked() {
	for o.flusher && len(*o.queued) >= queueLimit && o.err == nil {
		ch := o.space.wait()
		o.mu.Unlock()
		<-ch
		o.mu.Lock()
	}
}

// writeLocked hands p on, or gathers it while corked; o.mu must be held.
func (o *output) writeLocked(p []byte) error {
	if o.err != nil {
		return o.err
	}
	if o.corked {
		if len(*o.gather)+len(p) > corkSize {
			if err := o.handOnLocked(*o.gather); err != nil {
				return err
			}
			*o.gather = (*o.gather)[:0]
		}
		if len(p) < corkSize {
			*o.gather = append(*o.gather, p...)
			return nil
		}
	}
	return o.handOnLocked(p)
}

// handOnLocked sends p on its way, in order after everything before it:
// a blocking write without raw; otherwise one non-blocking write when
// nothing is queued, and the rest queued for the flusher. It never
// releases o.mu, which must be held; the queue may exceed queueLimit by
// what one call adds.
func (o *output) handOnLocked(p []byte) error {
	if len(p) == 0 || o.err != nil {
		return o.err
	}
	if o.raw == nil {
		_, o.err = o.conn.Write(p)
		return o.err
	}
	if o.flusher {
		*o.queued = append(*o.queued, p...)
		return nil
	}
	n, err := o.tryWriteLocked(nil, p)
	return o.handedLocked(nil, p, n, err)
}

// handOnPairLocked is handOnLocked for a frame whose header h and payload
// p lie apart, with one writev instead of a copy of p behind h. Only for
// a socket of its own (raw) with no flusher running.
func (o *output) handOnPairLocked(h, p []byte) error {
	if o.err != nil {
		return o.err
	}
	n, err := o.tryWriteLocked(h, p)
	return o.handedLocked(h, p, n, err)
}

// handedLocked takes the result of a non-blocking write of h and then p,
// of which the socket took n bytes: what it did not take is queued, and
// the flusher started.
func (o *output) handedLocked(h, p []byte, n int, err error) error {
	if err != nil {
		o.err = err
		return err
	}
	if n >= len(h)+len(p) {
		return nil
	}
	o.flusher = true
	o.queued = getBuf(queueLimit)
	q := (*o.queued)[:0]
	if n < len(h) {
		q, n = append(q, h[n:]...), len(h)
	}
	*o.queued = append(q, p[n-len(h):]...)
	go o.flush()
	return nil
}

// tryWriteLocked writes what the socket takes of h and then p at once,
// without blocking, and returns how many bytes it took. o.mu must be held.
func (o *output) tryWriteLocked(h, p []byte) (int, error) {
	o.tryHead, o.tryBuf, o.tryN, o.tryErr = h, p, 0, nil
	err := o.raw.Write(o.tryFn)
	o.tryHead, o.tryBuf = nil, nil // p may be a Write's buffer: keep none
	if err != nil {
		return 0, err
	}
	return o.tryN, o.tryErr
}

// tryOnce is tryFn: one write system call, whatever it does.
func (o *output) tryOnce(fd uintptr) bool {
	var n int
	var err error
	if o.tryHead != nil {
		n, err = rawWritev(fd, o.tryHead, o.tryBuf)
	} else {
		n, err = rawWrite(fd, o.tryBuf)
	}
	if err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR {
		n, err = 0, nil
	}
	o.tryN, o.tryErr = max(n, 0), err
	return true
}

// flush is the flusher: it writes the queue out, batch by batch, with
// blocking writes, until it is empty or a write fails.
func (o *output) flush() {
	o.mu.Lock()
	for len(*o.queued) > 0 && o.err == nil {
		batch := o.queued
		if o.spare == nil {
			o.spare = getBuf(queueLimit)
		}
		o.queued, o.spare = o.spare, nil
		*o.queued = (*o.queued)[:0]
		o.mu.Unlock()
		_, err := o.conn.Write(*batch)
		o.space.notify()
		o.mu.Lock()
		o.spare = batch
		if err != nil && o.err == nil {
			o.err = err
		}
	}
	o.flusher = false
	putBuf(o.queued)
	o.queued = nil
	if o.spare != nil {
		putBuf(o.spare)
		o.spare = nil
	}
	o.mu.Unlock()
	o.space.notify()
	o.idle.notify()
}

// cork starts gathering writes.
func (o *output) cork() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.corked = true
	if o.gather == nil {
		o.gather = getBuf(corkSize)
		*o.gather = (*o.gather)[:0]
	}
}

// uncork hands on what was gathered and stops gathering. It returns the
// first write error of the connection.
func (o *output) uncork() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.gather != nil {
		o.handOnLocked(*o.gather)
		putBuf(o.gather)
		o.gather = nil
	}
	o.corked = false
	return o.err
}
