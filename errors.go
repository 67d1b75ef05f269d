package wsstream

import (
	"errors"
	"os"
)

// Sentinel errors. Match them with [errors.Is]; the errors a Conn returns
// may wrap them with more detail (a close code, the cause from below).
//
// A Conn also returns errors that are not listed here:
//   - [net.ErrClosed] from Read and Write after a local Close;
//   - a bare [io.EOF] from Read after the peer closed with status 1000 or
//     1001, or closed its write side (CloseWrite), and every received
//     byte was read;
//   - a timeout ([net.Error] with Timeout() == true, matching
//     [os.ErrDeadlineExceeded]) when a deadline passes.
var (
	// ErrTextMessage is reported when the peer sends a text message to a
	// Conn whose Options.AcceptText is false. The Conn closes with status
	// 1003 (unsupported data; 4003 in a browser, which cannot send 1003);
	// Read returns the data received before the
	// text message, then an error wrapping ErrTextMessage.
	ErrTextMessage = errors.New("wsstream: text message received; only binary messages carry stream data")

	// ErrPeerClosed is wrapped by the errors that Read and Write return
	// after the peer sent a close frame with a status other than 1000 or
	// 1001 (Read), or with any status (Write). The error also wraps the
	// peer's [websocket.CloseError], so [websocket.CloseStatus] reports
	// the code.
	ErrPeerClosed = errors.New("wsstream: peer closed the WebSocket")

	// ErrConnectionLost is wrapped by the error that Read and Write return
	// when the transport failed or ended without a WebSocket close frame
	// (TCP reset, EOF in the middle of the stream, a protocol error). The
	// error also wraps the cause reported by the layer below.
	ErrConnectionLost = errors.New("wsstream: connection lost without a close handshake")

	// ErrKeepaliveTimeout is wrapped by the error that Read and Write
	// return after a keepalive ping went unanswered for
	// Options.KeepaliveTimeout and the Conn was dropped.
	ErrKeepaliveTimeout = errors.New("wsstream: keepalive ping unanswered")

	// ErrCloseTimeout is wrapped by the error that Close returns when the
	// close handshake did not complete within Options.CloseTimeout. The
	// Conn is closed all the same: the TCP connection was dropped.
	ErrCloseTimeout = errors.New("wsstream: close handshake timed out")

	// ErrProxyRefused is wrapped by the error that Dial returns when the
	// proxy answered but did not open a tunnel to the server: an HTTP
	// proxy's status other than 200 to CONNECT (407 for missing or wrong
	// credentials, 403, 502...), or a SOCKS5 proxy's failure
	// (authentication failed, no acceptable method, the server refused).
	// The error's text carries the proxy's answer, with the proxy URL's
	// password redacted.
	ErrProxyRefused = errors.New("wsstream: the proxy refused to open a tunnel")

	// ErrHijackUnsupported is wrapped by the error of Accept when the
	// ResponseWriter cannot hand over its connection: HTTP/2, or
	// middleware whose ResponseWriter wrapper neither implements
	// [http.Hijacker] nor provides Unwrap. Accept then answers 501 (Not
	// Implemented) without upgrading.
	ErrHijackUnsupported = errors.New("wsstream: the http.ResponseWriter cannot hijack the connection")

	// ErrBacklogFull is reported to ListenerOptions.OnUpgradeError when
	// an upgrade was refused with 503 because Backlog Conns were already
	// waiting for [Listener.Accept] or being upgraded.
	ErrBacklogFull = errors.New("wsstream: listener backlog full")

	// ErrHalfCloseUnsupported is returned by [Conn.CloseWrite] when the
	// two ends did not agree on the half-close extension in the handshake
	// (see Options.HalfClose); the Conn is unaffected.
	ErrHalfCloseUnsupported = errors.New("wsstream: half-close not agreed with the peer")

	// ErrWriteClosed is returned by Write after [Conn.CloseWrite], as a
	// TCP socket's write fails after shutdown(SHUT_WR).
	ErrWriteClosed = errors.New("wsstream: write side closed by CloseWrite")

	// ErrPingUnsupported is wrapped by the error that [Conn.Ping] returns
	// in a browser (GOOS=js), where scripts cannot send WebSocket pings.
	ErrPingUnsupported = errors.New("wsstream: the browser cannot send pings")
)

// errDeadline is the error Read and Write return when their deadline has
// passed. It is a [net.Error] whose Timeout method reports true and it
// unwraps to [os.ErrDeadlineExceeded], like the errors of a TCP conn.
var errDeadline error = deadlineError{}

type deadlineError struct{}

func (deadlineError) Error() string   { return "wsstream: i/o timeout" }
func (deadlineError) Timeout() bool   { return true }
func (deadlineError) Temporary() bool { return true }
func (deadlineError) Unwrap() error   { return os.ErrDeadlineExceeded }
