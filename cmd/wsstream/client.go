package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wsstream/wsstream"
)

const clientManual = `NAME
    wsstream client - carry TCP connections, or stdin and stdout, over WebSockets

SYNOPSIS
    wsstream client -url URL [-listen ADDR] [flags]
    wsstream client -url URL -stdio [flags]

DESCRIPTION
    Accepts TCP connections on ADDR and carries each over its own WebSocket
    to URL, where a wsstream server connects it to its target. With -stdio
    it carries its standard input and output instead, once, and exits when
    the tunnel has ended: the form for ssh's ProxyCommand.

    URL is ws:// or wss:// (http:// and https:// mean the same). A wss://
    server's certificate is checked against the system's roots, or against
    -ca. When a token is set (-token-file, or WSSTREAM_TOKEN) it is sent as
    "Authorization: Bearer TOKEN".

    Connections go through the proxy of -proxy, or the one the environment
    names (HTTPS_PROXY for wss://, HTTP_PROXY for ws://, except the hosts of
    NO_PROXY; never for loopback addresses).

    When the server cannot be reached, a connection waits while the client
    retries with exponential backoff (100ms doubling to 5s, each wait drawn
    between half and all of that), for at most -retry-timeout; then the
    local connection is reset. A refusal (HTTP 401, or another 4xx other
    than 408 and 429) and a certificate that does not verify are not
    retried. Every attempt and every tunnel is logged to stderr.

    An end of stream is passed on as an end of stream (a TCP half-close
    toward the local side), a failure as a reset.

    Both commands offer half-close (wsstream's Conn.CloseWrite). With a
    peer that does not accept it, an end of stream from the local side
    closes the WebSocket instead: an answer the target sends after reading
    that end is lost (nc -N, some RPC clients).

    On SIGINT or SIGTERM the client stops accepting, lets open tunnels
    finish for at most -drain-timeout, resets the rest and exits.

FLAGS
%s

ENVIRONMENT
    WSSTREAM_TOKEN
        The shared secret, when -token-file is not given.
    HTTPS_PROXY, HTTP_PROXY, NO_PROXY (and lower case)
        The proxy, when -proxy is not given.

EXAMPLES
    Reach a remote SSH server through a local port:
        wsstream client -url wss://tunnel.example.com/ -listen 127.0.0.1:2222
        ssh -p 2222 user@127.0.0.1

    As ssh's ProxyCommand, with the token in a file:
        ssh -o ProxyCommand='wsstream client -stdio -token-file ~/.wsstream-token -url wss://tunnel.example.com/' user@host

    Through a SOCKS5 proxy, with a private CA:
        wsstream client -url wss://tunnel.internal:8443/ -ca ca.pem -proxy socks5://user:pass@127.0.0.1:1080

EXIT STATUS
    0 after SIGINT or SIGTERM, or with -stdio when the tunnel ended
    cleanly; 1 on an error (with -stdio: the server could not be reached, or
    the tunnel failed); 2 on an invalid command line.
`

func runClient(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := newCommand("client", clientManual, stdout, stderr)
	fs := cmd.fs
	rawURL := fs.String("url", "", "the wsstream server's WebSocket `URL`: ws://, wss://, http:// or https://\n(required)")
	listen := fs.String("listen", "127.0.0.1:2222", "accept local connections on the TCP address `ADDR`; a port of 0 picks\na free one")
	stdio := fs.Bool("stdio", false, "carry standard input and output instead of listening")
	caFile := fs.String("ca", "", "trust only the PEM certificates in `FILE` for wss:// (instead of the\nsystem's roots)")
	proxy := fs.String("proxy", "", "connect through the proxy at `URL`: http://, https://, socks5:// or\nsocks5h://, with user:password@ if it needs them; without it the\nenvironment's proxy is used")
	retry := fs.Duration("retry-timeout", 30*time.Second, "how long (`DURATION`) a connection waits while the server cannot be\nreached, across all attempts; 0 makes a single attempt")
	var common commonFlags
	common.register(fs, "the server")
	if err := cmd.parse(args, "url"); err != nil {
		return err
	}
	if *stdio && cmd.isSet("listen") {
		return cmd.usageError("-listen and -stdio exclude each other")
	}
	u, err := parseServerURL(*rawURL)
	if err != nil {
		return cmd.usageError("-url: %v", err)
	}
	proxyFunc := http.ProxyFromEnvironment
	if *proxy != "" {
		pu, err := parseProxyURL(*proxy)
		if err != nil {
			return cmd.usageError("-proxy: %v", err)
		}
		proxyFunc = http.ProxyURL(pu)
	}
	token, err := common.token()
	if err != nil {
		return err
	}
	hc, err := httpClient(*caFile, proxyFunc)
	if err != nil {
		return err
	}
	log := common.logger(stderr, "client")
	opts := dialOptions(hc, token)
	opts.Options = common.options()
	if token != "" && (u.Scheme == "ws" || u.Scheme == "http") {
		log.Warn("sending the token without TLS: anyone on the path can read it", "url", u.Redacted())
	}
	c := &tunnelClient{url: u.String(), opts: opts, retry: *retry, dialTimeout: common.dialTimeout, log: log}

	if *stdio {
		return c.runStdio(ctx, stdin, stdout, common.drainTimeout)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wsstream client: listening on %s, forwarding to %s\n", l.Addr(), u.Redacted())
	return c.serve(ctx, l, common.drainTimeout)
}

// dialOptions returns the options of the client's handshakes: hc, and
// the token as a bearer token when it is not "".
func dialOptions(hc *http.Client, token string) *wsstream.DialOptions {
	opts := &wsstream.DialOptions{}
	opts.HTTPClient = hc
	if token != "" {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + token}}
	}
	return opts
}

// tunnelClient carries local connections, each over its own WebSocket to
// url.
type tunnelClient struct {
	url         string // ws:// or wss://
	opts        *wsstream.DialOptions
	retry       time.Duration // see dialRetry
	dialTimeout time.Duration // bounds one attempt
	backoff     backoff
	log         *slog.Logger
	stats       stats
}

// serve accepts TCP connections from l until ctx is done or l fails, and
// forwards each over a new WebSocket to c.url. When ctx is done it closes
// l and lets open tunnels finish for at most drain; then it resets them
// (see pipe). It returns once every connection has ended: nil after ctx
// is done, or Accept's error.
func (c *tunnelClient) serve(ctx context.Context, l net.Listener, drain time.Duration) error {
	return serveConns(ctx, l, func() { l.Close() }, drain, c.log, func(ctx context.Context, id uint64, nc net.Conn) {
		tc := nc.(*net.TCPConn) // l is a TCP listener
		log := c.log.With("id", id, "remote", tc.RemoteAddr().String())
		ws, err := c.dialRetry(ctx, log)
		if err != nil {
			log.Error("no tunnel: closing the local connection", "url", c.url, "err", err)
			tcpLocal{tc}.Abort()
			c.stats.conns.Add(1)
			return
		}
		log.Debug("tunnel opened", "url", c.url)
		pipe(ctx, ws, tcpLocal{tc}, log, &c.stats)
	})
}
