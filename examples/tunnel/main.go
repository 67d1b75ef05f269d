// Command tunnel forwards TCP connections over WebSockets, in the manner
// of websocat, wstunnel or chisel, with wsstream doing the WebSocket part:
//
//	tunnel server -listen :8080 -to HOST:PORT
//	tunnel client -listen 127.0.0.1:2222 -url ws://SERVER:8080/
//
// The client accepts local TCP connections and carries each over its own
// WebSocket (wsstream.Dial) to the server, which accepts it
// (wsstream.Listen, any path) and connects it to the target. Bytes are
// copied both ways; how the end of a stream and failures are passed on is
// described at pipe in tunnel.go. Errors and each connection's end are
// logged to stderr with log/slog.
//
// With no arguments, tunnel runs a self-contained demo on 127.0.0.1: an
// echo server as the target, a tunnel server and a tunnel client, and a
// connection through them.
//
//	go run ./tunnel
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/wsstream/wsstream"
)

const usage = `usage: tunnel                 run a demo on 127.0.0.1 and exit
       tunnel server [flags]   accept WebSockets, connect each to a TCP target
       tunnel client [flags]   accept TCP connections, carry each over a WebSocket

Run "tunnel server -h" or "tunnel client -h" for the flags.
`

// errUsage marks errors in the command line; main exits with status 2.
var errUsage = errors.New("invalid command line")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "tunnel:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "tunnel:", err)
		os.Exit(1)
	}
}

// run runs the command line args: a subcommand, or the demo when args is
// empty. The server and client run until ctx is done and then return nil.
// Each prints one line to stdout when it listens; logs go to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return demo(ctx, stdout, stderr)
	}
	switch args[0] {
	case "server":
		return runServer(ctx, args[1:], stdout, stderr)
	case "client":
		return runClient(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
	}
}

// newFlagSet returns a flag set for a subcommand, whose -h prints the
// subcommand's synopsis and flags.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tunnel "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: tunnel %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, requiring the flags in required to be non-empty and
// allowing no positional arguments.
func parse(fs *flag.FlagSet, args []string, required map[string]*string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	for name, v := range required {
		if *v == "" {
			fs.Usage()
			return fmt.Errorf("%w: -%s is required", errUsage, name)
		}
	}
	return nil
}

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("server", "-listen ADDR -to HOST:PORT\n\nAccepts WebSocket connections on any path and connects each to the target over TCP.", stderr)
	listen := fs.String("listen", ":8080", "TCP `address` to accept WebSocket connections on")
	to := fs.String("to", "", "TCP `host:port` to connect each WebSocket to (required)")
	if err := parse(fs, args, map[string]*string{"to": to}); err != nil {
		return err
	}

	l, err := wsstream.Listen(*listen, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tunnel server: listening on ws://%s/, forwarding to %s\n", l.Addr(), *to)
	s := &tunnelServer{target: *to, log: slog.New(slog.NewTextHandler(stderr, nil)).With("side", "server")}
	return s.serve(ctx, l)
}

func runClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("client", "-listen ADDR -url ws://HOST:PORT/PATH\n\nAccepts TCP connections and carries each over its own WebSocket to the URL.", stderr)
	listen := fs.String("listen", "127.0.0.1:2222", "TCP `address` to accept local connections on")
	url := fs.String("url", "", "WebSocket `URL` of the tunnel server, ws:// or wss:// (required)")
	if err := parse(fs, args, map[string]*string{"url": url}); err != nil {
		return err
	}

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tunnel client: listening on %s, forwarding to %s\n", l.Addr(), *url)
	c := &tunnelClient{url: *url, log: slog.New(slog.NewTextHandler(stderr, nil)).With("side", "client")}
	return c.serve(ctx, l)
}

// demo runs an echo server, a tunnel server in front of it and a tunnel
// client in front of that, all on 127.0.0.1 with ports chosen by the
// system; sends a few lines and 1 MiB of random bytes through, checks
// what comes back, and shuts everything down.
func demo(ctx context.Context, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The demo's own output is on stdout; the tunnel logs only problems.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // runs before wg.Wait

	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	wg.Go(func() { serveEcho(ctx, target) })

	wl, err := wsstream.Listen("127.0.0.1:0", nil)
	if err != nil {
		return err
	}
	ts := &tunnelServer{target: target.Addr().String(), log: log.With("side", "server")}
	wg.Go(func() { ts.serve(ctx, wl) })
	url := "ws://" + wl.Addr().String() + "/tunnel"

	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	tc := &tunnelClient{url: url, log: log.With("side", "client")}
	clientDoneCh := make(chan struct{})
	wg.Go(func() {
		defer close(clientDoneCh)
		tc.serve(ctx, cl)
	})

	fmt.Fprintf(stdout, "target (echo server)  tcp  %s\n", target.Addr())
	fmt.Fprintf(stdout, "tunnel server         %s -> %s\n", url, target.Addr())
	fmt.Fprintf(stdout, "tunnel client         tcp  %s -> %s\n\n", cl.Addr(), url)

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cl.Addr().String())
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Fprintf(stdout, "connected to the tunnel client: %s -> %s\n", conn.LocalAddr(), conn.RemoteAddr())

	r := bufio.NewReader(conn)
	for _, line := range []string{"hello", "these bytes went through a WebSocket", "and came back"} {
		if _, err := fmt.Fprintln(conn, line); err != nil {
			return err
		}
		got, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading the echo of %q: %w", line, err)
		}
		fmt.Fprintf(stdout, "sent %-40q got back %q\n", line, strings.TrimSuffix(got, "\n"))
	}

	const size = 1 << 20
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{}).Read(data)
	writeErrCh := make(chan error, 1)
	go func() {
		_, err := conn.Write(data)
		writeErrCh <- err
	}()
	back := make([]byte, size)
	if _, err := io.ReadFull(r, back); err != nil {
		return fmt.Errorf("reading the echo of %d random bytes: %w", size, err)
	}
	if err := <-writeErrCh; err != nil {
		return err
	}
	sent, got := sha256.Sum256(data), sha256.Sum256(back)
	fmt.Fprintf(stdout, "sent %d random bytes, got %d back\n", size, len(back))
	fmt.Fprintf(stdout, "  sha256 sent      %x\n", sent)
	fmt.Fprintf(stdout, "  sha256 received  %x\n", got)
	if sent != got {
		return errors.New("the bytes that came back differ from those sent")
	}
	fmt.Fprintln(stdout, "  checksums match")

	// Shutting down our sending side: the tunnel client reads EOF and
	// closes its WebSocket; the tunnel server passes that on to the target
	// as a half-close; the tunnel client half-closes our connection.
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	if b, err := r.ReadByte(); err != io.EOF {
		return fmt.Errorf("after our half-close: read %q, %v; want EOF", b, err)
	}
	fmt.Fprintln(stdout, "half-closed our side; the tunnel closed the WebSocket and we read EOF")
	conn.Close()
	cancel()
	<-clientDoneCh
	fmt.Fprintf(stdout, "\nclosed; the tunnel client carried %d bytes to the WebSocket and %d back over %d connection(s)\n",
		tc.stats.toWS.Load(), tc.stats.fromWS.Load(), tc.stats.conns.Load())
	return nil
}

// serveEcho echoes every connection l accepts until ctx is done.
func serveEcho(ctx context.Context, l net.Listener) {
	acceptLoop(ctx, l, func(c net.Conn) {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		defer c.Close()
		io.Copy(c, c)
	})
}
