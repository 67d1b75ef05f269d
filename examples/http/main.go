// Command http serves plain net/http over WebSocket connections: an
// http.Server serves a wsstream.Listener, and an http.Client's transport
// dials with wsstream.Dial. HTTP keep-alive works as over TCP: the
// requests of a client go over one WebSocket.
//
// Run it with no arguments for a demo on 127.0.0.1:
//
//	go run ./http [-n 5]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"

	"github.com/wsstream/wsstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "http:", err)
		os.Exit(1)
	}
}

// run starts the server, makes n requests with one client and writes
// what happened to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("http", flag.ContinueOnError)
	n := fs.Int("n", 5, "`count` of requests")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: http [flags]\n\nServes net/http over a wsstream Listener and makes keep-alive requests through wsstream.Dial.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	srv, err := startServer("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(stdout, "HTTP server on a WebSocket listener at %s\n", srv.url)

	c := newClient(srv.url)
	defer c.close()
	for i := range *n {
		body, reused, err := c.get(ctx, fmt.Sprintf("http://wsstream.example/hello?i=%d", i))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "GET /hello?i=%d: %q (connection reused: %v)\n", i, body, reused)
	}
	fmt.Fprintf(stdout, "%d requests over %d WebSocket connection(s)\n", *n, c.dials.Load())
	return srv.stop()
}

// server is an http.Server serving a wsstream Listener.
type server struct {
	url        string // the WebSocket URL clients dial
	hs         *http.Server
	serveErrCh chan error // receives Serve's result
	stopOnce   sync.Once
}

// startServer listens on the TCP address addr and serves HTTP over every
// WebSocket connection made to it. Its handler answers /hello with the
// query parameter i and the remote address, which is the WebSocket's:
// requests over one WebSocket show the same one.
func startServer(addr string) (*server, error) {
	l, err := wsstream.Listen(addr, nil)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s from the server, you are %s", r.URL.Query().Get("i"), r.RemoteAddr)
	})
	s := &server{
		url:        "ws://" + l.Addr().String() + "/",
		hs:         &http.Server{Handler: mux},
		serveErrCh: make(chan error, 1),
	}
	go func() { s.serveErrCh <- s.hs.Serve(l) }()
	return s, nil
}

// stop closes the listener and every connection, and waits for Serve to
// return. Only the first call returns Serve's error.
func (s *server) stop() error {
	var err error
	s.stopOnce.Do(func() {
		s.hs.Close() // closes the Listener too
		err = <-s.serveErrCh
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	})
	return err
}

// client is an http.Client whose connections are WebSockets to one URL,
// whatever the host in the request's URL.
type client struct {
	hc    *http.Client
	tr    *http.Transport
	dials atomic.Int32 // WebSockets dialed
}

func newClient(url string) *client {
	c := &client{}
	c.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c.dials.Add(1)
			return (&wsstream.Dialer{URL: url}).DialContext(ctx, network, addr)
		},
	}
	c.hc = &http.Client{Transport: c.tr}
	return c
}

// get fetches url and returns the body and whether the request went over
// a connection that an earlier request used.
func (c *client) get(ctx context.Context, url string) (body string, reused bool, err error) {
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, url, nil)
	if err != nil {
		return "", false, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body) // read to the end, or the connection is not reused
	if err != nil {
		return "", false, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", false, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), reused, nil
}

// close closes the client's idle connections: their WebSockets close.
func (c *client) close() { c.tr.CloseIdleConnections() }
