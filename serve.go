//go:build !js

package wsstream

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// Bounds of the HTTP server of [Listen] and [Serve] on connections that
// are not upgraded. An upgraded connection is free of them: net/http
// clears its deadlines when coder/websocket hijacks it.
const (
	// listenReadHeaderTimeout bounds reading a request's headers, from
	// the first byte awaited; for TLS it also bounds the handshake. A
	// connection that stays silent, or trickles its request, is closed
	// when it passes.
	listenReadHeaderTimeout = 10 * time.Second
	// listenReadTimeout bounds reading the whole request, headers
	// included. A handshake has no body; this ends a request that
	// announces one and never sends it.
	listenReadTimeout = 10 * time.Second
	// listenWriteTimeout bounds writing the answer to a request that is
	// not upgraded, from the end of its headers.
	listenWriteTimeout = 10 * time.Second
)

// serverTimeouts are the timeouts of the HTTP server of Listen and Serve.
type serverTimeouts struct {
	readHeader, read, write time.Duration
}

var defaultServerTimeouts = serverTimeouts{
	readHeader: listenReadHeaderTimeout,
	read:       listenReadTimeout,
	write:      listenWriteTimeout,
}

// Listen listens on the TCP address addr (as net.Listen("tcp", addr)
// does: ":0" picks a free port) and serves it as [Serve] does. Addr
// returns the *net.TCPAddr it listens on.
func Listen(addr string, opts *ListenerOptions) (*Listener, error) {
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return Serve(tcp, opts), nil
}

// Serve serves HTTP on ln in a goroutine of its own, with a Listener as
// the handler for every path, and returns that Listener at once: any
// request that is a WebSocket upgrade becomes a Conn for
// [Listener.Accept]. It mirrors [http.Serve], but the Listener is the
// result rather than the caller's loop. opts may be nil; see
// [NewListener] for how it is used and for the caveats of the handler.
//
// The Listener owns ln: [Listener.Close] closes it and stops the server.
// Addr returns ln.Addr(). For TLS (wss://), pass a listener made by
// [tls.NewListener]; net/http then fills Request().TLS of each Conn. Its
// tls.Config should not offer "h2" in NextProtos: a WebSocket upgrade
// needs HTTP/1.1, and the server does not speak HTTP/2.
//
// The server bounds every connection until it is upgraded: 10 seconds
// for the TLS handshake and the request headers, 10 seconds for the
// whole request (a handshake has no body), and 10 seconds for writing a
// refusal. It serves one request per connection: keep-alives are off, so
// a request that is not upgraded (426, 400, 503, ...) is answered with
// "Connection: close" and its connection is closed. A connection is thus
// never held longer than about 20 seconds without being upgraded. For
// other settings (or middleware, such as authentication before the
// upgrade), mount [NewListener] on an http.Server of your own.
//
// Close shuts the server down: it stops listening, drops HTTP
// connections that have not been upgraded (requests in progress
// included), waits for the server's accept loop, and closes queued
// Conns (see [Listener.Close]).
func Serve(ln net.Listener, opts *ListenerOptions) *Listener {
	l := newListener(opts, ln.Addr())
	to := defaultServerTimeouts
	if opts != nil && opts.timeouts != nil {
		to = *opts.timeouts
	}
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: to.readHeader,
		ReadTimeout:       to.read,
		WriteTimeout:      to.write,
		// A non-nil empty map turns HTTP/2 off, even over TLS.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	// Every request on this server is an upgrade or an error: no
	// connection waits idle for a second request.
	l.srv.SetKeepAlivesEnabled(false)
	l.serveDoneCh = make(chan struct{})
	go func() {
		defer close(l.serveDoneCh)
		l.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return l
}
