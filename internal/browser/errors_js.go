//go:build js && wasm

package browser

import (
	"errors"
	"syscall/js"
)

// Errors of this package, matched with errors.Is.
var (
	// ErrPingUnsupported is returned by Ping: a script cannot send a
	// WebSocket ping, and the browser does not report the pings it answers.
	ErrPingUnsupported = errors.New("browser: WebSocket ping is not available to scripts")

	// ErrConnectionLost ends a connection that closed without the peer's
	// close frame (the browser's close code 1006): a network failure, a
	// refused or failed handshake, or a peer that dropped the connection.
	// The browser does not say which.
	ErrConnectionLost = errors.New("browser: WebSocket connection lost without a close frame (1006)")

	// ErrReadBufferOverflow is returned by Reader, after the messages queued
	// before it, when the unread messages would have exceeded
	// Options.ReadBufferLimit. The message that did not fit was dropped.
	ErrReadBufferOverflow = errors.New("browser: unread messages exceeded the read buffer limit")

	// ErrCloseCode is returned by Close for a code the browser refuses to
	// send: scripts may use only 1000 and 3000-4999.
	ErrCloseCode = errors.New("browser: close code not allowed in a browser (allowed: 1000 and 3000-4999)")

	// ErrCloseReason is returned by Close for a reason longer than 123
	// bytes.
	ErrCloseReason = errors.New("browser: close reason longer than 123 bytes")

	// ErrCloseTimeout is returned by Close when the close event did not
	// come within Options.CloseTimeout. The socket is forgotten as by
	// CloseNow.
	ErrCloseTimeout = errors.New("browser: close handshake timed out")
)

// catchException, deferred, turns a JavaScript exception thrown by a call
// into the browser (a js.Error panic) into *err. Any other panic goes on.
func catchException(err *error) {
	if r := recover(); r != nil {
		jsErr, ok := r.(js.Error)
		if !ok {
			panic(r)
		}
		*err = jsErr
	}
}
