package bench

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// stopTimeout bounds how long stopping a server waits for the serve
// calls of its connections to return.
const stopTimeout = 20 * time.Second

// errStopTimeout reports that serve calls were still running when a
// server stopped, stopTimeout after it was asked to.
var errStopTimeout = errors.New("bench: serve calls still running after stopTimeout")

// serveFunc serves one accepted connection. It runs in the goroutine that
// accepted the connection, and the transport closes the connection when
// serve returns.
type serveFunc func(c net.Conn)

// dialFunc opens one client connection to a server; the caller closes it.
type dialFunc func(ctx context.Context) (net.Conn, error)

// transport is one way of carrying a byte stream between two net.Conns
// over loopback TCP.
type transport struct {
	name string
	// listen starts a server whose accepted connections are served by
	// serve, and returns a dial function for it and a stop function.
	// stop closes the listener and waits for every serve call to return:
	// the caller first closes its client connections, or makes serve
	// return otherwise.
	listen func(serve serveFunc) (dialFunc, func() error, error)
}

// transports are the options every benchmark compares, raw-tcp first as
// the baseline.
var transports = []transport{
	{"raw-tcp", listenTCP},
	{"coder-netconn", listenCoderNetConn},
	{"gorilla", listenGorilla},
	{"x-net", listenXNet},
	{"wsstream", listenWSStream},
}

// serveGroup tracks the serve calls of one server.
type serveGroup struct {
	wg sync.WaitGroup
}

// run serves c with serve and closes c afterwards. The caller has
// counted the call in wg: before the handshake that makes c, so that
// wait, once the listener is closed, cannot miss it.
func (g *serveGroup) run(c net.Conn, serve serveFunc) {
	defer c.Close()
	serve(c)
}

// track counts every call of h in g.wg, from its start: httptest's
// Server.Close waits for handlers that have not hijacked their
// connection yet, so once it returns, wait sees every handler.
func (g *serveGroup) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.wg.Add(1)
		defer g.wg.Done()
		h.ServeHTTP(w, r)
	})
}

// wait waits for every serve call to return, at most stopTimeout.
func (g *serveGroup) wait() error {
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(stopTimeout):
		return errStopTimeout
	}
}

// listenTCP serves plain TCP connections on 127.0.0.1.
func listenTCP(serve serveFunc) (dialFunc, func() error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	var g serveGroup
	g.wg.Add(1) // the accept loop
	go func() {
		defer g.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.wg.Add(1)
			go func() { defer g.wg.Done(); g.run(c, serve) }()
		}
	}()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}
	stop := func() error {
		ln.Close()
		return g.wait()
	}
	return dial, stop, nil
}

// wsServer is an HTTP server on 127.0.0.1 for the WebSocket transports.
type wsServer struct {
	srv *httptest.Server
	url string // ws://127.0.0.1:port
	g   serveGroup
}

// newWSServer starts a server whose handler is made by handler from the
// server's serveGroup.
func newWSServer(handler func(g *serveGroup) http.Handler) *wsServer {
	s := &wsServer{}
	s.srv = httptest.NewServer(s.g.track(handler(&s.g)))
	s.url = "ws" + strings.TrimPrefix(s.srv.URL, "http")
	return s
}

// stop closes the HTTP server and waits for every serve call to return.
// The connections were hijacked, so httptest.Server.Close does not wait
// for them.
func (s *wsServer) stop() error {
	s.srv.Close()
	return s.g.wait()
}
