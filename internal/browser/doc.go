// Package browser is a WebSocket for Go compiled to WebAssembly and run in
// a web browser (GOOS=js GOARCH=wasm): it drives the browser's own
// WebSocket object through syscall/js and offers the methods wsstream's
// Conn needs from the layer below it (Reader, Write, Close, CloseNow,
// Ping, Subprotocol), with the same meaning as coder/websocket's native
// Conn. Everything but this comment is built only for js/wasm.
//
// It exists because coder/websocket's own js implementation loses data:
// when a server writes and then closes, its Read picks at random between a
// waiting message and the close, so most of the data is dropped; a clean
// close is reported as a lost connection; Write never waits; and Ping
// returns at once without a round trip. This package keeps the promises:
//
//   - Order. Every message the browser received before its close event is
//     returned by Reader before the close is reported: messages and the end
//     of the connection go through one ordered queue.
//   - Close reporting. After the peer's close frame, Reader returns an error
//     that errors.As turns into a websocket.CloseError with the peer's Code
//     and Reason (1005 when the frame had no code). When the connection
//     ended without a close frame (the browser reports code 1006), Reader
//     returns ErrConnectionLost, which is not a CloseError.
//   - Write backpressure. Write returns only when the socket's
//     bufferedAmount is at or below Options.WriteBufferSize, waiting on a
//     timer (never spinning); a socket that closes ends the wait with an
//     error.
//   - Ping. Browsers cannot send a ping from script: Ping returns
//     ErrPingUnsupported and never pretends a round trip happened.
//
// Caveats, all imposed by the browser's WebSocket API:
//
//   - No read backpressure. The browser reads from the network and fires a
//     message event whether or not Go calls Reader; nothing stops a fast
//     peer. Messages wait in Go memory until Reader takes them. The only
//     bound is Options.ReadBufferLimit: when the unread bytes would exceed
//     it, the Conn gives up (the message is not queued; Reader returns the
//     queued messages, then ErrReadBufferOverflow, and the socket is closed
//     with code CloseReadBufferOverflow). With the default, 0, nothing is
//     bounded.
//   - Close codes. Scripts may close only with 1000 or 3000-4999; Close
//     returns ErrCloseCode for any other code (there is no mapping: see
//     Close). The reason must be at most 123 bytes.
//   - No abort. A script cannot drop a TCP connection: CloseNow asks the
//     browser to close (without a code) and forgets the socket at once.
//   - Data arriving after Close. Once Close has been called, the browser
//     discards data messages that arrive before the peer's close frame, as
//     coder/websocket's native Close does.
//   - Errors carry no detail. A failed connection or handshake is reported
//     by the browser only as a close event with code 1006; the cause (DNS,
//     refused, TLS, HTTP status) is deliberately hidden from scripts.
package browser
