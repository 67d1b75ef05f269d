package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream"
)

const serverManual = `NAME
    wsstream server - accept WebSockets and connect each to a TCP target

SYNOPSIS
    wsstream server -to HOST:PORT [-listen ADDR] [-tls-cert FILE -tls-key FILE]
                    [-token-file FILE | -insecure-no-auth] [flags]

DESCRIPTION
    Serves HTTP (HTTPS with -tls-cert and -tls-key) on ADDR and upgrades
    requests on any path to WebSockets. Each WebSocket is connected to
    HOST:PORT over TCP and bytes are copied both ways until both sides have
    finished. An end of stream is passed on as an end of stream (a TCP
    half-close toward the target), a failure as a reset (TCP) or a close
    status other than 1000 (WebSocket).

    Both commands offer half-close (wsstream's Conn.CloseWrite). With a
    peer that does not accept it, an end of stream from the target closes
    the WebSocket instead: what the client sends after reading that end is
    lost.

    Authentication: when a token is set (-token-file, or the environment
    variable WSSTREAM_TOKEN), a request must carry the header
    "Authorization: Bearer TOKEN", or it is answered 401 before any upgrade.
    The server refuses to listen on an address that is not loopback without
    a token, unless -insecure-no-auth is given.

    It prints one line to stdout when it listens and logs every connection
    to stderr (log/slog text: id, remote address, bytes each way, duration,
    how each direction ended). On SIGINT or SIGTERM it stops accepting, lets
    open tunnels finish for at most -drain-timeout, resets the rest and
    exits.

FLAGS
%s

ENVIRONMENT
    WSSTREAM_TOKEN
        The shared secret, when -token-file is not given.

EXAMPLES
    Forward WebSockets on 127.0.0.1:8080 to the local SSH server:
        wsstream server -to 127.0.0.1:22

    Public, with TLS and a token:
        WSSTREAM_TOKEN=$(cat /etc/wsstream/token) wsstream server \
            -listen :443 -tls-cert cert.pem -tls-key key.pem -to 127.0.0.1:22

EXIT STATUS
    0 after SIGINT or SIGTERM, 1 on an error (address in use, unreadable
    certificate or token), 2 on an invalid command line (including a
    non-loopback -listen without authentication).
`

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newCommand("server", serverManual, stdout, stderr)
	fs := cmd.fs
	listen := fs.String("listen", "127.0.0.1:8080", "accept connections on the TCP address `ADDR`; a port of 0 picks a free one.\nAn address that is not loopback needs a token or -insecure-no-auth")
	to := fs.String("to", "", "connect each WebSocket to the TCP address `HOST:PORT` (required)")
	certFile := fs.String("tls-cert", "", "serve HTTPS (wss://) with the PEM certificate chain in `FILE`;\nneeds -tls-key")
	keyFile := fs.String("tls-key", "", "the PEM private key of -tls-cert, in `FILE`")
	noAuth := fs.Bool("insecure-no-auth", false, "allow a -listen address that is not loopback without a token:\nanyone who reaches it can use the target")
	var common commonFlags
	common.register(fs, "the target")
	if err := cmd.parse(args, "to"); err != nil {
		return err
	}
	if (*certFile == "") != (*keyFile == "") {
		return cmd.usageError("-tls-cert and -tls-key go together")
	}
	token, err := common.token()
	if err != nil {
		return err
	}
	var tlsConfig *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		// HTTP/1.1 only: an HTTP/2 request cannot be upgraded.
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	}

	tl, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if ip := tl.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() && token == "" && !*noAuth {
		tl.Close()
		return cmd.usageError("refusing to serve %s, which is not loopback, without authentication: "+
			"set -token-file or %s, or give -insecure-no-auth", tl.Addr(), tokenEnv)
	}
	log := common.logger(stderr, "server")
	s := &tunnelServer{target: *to, dialTimeout: common.dialTimeout, log: log}
	scheme := "ws"
	if tlsConfig != nil {
		scheme = "wss"
	}
	fmt.Fprintf(stdout, "wsstream server: listening on %s://%s/, forwarding to %s\n", scheme, tl.Addr(), *to)
	if token == "" {
		log.Warn("no token set: every client that reaches the address can use the target")
	}
	opts := &wsstream.ListenerOptions{AcceptOptions: wsstream.AcceptOptions{Options: common.options()}}
	return s.serve(ctx, tl, tlsConfig, token, opts, common.drainTimeout)
}

// tunnelServer accepts WebSocket connections and connects each to target
// over TCP.
type tunnelServer struct {
	target      string // host:port
	dialTimeout time.Duration
	log         *slog.Logger
	stats       stats
}

// serve serves HTTP (HTTPS when tlsConfig is not nil) on tl, upgrades
// requests that carry token (any request when token is "") to WebSockets
// and forwards each to a new TCP connection to s.target.
//
// When ctx is done it stops accepting (closes tl and refuses upgrades)
// and lets open tunnels finish for at most drain; then it resets them (see
// pipe). It returns once every connection has ended: nil after ctx is
// done, or the error that stopped the HTTP server.
func (s *tunnelServer) serve(ctx context.Context, tl net.Listener, tlsConfig *tls.Config, token string,
	opts *wsstream.ListenerOptions, drain time.Duration) error {
	wl := wsstream.NewListener(opts)
	srv := &http.Server{
		Handler:           requireToken(token, wl, s.log),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if tlsConfig != nil {
		srv.TLSConfig = tlsConfig
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){} // no HTTP/2
		tl = tls.NewListener(tl, tlsConfig)
	}
	serveErrCh := make(chan error, 1)
	go func() {
		err := srv.Serve(tl)
		wl.Close() // ends serveConns when the server failed
		serveErrCh <- err
	}()
	var once sync.Once
	stopAccepting := func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if srv.Shutdown(sctx) != nil { // upgrades in progress took too long
				srv.Close()
			}
			wl.Close()
		})
	}
	err := serveConns(ctx, wl, stopAccepting, drain, s.log, func(ctx context.Context, id uint64, nc net.Conn) {
		s.handle(ctx, nc.(*wsstream.Conn), s.log.With("id", id, "remote", nc.RemoteAddr().String()))
	})
	stopAccepting()
	if serr := <-serveErrCh; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// handle connects ws to s.target and pipes them.
func (s *tunnelServer) handle(ctx context.Context, ws *wsstream.Conn, log *slog.Logger) {
	dctx, cancel := context.WithTimeout(ctx, s.dialTimeout)
	var d net.Dialer
	tc, err := d.DialContext(dctx, "tcp", s.target)
	cancel()
	if err != nil {
		log.Error("connecting to the target failed", "target", s.target, "err", err)
		// The client resets its local connection when it reads this.
		ws.CloseWithStatus(websocket.StatusBadGateway, "wsstream: target unreachable")
		s.stats.conns.Add(1)
		return
	}
	log.Debug("tunnel opened", "target", s.target)
	pipe(ctx, ws, tcpLocal{tc.(*net.TCPConn)}, log, &s.stats)
}
