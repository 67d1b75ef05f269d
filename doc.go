// Package wsstream makes a WebSocket behave exactly like a TCP connection.
//
// A [Conn] is a [net.Conn] over a github.com/coder/websocket connection:
// a byte stream with net.Conn deadlines and a close handshake. Hand it to
// anything that speaks bytes: gRPC, yamux, net/http, SSH, TLS, io.Copy.
// [Dial] and [Accept] make one from a handshake; [New] wraps a WebSocket
// made elsewhere; [Listener] serves them as a [net.Listener].
//
// What sets it apart from coder/websocket's own NetConn:
//   - Deadlines are net.Conn deadlines: a timeout is a [net.Error] with
//     Timeout() == true matching [os.ErrDeadlineExceeded], and the Conn
//     stays usable once the deadline is moved. It passes every check of
//     golang.org/x/net/nettest.TestConn.
//   - A read loop reads the WebSocket whenever the application does not,
//     so pings are answered and the close handshake completes even when
//     the application does not read (over plain TCP, while a Read waits
//     for the socket, the Read reads it, and the read loop has no
//     goroutine). It fills a bounded buffer that Read drains: a peer that
//     sends faster than the application reads is held back by TCP flow
//     control.
//   - Close is a handshake: every byte written before Close reaches the
//     peer before the close frame, and the peer reads all of it, then
//     io.EOF.
//   - LocalAddr and RemoteAddr are the real TCP addresses on both sides.
//   - What a byte stream cannot carry (pings, the peer's close code and
//     reason, refused text messages, errors from below) is reported to
//     subscribers: see [Conn.Subscribe].
//   - [Conn.CloseNow] drops a Conn at once; [Conn.CloseWrite] half-closes
//     it, like a TCP connection's, when both ends agree on the half-close
//     extension (Options.HalfClose).
//   - [Dial] goes through HTTP(S) and SOCKS5 proxies, always tunnelling;
//     [Dialer] dials in the shapes net/http and gRPC take; a Conn from
//     [Accept] knows its upgrade request ([Conn.Request]).
//
// Data is sent as binary messages of at most Options.MaxMessageSize
// bytes, so a Conn talks to any WebSocket peer that reads binary messages.
// Text messages are refused with status 1003 unless Options.AcceptText is
// set.
//
// In a browser (GOOS=js GOARCH=wasm) the package is a client only: [Dial]
// uses the browser's WebSocket, and a Conn is the same stream, except that
// the browser offers no read backpressure, no pings and only close codes
// 1000 and 3000-4999. docs/browser.md in the repository says what works
// and what cannot.
//
// docs/design.md in the repository explains how the read loop, the
// buffers, deadlines and the close handshake fit together.
package wsstream
