//go:build js && wasm

package browser

import (
	"net"
	"syscall/js"
	"time"

	"github.com/coder/websocket"
)

// Close starts the close handshake with code and reason and waits for the
// browser's close event, at most Options.CloseTimeout. It returns nil when
// the peer answered with the same code; a websocket.CloseError when it
// answered with another (or had closed first with another); and
// ErrConnectionLost when the connection ended without a close frame. After
// the timeout the socket is forgotten as by CloseNow and Close returns
// ErrCloseTimeout. If the socket has already ended, or Close or CloseNow
// was called before, Close returns net.ErrClosed.
//
// Browsers let scripts close only with 1000 or 3000-4999; any other code
// returns ErrCloseCode before anything is sent, as does a reason longer
// than 123 bytes ErrCloseReason. No code is mapped to another (1001, going
// away, is not turned into 1000): a peer would see a status the caller did
// not choose, and a browser sends 1001 itself when the page goes away.
func (c *Conn) Close(code websocket.StatusCode, reason string) error {
	if code != websocket.StatusNormalClosure && (code < 3000 || code > 4999) {
		return ErrCloseCode
	}
	if len(reason) > 123 {
		return ErrCloseReason
	}
	c.mu.Lock()
	if c.closeCalled || c.ended() {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closeCalled = true
	c.mu.Unlock()

	if err := closeSocket(c.ws, code, reason); err != nil {
		c.abort()
		return err
	}
	timer := time.NewTimer(c.opts.CloseTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		c.abort()
		return ErrCloseTimeout
	}
	c.mu.Lock()
	ev := c.closeEv
	c.mu.Unlock()
	switch ce, ok := ev.(websocket.CloseError); {
	case ev == nil:
		return net.ErrClosed // CloseNow ended the socket meanwhile
	case ok && ce.Code == code:
		return nil
	default:
		return ev
	}
}

// CloseNow forgets the socket at once: it asks the browser to close it
// (without a code: scripts cannot drop a connection), drops the unread
// messages, and makes Reader and Write fail with net.ErrClosed. No event
// reaches Go afterwards. It returns net.ErrClosed if the socket had
// already ended.
func (c *Conn) CloseNow() error {
	c.mu.Lock()
	if c.ended() {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.mu.Unlock()
	c.abort()
	return nil
}

// abort drops the queue, ends Reader with net.ErrClosed, closes the socket
// and finishes the Conn.
func (c *Conn) abort() {
	c.mu.Lock()
	c.closeCalled = true
	c.queue, c.queued = nil, 0
	c.end = net.ErrClosed
	c.mu.Unlock()
	c.signal()
	c.ws.Call("close")
	c.finish()
}

// ended reports whether finish has run.
func (c *Conn) ended() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// endErr returns the error Reader reports at the end of the socket, or
// net.ErrClosed.
func (c *Conn) endErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.end != nil {
		return c.end
	}
	return net.ErrClosed
}

// closeSocket calls ws.close(code, reason), turning an exception into an
// error.
func closeSocket(ws js.Value, code websocket.StatusCode, reason string) (err error) {
	defer catchException(&err)
	ws.Call("close", int(code), reason)
	return nil
}
