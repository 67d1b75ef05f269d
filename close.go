package wsstream

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/coder/websocket"
)

// Close closes the Conn with status 1000 (normal closure). See
// [Conn.CloseWithStatus].
func (c *Conn) Close() error {
	return c.CloseWithStatus(websocket.StatusNormalClosure, "")
}

// CloseWithStatus closes the Conn with a WebSocket close handshake,
// sending code and reason (at most 123 bytes) in the close frame.
//
// Read and Write, pending or future, fail with [net.ErrClosed] as soon as
// CloseWithStatus begins. It then waits until every byte already accepted
// by Write is on the socket, sends the close frame, and waits for the
// peer's close frame while the read loop discards incoming data. A client
// then waits for the server to close TCP; a server closes it. All of this
// is bounded by Options.CloseTimeout, and deadlines play no part: when it
// passes, the TCP connection is dropped and the returned error wraps
// [ErrCloseTimeout]. [Conn.CloseNow], from any goroutine, cuts it short.
//
// CloseWithStatus returns nil when the handshake completed, also when the
// peer started it, and when the Conn had already ended because the peer
// closed it. When the connection fails before the handshake completes
// (the peer resets it while written bytes are still leaving, say), the
// error is the one Read and Write report: it wraps [ErrConnectionLost],
// or [ErrKeepaliveTimeout] when keepalive gave up first. It returns once
// every goroutine of the Conn has exited. Calling it again, or calling
// Close, waits for the first call to finish and returns nil.
//
// A code that cannot be sent in a close frame (1004, 1005, 1006, 1015,
// or outside 1000-1014 and 3000-4999) or a reason over 123 bytes is a
// programming error: CloseWithStatus then returns an error and leaves the
// Conn open. In a browser (GOOS=js) only 1000 and 3000-4999 can be sent:
// any other code is refused in the same way.
func (c *Conn) CloseWithStatus(code websocket.StatusCode, reason string) error {
	if err := checkCloseCode(code); err != nil {
		return err
	}
	if len(reason) > maxCloseReason {
		return fmt.Errorf("wsstream: close reason of %d bytes, at most %d fit in a close frame", len(reason), maxCloseReason)
	}
	if !c.beginClose() {
		<-c.finished.wait()
		return nil
	}
	c.interruptRead()
	c.recv.discard() // nobody reads any more

	deadline := time.Now().Add(c.opts.CloseTimeout)
	err := c.flush(deadline)
	if err == nil {
		err = c.closeWebSocket(code, reason, deadline)
	} else {
		c.abort()
	}
	<-c.end.wait()
	if err != nil {
		c.publish(ErrorEvent{Err: err})
	}
	c.finish(ClosedEvent{
		Initiator: InitiatorLocal,
		Code:      code,
		Reason:    reason,
		Handshake: err == nil,
		Err:       err,
	})
	return err
}

// CloseNow drops the connection at once, without a close handshake, as
// closing a TCP socket with unsent data does: bytes written but not yet
// on the socket are discarded, and the peer sees the connection end
// without a close frame. Read and Write fail with [net.ErrClosed] from
// then on. CloseNow returns once every goroutine of the Conn has exited,
// within milliseconds.
//
// Called while Close or CloseWithStatus waits for the handshake, CloseNow
// cuts it short: Close then returns an error. Called after the Conn has
// finished, it does nothing. It always returns nil.
func (c *Conn) CloseNow() error {
	first := c.beginClose()
	c.interruptRead()
	c.abort()
	if !first {
		<-c.finished.wait()
		return nil
	}
	c.recv.discard()
	<-c.end.wait()
	c.finish(ClosedEvent{Initiator: InitiatorLocal, Code: websocket.StatusAbnormalClosure})
	return nil
}

// beginClose starts a local close and reports whether this call did;
// false means the Conn is closing or has ended already.
func (c *Conn) beginClose() bool {
	c.stateMu.Lock()
	if c.state != stateOpen {
		c.stateMu.Unlock()
		return false
	}
	c.state = stateClosing
	c.closing.set()
	c.stateMu.Unlock()
	c.wakeResting() // to finish the frame, then coder/websocket's turn
	return true
}

// maxCloseReason is the longest reason a close frame carries: a control
// frame's 125 bytes less the 2-byte code.
const maxCloseReason = 123

// flush waits until every byte accepted by Write is on the socket (the
// writer has exited and the transport's flusher too), or a write failed,
// or the deadline passes.
func (c *Conn) flush(deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	if !c.send.waitExit(timer.C) || (c.tr != nil && !c.tr.out.waitIdle(timer.C)) {
		return fmt.Errorf("%w: written data was not sent before the close timeout", ErrCloseTimeout)
	}
	if c.aborted.isSet() {
		return errDropped
	}
	if c.send.hasFailed() && !c.end.done() {
		// writeFailed noted why before it failed the queue: the same
		// cause Read and Write will report.
		return c.end.failed()
	}
	return nil
}

// errDropped is what Close returns when CloseNow dropped the connection
// before the handshake completed.
var errDropped = errors.New("wsstream: connection dropped by CloseNow before the close handshake completed")

// closeWebSocket runs the WebSocket close handshake, dropping the
// connection when the deadline passes first.
func (c *Conn) closeWebSocket(code websocket.StatusCode, reason string, deadline time.Time) error {
	timer := time.AfterFunc(time.Until(deadline), c.abort)
	err := c.ws.Close(code, reason)
	// coder/websocket reports a connection dropped by abort as a clean
	// close, so whether the deadline cut the handshake short is asked
	// from below. Without a transport, a firing timer is all there is to
	// go by.
	if !timer.Stop() && (c.tr == nil || c.tr.interrupted()) {
		return fmt.Errorf("%w: no close frame from the peer", ErrCloseTimeout)
	}

	var ce websocket.CloseError
	switch {
	case err == nil:
		// The handshake completed: the peer answered with our status
		// (coder/websocket checked it, but keeps the reason to itself if
		// it read the frame rather than the read loop). With a client,
		// the server then closed TCP or the timeout passed waiting for it.
		c.notePeerClose(websocket.CloseError{Code: code})
		return nil
	case errors.As(err, &ce):
		// The peer answered with another status than ours.
		c.notePeerClose(ce)
		return nil
	case errors.Is(err, net.ErrClosed):
		// The WebSocket was already closed. If the peer closed it, the
		// handshake took place; otherwise reading failed and says why.
		<-c.end.wait()
		switch {
		case c.end.peer != nil:
			return nil
		case c.end.cause != nil:
			return c.end.cause
		case c.aborted.isSet():
			return errDropped
		}
		return nil
	default:
		return connectionLostError(err)
	}
}

// abort drops the connection without a handshake, once. Blocked reads and
// writes of the WebSocket fail at once.
func (c *Conn) abort() {
	c.abortOnce.Do(func() {
		c.aborted.set()
		c.wakeResting() // to end
		if c.tr != nil {
			c.tr.abort()
		}
		if c.cancel != nil {
			c.cancel()
		}
		c.ws.CloseNow()
	})
}

// finish runs once the WebSocket is closed and the end is published: it
// waits for the Conn's other goroutines, releases what the Conn holds,
// and reports ev, the last event.
func (c *Conn) finish(ev ClosedEvent) {
	c.send.waitExit(nil)
	if c.tr != nil {
		c.tr.out.waitIdle(nil) // the socket is closed: the flusher's write fails
	}
	c.kaMu.Lock()
	c.kaStopped = true
	if c.kaTimer != nil {
		c.kaTimer.Stop()
	}
	c.kaMu.Unlock()
	c.kaRunning.Wait()
	c.pingers.Wait()
	c.readDeadline.stop()
	c.writeDeadline.stop()
	if c.cancel != nil {
		c.cancel()
	}
	c.events.Close(ev)
	c.finished.set()
}
