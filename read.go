package wsstream

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/coder/websocket"
)

// Read reads up to len(p) received bytes. It blocks until at least one
// byte is available, the read deadline passes, or the Conn ends. It never
// returns 0, nil for a non-empty p.
//
// Its errors, once the buffered bytes are read:
//   - [net.ErrClosed] after a local Close or CloseNow (at once, even with
//     bytes buffered);
//   - a bare [io.EOF] after the peer closed with status 1000 (normal
//     closure) or 1001 (going away), or closed its write side with
//     [Conn.CloseWrite];
//   - an error wrapping [ErrPeerClosed] and the peer's
//     [websocket.CloseError] after it closed with any other status;
//   - an error wrapping [ErrTextMessage] after the peer sent a text
//     message and Options.AcceptText is false;
//   - an error wrapping [ErrKeepaliveTimeout] after keepalive dropped the
//     connection (it does not match [ErrConnectionLost]);
//   - an error wrapping [ErrConnectionLost] after the connection failed
//     without a close handshake;
//   - a timeout (see [Conn.SetReadDeadline]).
//
// Write and the events report the same cause.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		if c.closing.isSet() {
			return 0, net.ErrClosed
		}
		if c.readDeadline.passed() {
			return 0, errDeadline
		}
		// The channel a waiting Read is woken on, taken before the look:
		// it waits on it only if it was there then (waitReadable).
		ready := c.recv.readWake.made()
		// The read loop commits every byte before it publishes the end or
		// the end of the peer's stream: once either is seen, what take
		// finds is all there is. take reports the stream's end under the
		// same lock as the bytes.
		ended := c.end.done()
		n, more, eof := c.recv.take(p)
		if n > 0 {
			c.noteRead()
			if more {
				c.recv.readWake.notify() // wake the next waiting Read
			}
			return n, nil
		}
		if ended {
			return 0, c.end.readErr
		}
		if eof {
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, again := c.readDirect(p, ready)
		if n > 0 {
			c.noteRead()
			return n, nil
		}
		if again {
			continue
		}
		c.waitReadable(ready)
	}
}

// noteRead records that a Read returned data (see sendDirect: a Write
// that answers it is not coalesced).
func (c *Conn) noteRead() {
	if !c.readSinceSend.Load() {
		c.readSinceSend.Store(true)
	}
}

// waitReadable waits until bytes arrive, the Conn ends, the read deadline
// passes or Close begins; ready is the receive buffer's readable channel as
// Read found it before it looked at the buffer. When there was none yet,
// waitReadable makes it and returns, and Read looks again (a notification
// before the channel was made was dropped). A function of its own, so
// that Read's frame, below which a Read that decodes waits for the socket,
// stays small (see readDirect).
//
//go:noinline
func (c *Conn) waitReadable(ready <-chan struct{}) {
	if ready == nil {
		c.recv.readWake.ensure()
		return
	}
	select {
	case <-ready:
	case <-c.end.wait():
	case <-c.readDeadline.wait():
	case <-c.closing.wait():
	}
}

// readLoop is the only reader of the WebSocket, for the whole life of the
// Conn. Its goroutine returns while Reads decode the frames themselves,
// and is started again when there is something to do (decodeloop.go:
// rest, wakeLoop). When reading fails it publishes the end and, unless a
// local Close runs (which does it), finishes the Conn.
func (c *Conn) readLoop() {
	c.loopStarts()
	switch err := c.readMessages(); err {
	case errResting:
		// wakeLoop starts it again
	case errRespawn:
		go c.readLoop()
	default:
		c.endReading(err)
	}
}

// endReading is the read loop once reading failed with err. It is a
// function of its own so that readLoop's frame, below which the read loop
// waits for the socket, stays small: a goroutine's stack grows from 2 KiB
// when its deepest wait does not fit.
//
//go:noinline
func (c *Conn) endReading(err error) {
	c.endDirect()

	// Claim the end of the Conn before Read can report it, so that a Close
	// called after Read failed waits for the end instead of starting a
	// handshake on a dead connection.
	c.stateMu.Lock()
	local := c.state != stateOpen
	if !local {
		c.state = stateFinished
	}
	c.stateMu.Unlock()

	c.endWith(err, local)
	if local {
		return // the local Close finishes the Conn
	}

	ev := ClosedEvent{Initiator: InitiatorNone, Code: websocket.StatusAbnormalClosure, Err: c.end.cause}
	var ref *refusal
	switch peer := c.end.peer; {
	case errors.As(err, &ref):
		ev.Initiator, ev.Code, ev.Reason = InitiatorLocal, ref.code, ref.reason
		ev.Handshake = c.closeWebSocket(ev.Code, ev.Reason, time.Now().Add(c.opts.CloseTimeout)) == nil
	case peer != nil:
		// coder/websocket answered the peer's close frame.
		ev.Initiator, ev.Code, ev.Reason, ev.Handshake = InitiatorPeer, peer.Code, peer.Reason, true
		if normalClosure(peer.Code) {
			ev.Err = nil
		}
		c.abort()
	default:
		c.abort()
	}
	c.finish(ev)
}

// errAborted is why reading stops when the Conn dropped the connection
// while the read buffer was full.
var errAborted = errors.New("wsstream: connection dropped")

// errResting is why the read loop's goroutine returns while Reads decode,
// and errRespawn why it hands over to a fresh one before it waits
// (decodeloop.go): not ends.
var (
	errResting = errors.New("wsstream: read loop resting")
	errRespawn = errors.New("wsstream: read loop hands over")
)

// readMessages copies the payload of every data message into the receive
// buffer until reading fails. It returns why.
func (c *Conn) readMessages() error {
	for {
		if err := c.decodeTurn(); err != nil {
			return err
		}
		typ, r, err := c.ws.Reader(c.ctx)
		if err != nil {
			return err
		}
		if typ == websocket.MessageText && !c.opts.AcceptText {
			return refuseText
		}
		total := 0
		afterEOF := c.halfClose && c.recv.atEOF()
		for {
			region := c.recv.reserve(&c.aborted)
			if region == nil {
				return errAborted
			}
			n, err := r.Read(region)
			if err != nil && err != io.EOF {
				// coder/websocket returns the payload bytes it read
				// before a failure without unmasking them: drop them.
				n = 0
			}
			if afterEOF && n > 0 {
				c.recv.commit(0)
				return refuseData
			}
			if c.recv.commit(n) && c.tr == nil {
				c.recvAt.Store(time.Now().UnixNano())
			}
			total += n
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if c.halfClose && total == 0 && !afterEOF {
			c.recv.closeRead() // the peer's end-of-stream marker
		}
		c.coderMessageDone()
	}
}

// endWith publishes the end of the Conn, err being why reading stopped
// and local whether a local Close runs, stops the send half and reports
// the peer's close frame or the error to subscribers.
func (c *Conn) endWith(err error, local bool) {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		c.notePeerClose(ce)
	}
	c.end.publish(err, local)
	c.send.fail()
	if cause := c.end.cause; cause != nil && c.end.peer == nil {
		c.publish(ErrorEvent{Err: cause})
	}
}

// notePeerClose records the peer's close frame and reports it, once.
func (c *Conn) notePeerClose(ce websocket.CloseError) {
	if c.end.notePeer(ce) {
		c.publish(CloseFrameEvent{Code: ce.Code, Reason: ce.Reason})
	}
}
