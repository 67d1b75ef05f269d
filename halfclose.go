package wsstream

import (
	"errors"
	"slices"

	"github.com/coder/websocket"
)

// halfCloseProtocol is the Sec-WebSocket-Protocol token by which both
// ends agree on the half-close extension (docs/halfclose.md): under it, a
// binary message with an empty payload says that its sender will send no
// more data.
const halfCloseProtocol = "wsstream.halfclose.v1"

// offerHalfClose returns protos with the half-close token appended, after
// the application's own subprotocols, which a server prefers.
func offerHalfClose(protos []string) []string {
	return append(slices.Clip(protos), halfCloseProtocol)
}

// CloseWrite shuts down the writing side of the Conn, as
// [net.TCPConn.CloseWrite] does: every byte written before it is
// delivered, then the peer's Read returns [io.EOF]; the peer can go on
// writing, and this side goes on reading, until one of them closes the
// Conn with Close, which runs the close handshake as usual. Write returns
// [ErrWriteClosed] afterwards. CloseWrite does not wait for the bytes to
// reach the socket, and calling it again does nothing.
//
// It needs the half-close extension, which both ends agree on in the
// handshake when both set Options.HalfClose: otherwise CloseWrite returns
// [ErrHalfCloseUnsupported] and the Conn is unaffected (WebSocket itself
// has no half-close: a close frame ends both directions). After a local
// Close it returns [net.ErrClosed]; once the Conn has ended, the cause
// Write reports.
func (c *Conn) CloseWrite() error {
	if err := c.writeStop(); err != nil && !errors.Is(err, errDeadline) {
		if errors.Is(err, ErrWriteClosed) {
			return nil
		}
		return err
	}
	if !c.halfClose {
		return ErrHalfCloseUnsupported
	}
	// Wait for a Write in progress, so that its bytes go first.
	if err := c.takeWriting(true); err != nil {
		if errors.Is(err, ErrWriteClosed) {
			return nil // a CloseWrite came first
		}
		return err
	}
	defer c.writing.release()
	if c.send.closeWrite() {
		go c.writeLoop()
	}
	return nil
}

// errDataAfterEOF is why the read loop refuses a data message that follows
// the peer's end-of-stream marker.
var errDataAfterEOF = connectionLostError(errors.New("wsstream: the peer sent data after closing its write side"))

// refusal is a reason for which this side ends the Conn with a close
// frame of its own: a text message that is not accepted, or data after
// the end of the peer's stream.
type refusal struct {
	code   websocket.StatusCode
	reason string
	err    error // what Read, Write and the events report
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

var (
	refuseText = &refusal{textCloseCode, textReason, ErrTextMessage}
	refuseData = &refusal{protocolErrorCloseCode, "wsstream: data after end of stream", errDataAfterEOF}
)

// textReason is the reason of the close frame that refuses a text
// message.
const textReason = "wsstream: text messages are not supported on this stream"
