package wsstream

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/coder/websocket"
)

// CloseWithStatus closes the Conn with a WebSocket close handshake,
// sending code and reason (at most 123 bytes) in the close frame.
//
// Read and Write, pending or future, fail with [net.ErrClosed] as soon as
// CloseWithStatus begins. It then waits until every byte already accepted
// by Write is on the socket, sends the close frame, and waits for the
// peer's close frame while the read pump discards incoming data. A client
// then waits for the server to close TCP; a server closes it. All of this
// is bounded by Options.CloseTimeout: when it passes, the TCP connection
// is dropped and the returned error wraps [ErrCloseTimeout].
//
// CloseWithStatus returns nil when the handshake completed, also when the
// peer started it, and when the Conn had already ended because the peer
// closed it. It returns once every goroutine of the Conn has exited.
// Calling it again, or calling Close, waits for the first call to finish
// and returns nil.
//
// A code that cannot be sent in a close frame (1004, 1005, 1006, 1015,
// or outside 1000-1014 and 3000-4999) or a reason over 123 bytes is a
// programming error: CloseWithStatus then returns an error and leaves the
// Conn open.
func (c *Conn) CloseWithStatus(code websocket.StatusCode, reason string) error {
	if !sendableCloseCode(code) {
		return fmt.Errorf("wsstream: status %d cannot be sent in a close frame", code)
	}
	if len(reason) > maxCloseReason {
		return fmt.Errorf("wsstream: close reason of %d bytes, at most %d fit in a close frame", len(reason), maxCloseReason)
	}
	c.stateMu.Lock()
	if c.state != stateOpen {
		c.stateMu.Unlock()
		<-c.doneCh
		return nil
	}
	c.state = stateClosing
	close(c.closingCh)
	c.stateMu.Unlock()

	deadline := time.Now().Add(c.opts.CloseTimeout)
	err := c.flush(deadline)
	if err == nil {
		err = c.closeWebSocket(code, reason, deadline)
	} else {
		c.abort()
	}
	<-c.pumpDoneCh
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

// maxCloseReason is the longest reason a close frame carries: a control
// frame's 125 bytes less the 2-byte code.
const maxCloseReason = 123

// sendableCloseCode reports whether code may be sent in a close frame (RFC
// 6455 section 7.4).
func sendableCloseCode(code websocket.StatusCode) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code < websocket.StatusNormalClosure || code > websocket.StatusBadGateway:
		return false
	}
	return code != 1004 && code != websocket.StatusNoStatusRcvd && code != websocket.StatusAbnormalClosure
}

// flush waits until writeLoop has sent every queued byte, or failed, or
// the deadline passes.
func (c *Conn) flush(deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		c.writeMu.Lock()
		writing := c.writing
		c.writeMu.Unlock()
		if !writing {
			return nil
		}
		select {
		case <-c.flushedCh:
		case <-timer.C:
			return fmt.Errorf("%w: written data was not sent before the close timeout", ErrCloseTimeout)
		}
	}
}

// closeWebSocket runs the WebSocket close handshake, dropping the
// connection when the deadline passes first.
func (c *Conn) closeWebSocket(code websocket.StatusCode, reason string, deadline time.Time) error {
	timer := time.AfterFunc(time.Until(deadline), c.abort)
	err := c.ws.Close(code, reason)
	// coder/websocket reports a connection dropped by abort as a clean
	// close, so whether the deadline cut the handshake short is asked
	// from below. Without a tcpConn, a firing timer is all there is to go
	// by.
	if !timer.Stop() && (c.tcp == nil || c.tcp.interrupted()) {
		return fmt.Errorf("%w: no close frame from the peer", ErrCloseTimeout)
	}

	var ce websocket.CloseError
	switch {
	case err == nil:
		// The handshake completed: the peer answered with our status
		// (coder/websocket checked it, but keeps the reason to itself if
		// it read the frame rather than the pump). With a client, the
		// server then closed TCP or the timeout passed waiting for it.
		c.notePeerClose(websocket.CloseError{Code: code})
		return nil
	case errors.As(err, &ce):
		// The peer answered with another status than ours.
		c.notePeerClose(ce)
		return nil
	case errors.Is(err, net.ErrClosed):
		// The WebSocket was already closed. If the peer closed it, the
		// handshake took place; otherwise reading failed and says why.
		<-c.pumpDoneCh
		c.readMu.Lock()
		cause := c.cause
		c.readMu.Unlock()
		if cause == nil || errors.Is(cause, ErrPeerClosed) {
			return nil
		}
		return cause
	default:
		return connectionLostError(err)
	}
}

// abort drops the connection without a handshake. Blocked reads and
// writes of the WebSocket fail at once.
func (c *Conn) abort() {
	if c.tcp != nil {
		c.tcp.abort()
	}
	if c.cancel != nil {
		c.cancel()
	}
	c.ws.CloseNow()
}

// finish runs once the WebSocket is closed and the pump has returned:
// it waits for the Conn's other goroutines, releases what the Conn holds,
// and reports ev, the last event.
func (c *Conn) finish(ev ClosedEvent) {
	c.writers.Wait()
	c.kaMu.Lock()
	c.kaStopped = true
	if c.kaTimer != nil {
		c.kaTimer.Stop()
	}
	c.kaMu.Unlock()
	c.kaRunning.Wait()
	c.readDeadline.stop()
	c.writeDeadline.stop()
	if c.cancel != nil {
		c.cancel()
	}
	if isClosed(c.closingCh) {
		// Nobody reads any more: drop what was received.
		c.readMu.Lock()
		c.rlen = 0
		c.releaseReadBufLocked()
		c.readMu.Unlock()
	}
	c.events.Close(ev)
	close(c.doneCh)
}

// peerClosedError is the error of Read and Write after the peer closed
// the WebSocket with ce.
func peerClosedError(ce websocket.CloseError) error {
	return fmt.Errorf("%w: %w", ErrPeerClosed, ce)
}

// connectionLostError is the error of Read and Write after the connection
// failed with err.
func connectionLostError(err error) error {
	if errors.Is(err, ErrConnectionLost) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, err)
}
