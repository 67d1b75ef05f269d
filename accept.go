//go:build !js

package wsstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// AcceptOptions configure [Accept]: every option of coder/websocket's
// Accept, plus the options of the stream. A nil *AcceptOptions is valid.
type AcceptOptions struct {
	// AcceptOptions are passed to websocket.Accept. As there, a
	// cross-origin upgrade is refused unless OriginPatterns allows it.
	// OnPingReceived and OnPongReceived are called from the read loop:
	// they must not block.
	websocket.AcceptOptions

	// Options configure the stream.
	Options
}

// Accept upgrades an HTTP request to a WebSocket and returns it as a
// Conn. On failure it has written an HTTP error response and returns an
// error saying why: 501 and [ErrHijackUnsupported] when w cannot hijack,
// 400 for an upgrade request that announces a body, and otherwise
// coder/websocket's answers (426 for a request that is not an upgrade,
// 403 for a refused origin, ...). As with websocket.Accept, r's context
// must not be used once Accept returns; the Conn does not depend on it.
// Headers set on w.Header() before Accept (a session cookie, say) are sent
// with the 101 response. [Conn.Request] returns a copy of r.
func Accept(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	var o AcceptOptions
	if opts != nil {
		o = *opts
	}
	so, protos, err := o.Options.resolve(o.Subprotocols)
	if err != nil {
		http.Error(w, "wsstream: server misconfigured", http.StatusInternalServerError)
		return nil, err
	}
	o.Subprotocols = protos
	if !canHijack(w) {
		http.Error(w, ErrHijackUnsupported.Error(), http.StatusNotImplemented)
		return nil, ErrHijackUnsupported
	}
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		// net/http would wait, without a deadline, for a body that a
		// hostile client never sends before it hands the connection
		// over. A handshake has no body.
		w.Header().Set("Connection", "close")
		http.Error(w, "wsstream: a WebSocket handshake has no body", http.StatusBadRequest)
		return nil, errors.New("wsstream: upgrade request announces a body")
	}

	var c *Conn
	offStack(func() {
		hw := &hijackWriter{ResponseWriter: w, closeTimeout: so.CloseTimeout}
		h := hooks{ping: o.OnPingReceived, pong: o.OnPongReceived}
		o.OnPingReceived, o.OnPongReceived = h.onPing, h.onPong
		var ws *websocket.Conn
		ws, err = websocket.Accept(hw, r, &o.AcceptOptions)
		if err != nil {
			if hw.t != nil {
				hw.t.abort()
			}
			return
		}
		h.c = newConnOver(ws, hw.t, so)
		h.c.req = r
		h.c.start()
		c = h.c
	})
	return c, err
}

// canHijack reports whether w, or a writer it unwraps to as
// http.ResponseController does, implements http.Hijacker.
func canHijack(w http.ResponseWriter) bool {
	for w != nil {
		if _, ok := w.(http.Hijacker); ok {
			return true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
	return false
}

// serverBufferSize is the size of the bufio buffers of a Conn made by
// Accept over TLS or a wrapped connection, where coder/websocket reads and
// writes every frame; over a socket of its own (socketOf), where the Conn
// decodes and writes its binary frames itself and coder/websocket's
// buffers hold only control frames and the rare message that is coder's
// turn, they are socketBufferSize: a control frame (at most 2 + 125 bytes
// from a server) still goes out in one write.
const (
	serverBufferSize = 512
	socketBufferSize = 128
)

// hijackWriter lets Accept see the connection that coder/websocket
// hijacks from the HTTP server.
type hijackWriter struct {
	http.ResponseWriter
	closeTimeout time.Duration
	t            *transport
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrHijackUnsupported, err)
	}
	if err := brw.Writer.Flush(); err != nil {
		nc.Close()
		return nil, nil, err
	}
	w.t = newTransport(nc, w.closeTimeout, false)
	// net/http's 4 KiB buffers would stay with coder/websocket for the
	// life of the connection. Small ones do: frames are corked below the
	// writer, and payloads are read straight into the Conn's buffer, past
	// the reader, which mostly holds frame headers. The hijacked buffers
	// are ours now, but net/http's connection still points at them while
	// the handler runs (for as long as the Conn, with many handlers):
	// emptying them in place lets their memory go.
	// Bytes the client sent right behind its request (net/http's
	// background read can take the first byte of a frame sent as soon as
	// the 101 is out) move to the transport's inbox, which coder reads
	// first; over TLS, coder reads them from net/http's buffer.
	size := serverBufferSize
	if w.t.in.raw != nil {
		size = socketBufferSize
	}
	small := bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(w.t, size))
	if n := brw.Reader.Buffered(); n == 0 || w.t.in.preload(n, brw.Reader) {
		small.Reader = bufio.NewReaderSize(w.t, size)
		*brw.Reader = bufio.Reader{}
	}
	*brw.Writer = bufio.Writer{}
	return w.t, small, nil
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WriteHeaderNow forwards to writers that need it to send the 101
// response before the hijack (gin's); coder/websocket calls it when
// present.
func (w *hijackWriter) WriteHeaderNow() {
	if hw, ok := w.ResponseWriter.(interface{ WriteHeaderNow() }); ok {
		hw.WriteHeaderNow()
	}
}

// hooks are the ping and pong callbacks Dial and Accept give
// coder/websocket: they report events, then call the user's callbacks.
// coder/websocket calls them from the read loop, which starts after c is
// set.
type hooks struct {
	c    *Conn
	ping func(context.Context, []byte) bool
	pong func(context.Context, []byte)
}

func (h *hooks) onPing(ctx context.Context, p []byte) bool {
	if h.ping != nil && !h.ping(ctx, p) {
		return false
	}
	h.c.publish(PingEvent{Data: p})
	return true
}

func (h *hooks) onPong(ctx context.Context, p []byte) {
	h.c.publish(PongEvent{Data: p})
	if h.pong != nil {
		h.pong(ctx, p)
	}
}
