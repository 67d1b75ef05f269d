//go:build js && wasm

package browser

import (
	"context"
	"fmt"
	"syscall/js"
	"time"
)

// Options configure Dial. The zero value, or a nil *Options, takes every
// default.
type Options struct {
	// WriteBufferSize is the high-water mark of Write: Write returns only
	// once the browser's bufferedAmount (bytes handed to send but not yet
	// given to the network) is at or below it. So at most WriteBufferSize
	// plus one message waits in the browser. Default 1 MiB.
	WriteBufferSize int

	// ReadBufferLimit bounds the bytes of messages received and not yet
	// taken by Reader. Exceeding it ends the connection (see
	// ErrReadBufferOverflow). 0, the default, means no bound: the browser
	// cannot be told to stop reading, so the bound can only turn memory
	// growth into an error.
	ReadBufferLimit int

	// CloseTimeout bounds how long Close waits for the close event.
	// Default 5 s, as coder/websocket's native close handshake.
	CloseTimeout time.Duration
}

const (
	defaultWriteBufferSize = 1 << 20
	defaultCloseTimeout    = 5 * time.Second
)

// Dial opens a WebSocket to url (ws: or wss:; a relative URL is resolved by
// the browser against the page) offering subprotocols, and returns when the
// browser reports it open. The browser receives binary messages as
// ArrayBuffers.
//
// If ctx ends first, the socket is closed and ctx.Err() is returned. A
// connection or handshake that fails returns an error wrapping
// ErrConnectionLost (the browser hides the cause); an invalid url or
// subprotocol returns the browser's SyntaxError.
func Dial(ctx context.Context, url string, subprotocols []string, opts *Options) (c *Conn, err error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.WriteBufferSize <= 0 {
		o.WriteBufferSize = defaultWriteBufferSize
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = defaultCloseTimeout
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	protocols := make([]any, len(subprotocols))
	for i, p := range subprotocols {
		protocols[i] = p
	}
	ws, err := newWebSocket(url, protocols)
	if err != nil {
		return nil, fmt.Errorf("browser: dial %s: %w", url, err)
	}
	ws.Set("binaryType", "arraybuffer")
	c = newConn(ws, o)

	select {
	case <-c.opened:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("browser: dial %s: %w", url, c.endErr())
	case <-ctx.Done():
		c.CloseNow()
		return nil, ctx.Err()
	}
}

// newWebSocket calls the WebSocket constructor, turning the exception it
// throws for a bad URL or subprotocol into an error.
func newWebSocket(url string, protocols []any) (ws js.Value, err error) {
	defer catchException(&err)
	return js.Global().Get("WebSocket").New(url, protocols), nil
}
