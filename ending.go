package wsstream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/coder/websocket"
)

// ending is the one record of why a Conn ended, in the manner of
// net/http's persistConn: written once, then published by setting
// published, a latch. After that its fields never change and anyone may
// read them without a lock. Read's, Write's, Ping's and the events'
// errors are all derived from it, so they always agree.
type ending struct {
	mu sync.Mutex // guards failure and peer until the record is published
	// failure is why the Conn dropped the connection itself (keepalive,
	// a failed write), if it did; the first one counts.
	failure error
	// peer is the peer's close frame, once seen.
	peer *websocket.CloseError

	// published is set when the fields below are.
	published latch

	// readErr is what Read returns once the buffered bytes are read:
	// io.EOF, net.ErrClosed, or cause.
	readErr error
	// cause is why the Conn ended: nil after a local close, and otherwise
	// an error wrapping ErrPeerClosed, ErrConnectionLost,
	// ErrKeepaliveTimeout or ErrTextMessage.
	cause error
}

func newEnding() *ending { return new(ending) }

// done reports whether the record is published.
func (e *ending) done() bool { return e.published.isSet() }

// wait returns a channel closed once the record is published.
func (e *ending) wait() <-chan struct{} { return e.published.wait() }

// fail notes that the Conn is dropping the connection because of err,
// unless a failure was noted before. It takes effect when the record is
// published; a close frame from the peer outranks it.
func (e *ending) fail(err error) {
	e.mu.Lock()
	if e.failure == nil {
		e.failure = err
	}
	e.mu.Unlock()
}

// failed returns the failure noted with fail, if any.
func (e *ending) failed() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.failure
}

// notePeer records the peer's close frame. It reports whether this was
// the first one noted.
func (e *ending) notePeer(ce websocket.CloseError) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.peer != nil {
		return false
	}
	e.peer = &ce
	return true
}

// publish writes the record, once: readErr (from err, why reading
// stopped) and cause. local says a local Close had begun. The order of
// precedence: a local close, the peer's close frame, a failure noted with
// fail, a refused text message, and last the transport's error.
func (e *ending) publish(err error, local bool) {
	e.mu.Lock()
	failure, peer := e.failure, e.peer
	e.mu.Unlock()
	var ce websocket.CloseError
	if peer == nil && errors.As(err, &ce) {
		peer = &ce
	}
	switch {
	case local:
		e.readErr = net.ErrClosed
	case peer != nil:
		e.cause = peerClosedError(*peer)
		e.readErr = e.cause
		if normalClosure(peer.Code) {
			e.readErr = io.EOF
		}
	case failure != nil:
		e.cause, e.readErr = failure, failure
	case errors.As(err, new(*refusal)):
		e.cause, e.readErr = err, err
	default:
		e.cause = connectionLostError(err)
		e.readErr = e.cause
	}
	e.published.set()
}

// writeErr is what Write and Ping return once the record is published.
func (e *ending) writeErr() error {
	if e.cause == nil {
		return net.ErrClosed
	}
	return e.cause
}

// normalClosure reports whether code ends a stream like a TCP FIN.
func normalClosure(code websocket.StatusCode) bool {
	return code == websocket.StatusNormalClosure || code == websocket.StatusGoingAway
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
