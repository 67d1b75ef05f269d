package wsstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/wsstream/wsstream/internal/browser"
)

// DialOptions configure [Dial] in a browser (GOOS=js): what the browser's
// WebSocket API lets a script choose. A nil *DialOptions is valid.
type DialOptions struct {
	// Subprotocols are offered to the server, in order of preference;
	// [Conn.Subprotocol] reports the one it chose.
	Subprotocols []string

	// Options configure the stream; see Options for how a browser
	// honours ReadBufferSize, WriteBufferSize and keepalive.
	Options
}

// browserReadBacklog is how many times Options.ReadBufferSize the
// messages received by the browser and not yet taken into the Conn's
// read buffer may reach before the Conn gives up.
const browserReadBacklog = 256

// Dial opens a WebSocket connection to url (ws:// or wss://; a relative
// URL is resolved by the browser against the page) with the browser's
// WebSocket API, and returns it as a Conn. ctx bounds the dial and the
// handshake only: Dial returns within it, and the Conn does not depend on
// it afterwards.
//
// The returned *http.Response is always nil: a browser does not show a
// script the handshake response, its status or its headers. Nor does it
// say why a connection failed (DNS, refused, TLS, a non-101 answer): a
// failed Dial returns an error without the cause. Cookies, the Origin
// header and TLS are the browser's business.
//
// The Conn's RemoteAddr reports url (network "websocket"); its LocalAddr a
// placeholder, as a browser does not expose the local address.
func Dial(ctx context.Context, url string, opts *DialOptions) (*Conn, *http.Response, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	so, protos, err := o.Options.resolve(o.Subprotocols)
	if err != nil {
		return nil, nil, err
	}
	bws, err := browser.Dial(ctx, url, protos, &browser.Options{
		WriteBufferSize: so.WriteBufferSize,
		ReadBufferLimit: browserReadBacklog * so.ReadBufferSize,
		// The Conn bounds the close handshake itself, with CloseTimeout;
		// the browser's own bound only backs it up.
		CloseTimeout: so.CloseTimeout + time.Second,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("wsstream: dial %s: %w", url, err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	c := newConn(browserConn{bws}, nil, so, cctx, cancel, unknownAddr{}, urlAddr(url))
	c.start()
	return c, nil, nil
}

// browserConn is the browser's WebSocket as the Conn's messageConn.
type browserConn struct {
	*browser.Conn
}

// Ping reports ErrPingUnsupported, which keepalive and Conn.Ping know.
func (b browserConn) Ping(ctx context.Context) error {
	err := b.Conn.Ping(ctx)
	if errors.Is(err, browser.ErrPingUnsupported) {
		return ErrPingUnsupported
	}
	return err
}

// urlAddr is the remote address of a Conn in a browser: the URL dialled.
type urlAddr string

func (urlAddr) Network() string  { return "websocket" }
func (a urlAddr) String() string { return string(a) }
