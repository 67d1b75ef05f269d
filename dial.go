//go:build !js

package wsstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// DialOptions configure [Dial]: every option of coder/websocket's Dial,
// plus the options of the stream. A nil *DialOptions is valid.
type DialOptions struct {
	// DialOptions are passed to websocket.Dial. OnPingReceived and
	// OnPongReceived are called as usual, from the read loop: they must
	// not block.
	//
	// When HTTPClient is nil or its Transport is an *http.Transport (or
	// nil), Dial uses a copy of that transport whose DialContext is
	// wrapped, so that the Conn sees the TCP connection: it reports its
	// real addresses, can drop it when a close times out, and waits for
	// the server to close it. With any other RoundTripper the Conn has
	// the caveats of one made by [New].
	//
	// With such a transport, its Proxy func chooses the proxy as in
	// net/http (DefaultTransport's honours HTTP_PROXY, HTTPS_PROXY and
	// NO_PROXY), and Dial always tunnels: CONNECT through an http:// or
	// https:// proxy, for ws:// and wss:// alike, or SOCKS5 through a
	// socks5:// or socks5h:// proxy, with the credentials of the proxy
	// URL's user info. The Conn's addresses are then those of its
	// connection to the proxy. A proxy's refusal fails Dial with an
	// error wrapping [ErrProxyRefused].
	websocket.DialOptions

	// Options configure the stream.
	Options
}

// Dial opens a WebSocket connection to url (ws://, wss://, http:// or
// https://) and returns it as a Conn. ctx bounds the dial and the
// handshake only: Dial returns within it, and the Conn does not depend on
// it afterwards. The response is the server's handshake response; as with
// websocket.Dial, its body must not be read.
//
// A Dial that fails leaves no connection open, whatever the HTTP client's
// keep-alive settings: the TCP connection of a refused handshake (a 403
// or 503 answer, say) is closed before Dial returns.
func Dial(ctx context.Context, url string, opts *DialOptions) (*Conn, *http.Response, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	so, protos, err := o.Options.resolve(o.Subprotocols)
	if err != nil {
		return nil, nil, err
	}
	o.Subprotocols = protos

	var dialed atomic.Pointer[transport]
	// net/http may go on dialing after the request gave up (for its pool
	// of idle connections); a Dial that fails abandons those dials and
	// waits for them, so that it leaves no connection behind.
	dials := newDialGroup()
	defer dials.abandon()
	hc, tr := hookTransport(o.HTTPClient, so.CloseTimeout, &dialed, dials)
	if hc != nil {
		o.HTTPClient = hc
	}
	h := hooks{ping: o.OnPingReceived, pong: o.OnPongReceived}
	o.OnPingReceived, o.OnPongReceived = h.onPing, h.onPong
	var resp *http.Response
	offStack(func() {
		var ws *websocket.Conn
		ws, resp, err = websocket.Dial(ctx, url, &o.DialOptions)
		if err != nil {
			return
		}
		t := dialed.Load()
		if t != nil {
			t.setLinger(so.CloseTimeout)
		}
		h.c = newConnOver(ws, t, so)
		h.c.start()
	})
	if err != nil {
		dials.abandon()
		dials.wg.Wait()
		if t := dialed.Load(); t != nil {
			t.abort()
		}
		if tr != nil {
			tr.CloseIdleConnections()
		}
		return nil, resp, err
	}
	return h.c, resp, nil
}

// dialGroup counts the dials of one Dial's transport, so that a failed
// Dial can cancel and wait for those net/http goes on with.
type dialGroup struct {
	ctx    context.Context // done once abandoned
	cancel context.CancelFunc
	mu     sync.Mutex // orders wg.Add before the Wait that follows abandon
	wg     sync.WaitGroup
}

// errAbandoned is the error of a dial that its Dial no longer waits for.
var errAbandoned = errors.New("wsstream: dial abandoned")

func newDialGroup() *dialGroup {
	ctx, cancel := context.WithCancel(context.Background())
	return &dialGroup{ctx: ctx, cancel: cancel}
}

// start counts a dial, unless the group was abandoned.
func (g *dialGroup) start() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ctx.Err() != nil {
		return false
	}
	g.wg.Add(1)
	return true
}

// abandon cancels the dials in progress and refuses new ones.
func (g *dialGroup) abandon() {
	g.mu.Lock()
	g.cancel()
	g.mu.Unlock()
}

// newConnOver returns a Conn over ws, seeing the connection t below it,
// or with the caveats of New when t is nil. Nothing of the frames is in a
// buffer t does not see (a client's transport hands net/http the response
// head by head, Accept moves net/http's leftovers into t's inbox), so
// Reads may decode them where t has a socket of its own (readdirect.go).
func newConnOver(ws *websocket.Conn, t *transport, o Options) *Conn {
	ws.SetReadLimit(-1) // the read loop streams messages of any size
	if t == nil {
		ctx, cancel := context.WithCancel(context.Background())
		return newConn(ws, nil, o, ctx, cancel, unknownAddr{}, unknownAddr{})
	}
	t.startFrames()
	return newConn(ws, t, o, context.Background(), nil, t.LocalAddr(), t.RemoteAddr())
}

// hookTransport returns a copy of hc whose transport, also returned,
// records the connection it dials in dialed and counts its dials in
// dials. Once dials is abandoned, dials in progress are cancelled and the
// connections they make are closed. It
// returns nils when hc's transport is not an *http.Transport.
func hookTransport(hc *http.Client, closeTimeout time.Duration, dialed *atomic.Pointer[transport], dials *dialGroup) (*http.Client, *http.Transport) {
	if hc == nil {
		hc = http.DefaultClient
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	base, ok := rt.(*http.Transport)
	if !ok {
		return nil, nil
	}
	// A transport of its own also guarantees a fresh connection: the
	// handshake never reuses an idle keep-alive connection.
	tr := base.Clone()
	// Through a proxy, always tunnel (proxy.go); tr's dialers then open
	// the tunnel.
	tunnelThroughProxy(tr)
	wrap := func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !dials.start() {
				return nil, errAbandoned
			}
			defer dials.wg.Done()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			defer context.AfterFunc(dials.ctx, cancel)()
			nc, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if dials.ctx.Err() != nil {
				nc.Close()
				return nil, errAbandoned
			}
			t := newTransport(nc, closeTimeout, true)
			dialed.Store(t)
			return t, nil
		}
	}
	//lint:ignore SA1019 a user's transport may still set only the deprecated hook; it is honoured
	dial := contextDial(tr.DialContext, tr.Dial)
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	tr.DialContext = wrap(dial)
	if tr.DialTLSContext != nil {
		tr.DialTLSContext = wrap(tr.DialTLSContext)
	}
	c := *hc
	c.Transport = tr
	return &c, tr
}
