//go:build !js

package wsstream

// Dialing through a proxy. net/http sends a plain-HTTP request to an HTTP
// proxy in absolute form (GET http://host/path) and tunnels only https://
// requests with CONNECT. Many proxies refuse to forward a WebSocket
// upgrade that way (a CONNECT-only proxy answers 502), so Dial tunnels
// ws:// as well as wss://, as gorilla/websocket does. The proxy is the one
// the transport's Proxy func chooses, so the choice is exactly net/http's.

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// dialFunc is the shape of http.Transport.DialContext.
type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// proxyConnectTimeout bounds a proxy's handshake when the dial's context
// has no deadline, as net/http bounds its CONNECT.
const proxyConnectTimeout = time.Minute

// tunnelThroughProxy makes tr, a transport of Dial's own, reach the
// server through a tunnel whenever tr.Proxy chooses a proxy: tr.Proxy is
// still called for each request, exactly where net/http calls it, but
// net/http is told "no proxy" and the dial functions open the tunnel
// instead, with the transport's own dialers:
//   - http:// proxy: CONNECT host:port, with Proxy-Authorization Basic
//     from the proxy URL's user info, ProxyConnectHeader (or
//     GetProxyConnectHeader) and OnProxyConnectResponse honoured;
//   - https:// proxy: the same, over TLS to the proxy (with
//     TLSClientConfig, or through DialTLSContext when set, as net/http);
//   - socks5:// and socks5h:// proxy: SOCKS5 CONNECT with the host name
//     unresolved (as net/http does for both), with username/password
//     authentication from the user info.
//
// A wss:// server is then reached over TLS through the tunnel by
// net/http, or by the TLS dialer installed here when the transport has
// DialTLSContext (or DialTLS): that dialer is not used through a proxy,
// as in net/http. tr.Proxy nil means no proxy: tr is left as it is.
func tunnelThroughProxy(tr *http.Transport) {
	if tr.Proxy == nil {
		return
	}
	t := &tunnel{tr: tr, proxy: tr.Proxy}
	// The deprecated hooks are used when the context ones are unset, as
	// net/http does, then cleared so that the new ones are used.
	//lint:ignore SA1019 honouring the user's deprecated hooks
	t.dial, t.dialTLS = contextDial(tr.DialContext, tr.Dial), contextDial(tr.DialTLSContext, tr.DialTLS)
	//lint:ignore SA1019 see above
	tr.Dial, tr.DialTLS = nil, nil
	if t.dial == nil {
		var d net.Dialer
		t.dial = d.DialContext
	}
	tr.Proxy = t.choose
	tr.DialContext = t.dialContext
	if t.dialTLS != nil {
		tr.DialTLSContext = t.dialTLSContext
	}
}

// contextDial returns dc, or d adapted to the shape of dc when only d is
// set, or nil.
func contextDial(dc dialFunc, d func(network, addr string) (net.Conn, error)) dialFunc {
	if dc != nil || d == nil {
		return dc
	}
	return func(_ context.Context, network, addr string) (net.Conn, error) { return d(network, addr) }
}

// tunnel holds the proxy settings of one Dial's transport.
type tunnel struct {
	tr      *http.Transport // for the TLS and CONNECT settings, read at dial time as net/http does
	proxy   func(*http.Request) (*url.URL, error)
	dial    dialFunc // the transport's dialer
	dialTLS dialFunc // the transport's TLS dialer, or nil
	// chosen is the proxy tr.Proxy chose for the request being sent, nil
	// for none. The transport is Dial's own and sends one request at a
	// time (redirects follow each other), and net/http asks for the
	// proxy before it dials.
	chosen atomic.Pointer[url.URL]
}

// choose is the transport's Proxy func: it records the user's choice and
// tells net/http to connect directly.
func (t *tunnel) choose(req *http.Request) (*url.URL, error) {
	u, err := t.proxy(req)
	if err != nil {
		return nil, err
	}
	t.chosen.Store(u)
	return nil, nil
}

func (t *tunnel) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	u := t.chosen.Load()
	if u == nil {
		return t.dial(ctx, network, addr)
	}
	return t.through(ctx, u, addr)
}

func (t *tunnel) dialTLSContext(ctx context.Context, network, addr string) (net.Conn, error) {
	u := t.chosen.Load()
	if u == nil {
		return t.dialTLS(ctx, network, addr)
	}
	nc, err := t.through(ctx, u, addr)
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		nc.Close()
		return nil, err
	}
	tc, err := t.handshake(ctx, nc, host)
	if err != nil {
		return nil, err
	}
	return tc, nil
}

// through returns a connection to the proxy u that is tunnelled to addr.
func (t *tunnel) through(ctx context.Context, u *url.URL, addr string) (net.Conn, error) {
	ctx, cancel := proxyContext(ctx)
	defer cancel()
	nc, err := t.dialProxy(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("wsstream: proxy %s: %w", u.Redacted(), err)
	}
	if u.Scheme == "socks5" || u.Scheme == "socks5h" {
		err = socksConnect(ctx, nc, u, addr)
	} else {
		err = t.connect(ctx, nc, u, addr)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

// proxyContext bounds ctx by proxyConnectTimeout unless it has a deadline.
func proxyContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, proxyConnectTimeout)
}

// dialProxy connects to the proxy u, over TLS for an https:// proxy.
func (t *tunnel) dialProxy(ctx context.Context, u *url.URL) (net.Conn, error) {
	port := u.Port()
	switch u.Scheme {
	case "http":
		port = cmp.Or(port, "80")
	case "https":
		port = cmp.Or(port, "443")
	case "socks5", "socks5h":
		port = cmp.Or(port, "1080")
	default:
		return nil, fmt.Errorf("unsupported proxy scheme %q", u.Scheme)
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	if u.Scheme != "https" {
		return t.dial(ctx, "tcp", addr)
	}
	if t.dialTLS != nil {
		nc, err := t.dialTLS(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		tc, ok := nc.(*tls.Conn)
		if !ok {
			return nc, nil
		}
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		return proxyTLSConn{tc}, nil
	}
	nc, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc, err := t.handshake(ctx, nc, u.Hostname())
	if err != nil {
		return nil, err
	}
	return proxyTLSConn{tc}, nil
}

// proxyTLSConn is a TLS connection to an https:// proxy.
type proxyTLSConn struct{ *tls.Conn }

// Close closes the connection. It reports only a second Close, not a
// failure to send the close_notify alert first: that alert is a courtesy
// to the proxy, as the stream inside has ended by its own protocol (the
// WebSocket close handshake, and TLS's for a wss:// server), and it fails
// whenever the proxy closed the tunnel first.
func (c proxyTLSConn) Close() error {
	if err := c.Conn.Close(); errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// handshake runs a TLS client handshake over nc as net/http would for a
// WebSocket request: with TLSClientConfig, ServerName defaulting to name,
// HTTP/1.1 only. It closes nc on failure.
func (t *tunnel) handshake(ctx context.Context, nc net.Conn, name string) (*tls.Conn, error) {
	cfg := t.tr.TLSClientConfig.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = name
	}
	cfg.NextProtos = nil
	if d := t.tr.TLSHandshakeTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}
