package wsstream

import (
	"errors"
	"net"
	"time"

	"github.com/coder/websocket"
)

// Write writes p to the Conn. It returns once all of p is queued for the
// socket, or with an error saying why not, together with how many bytes
// were queued; those are sent, whole and in order. It blocks while the
// write buffer (Options.WriteBufferSize) is full, until the write deadline
// passes or the Conn ends. Concurrent Writes do not interleave.
//
// Its errors: [net.ErrClosed] after a local Close or CloseNow, which wins
// over every other reason; once the Conn has ended, the cause that Read
// and the events report (an error wrapping [ErrPeerClosed], also after a
// close with status 1000, [ErrTextMessage], [ErrKeepaliveTimeout] or
// [ErrConnectionLost]); [ErrWriteClosed] after [Conn.CloseWrite]; a
// timeout (see [Conn.SetWriteDeadline]).
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.takeWriting(false); err != nil {
		return 0, err
	}
	defer c.writing.release()
	if c.sendDirect(p) {
		return len(p), nil
	}

	// writeStop was asked just before the slot was taken; from here it is
	// asked again before every push but the first.
	n := 0
	for first := true; ; first = false {
		// Once every byte is queued, the Write has succeeded, whatever
		// happened to the Conn meanwhile (the bytes may even have been
		// sent from this goroutine).
		if n == len(p) {
			return n, nil
		}
		if !first {
			if err := c.writeStop(); err != nil {
				return n, err
			}
		}
		k, start := c.send.push(p[n:])
		n += k
		if start {
			c.startSending(len(p))
		}
		if k > 0 {
			continue
		}
		// Full, or a write failed and the end is being published.
		select {
		case <-c.send.spaceCh():
		case <-c.end.wait():
		case <-c.writeDeadline.wait():
		case <-c.closing.wait():
		}
	}
}

// takeWriting takes the writing slot, waiting for the Write in progress,
// if any, for a Write or, with closeWrite, for CloseWrite. Whatever wakes
// it, writeStop decides, in its order (a close that came while it waited
// comes first), before each try; a deadline moved meanwhile sends it back
// to waiting. CloseWrite does not wait for the write deadline, nor fail
// because it passed.
func (c *Conn) takeWriting(closeWrite bool) error {
	for waited := false; ; waited = true {
		err := c.writeStop()
		if closeWrite && errors.Is(err, errDeadline) {
			err = nil
		}
		if err != nil {
			if waited {
				c.writing.pass() // the wake-up it may have taken
			}
			return err
		}
		freed, ok := c.writing.take()
		if ok {
			return nil
		}
		var expired <-chan struct{}
		if !closeWrite {
			expired = c.writeDeadline.wait()
		}
		select {
		case <-freed:
		case <-c.closing.wait():
		case <-c.end.wait():
		case <-expired:
		}
	}
}

// writeStop says why Write must stop now, or returns nil. A local close
// comes first, then the end of the Conn, then the deadline.
func (c *Conn) writeStop() error {
	switch {
	case c.closing.isSet():
		return net.ErrClosed
	case c.end.done():
		return c.end.writeErr()
	case c.send.isWriteClosed():
		return ErrWriteClosed
	case c.writeDeadline.passed():
		return errDeadline
	}
	return nil
}

// sendDirect sends p as one message from the calling goroutine, past the
// send queue (no copy into it, none of its bookkeeping), where
// startSending would send it from this goroutine at once: the Conn frames
// its messages itself, p fits in one, nothing is queued or being sent,
// the output has no backlog, and p is not a small write to coalesce. It
// reports whether it did: p is then on the socket or in the output's
// queue, and no longer needed. The caller holds the writing slot.
func (c *Conn) sendDirect(p []byte) bool {
	if c.tr == nil || c.tr.out.raw == nil || !c.tr.out.framed || len(p) == 0 || len(p) > c.send.maxMsg {
		return false
	}
	if c.send.isRunning() {
		return false // a writer runs: a stream of writes, coalesced in the queue
	}
	if c.inBurst(len(p)) {
		return false
	}
	if !c.send.claim() {
		return false
	}
	sent, err := c.tr.out.sendNow(p)
	if !sent {
		// A backlog, or coder's turn to write (see sendNow): through the
		// queue.
		if !c.send.stopIfEmpty() {
			go c.writeLoop()
		}
		return false
	}
	c.sentInline(err)
	return true
}

// startSending sends what is queued, from the calling goroutine when the
// socket can take it without blocking (no hand-off: a request-response
// exchange costs no goroutine wake-up), and otherwise from a writer
// goroutine. The caller set the queue's running flag (push or closeWrite
// said start) and holds the writing slot, so that nothing else is queued
// meanwhile; size is how many bytes it writes.
//
// A small write that comes within coalesceWindow of the end of the last
// one sent this way, with no Read returning data in between, goes to the
// writer too: a stream of small writes is then gathered into few messages
// and system calls, as Nagle's algorithm would, while a request-response
// exchange never waits (on loopback the answer can arrive before the
// system call that sent the request returns, so the time between the two
// writes alone does not tell). The window counts from the end of the
// send, so that a system call slower than the window does not make every
// write of a stream a system call of its own.
func (c *Conn) startSending(size int) {
	if c.tr == nil || c.tr.out.raw == nil {
		go c.writeLoop()
		return
	}
	if c.inBurst(size) {
		c.lastInline.Store(time.Now().UnixNano()) // the burst goes on
		go c.writeLoop()
		return
	}
	c.tr.out.cork()
	var err error
	for err == nil && !c.tr.out.busy() {
		b := c.send.pop()
		if b == nil {
			break
		}
		err = c.sendOne(b)
	}
	if uerr := c.tr.out.uncork(); err == nil {
		err = uerr
	}
	c.sentInline(err)
}

// inBurst reports whether a write of size bytes is a small write of a
// stream, to gather in the writer goroutine (see startSending): under
// coalesceBelow, within coalesceWindow of the end of the last send from a
// writing goroutine, and with no Read returning data since.
func (c *Conn) inBurst(size int) bool {
	return size < coalesceBelow && !c.readSinceSend.Load() &&
		time.Now().UnixNano()-c.lastInline.Load() < int64(coalesceWindow)
}

// sentInline ends a send from a writing goroutine (startSending,
// sendDirect), once what it gathered is handed on: it leaves what is left
// to send, and a failure, to a writer goroutine.
func (c *Conn) sentInline(err error) {
	c.lastInline.Store(time.Now().UnixNano())
	c.readSinceSend.Store(false)
	if err != nil {
		// The writer handles the failure, and waits where this Write
		// must not.
		go func() {
			c.writeFailed(err)
			c.writeLoop() // finds the queue failed, and exits
		}()
		return
	}
	if c.send.stopIfEmpty() {
		return
	}
	// Buffers are left behind a slow socket (bytes wait for the
	// flusher), or the queue failed meanwhile: a writer goroutine takes
	// over (and exits at once after a failure).
	go c.writeLoop()
}

// writeLoop is the writer: it sends the queued buffers, one message each,
// until the queue has stayed empty for writerLinger or a write fails.
// While it sends, the transport is corked, so that the frames of a burst
// leave in few system calls.
func (c *Conn) writeLoop() {
	corked := false
	for {
		b := c.send.pop()
		if b == nil {
			if corked {
				corked = false
				if err := c.tr.out.uncork(); err != nil {
					c.writeFailed(err)
				}
			}
			if !c.send.linger(&c.closing) {
				return
			}
			continue
		}
		if c.tr != nil && !corked {
			c.tr.out.cork()
			corked = true
		}
		if err := c.sendOne(b); err != nil {
			c.writeFailed(err)
		}
	}
}

// sendOne sends b, which the queue's pop returned, as one message and
// gives it back. A failure is noted as the cause of the end before the
// queue fails, so that whoever finds the queue failed can tell why.
func (c *Conn) sendOne(b *[]byte) error {
	sent, err := false, error(nil)
	if c.tr != nil {
		// The Conn frames its messages itself where it can (a client's
		// buffer is masked in place: it is the queue's, not the caller's).
		sent, err = c.tr.out.sendFrame(*b, true)
	}
	if !sent {
		err = c.ws.Write(c.ctx, websocket.MessageBinary, *b)
	}
	if err != nil {
		c.end.fail(connectionLostError(err))
	}
	c.send.sent(b, err == nil)
	return err
}

// writeFailed handles a failed write: the queue refuses data from now on,
// and the failure becomes the cause of the end unless the read loop finds
// a better one (the peer's close frame, which may be what made the write
// fail). The read loop publishes the end once it notices; if it has not
// within CloseTimeout, or a local Close begins, the connection is
// dropped.
func (c *Conn) writeFailed(err error) {
	c.end.fail(connectionLostError(err)) // before the queue fails: see sendOne
	c.send.fail()
	t := time.NewTimer(c.opts.CloseTimeout)
	defer t.Stop()
	select {
	case <-c.end.wait():
	case <-c.closing.wait(): // Close drops the connection itself
	case <-t.C:
		c.abort()
	}
}
