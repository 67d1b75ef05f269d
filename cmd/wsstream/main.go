// Command wsstream carries TCP connections over WebSockets, in the manner
// of chisel, wstunnel or websocat, with the wsstream library doing the
// WebSocket part:
//
//	wsstream server -listen 127.0.0.1:8080 -to HOST:PORT
//	wsstream client -url ws://SERVER:8080/ -listen 127.0.0.1:2222
//	ssh -o ProxyCommand='wsstream client -stdio -url wss://SERVER/' user@host
//
// The client accepts local TCP connections (or uses its standard input
// and output) and carries each over its own WebSocket to the server, which
// accepts it on any path and connects it to the target. Bytes are copied
// both ways; how the end of a stream and failures are passed on is
// described at pipe in pipe.go.
//
// With no arguments, or with "demo", wsstream runs a self-contained demo
// on 127.0.0.1: an echo server as the target, a server and a client, and
// a connection through them.
//
//	go run ./cmd/wsstream demo
//
// "wsstream server -h" and "wsstream client -h" describe every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `NAME
    wsstream - carry TCP connections over WebSockets

SYNOPSIS
    wsstream server -to HOST:PORT [-listen ADDR] [flags]
    wsstream client -url URL (-listen ADDR | -stdio) [flags]
    wsstream [demo]

DESCRIPTION
    The server accepts WebSocket connections on any path and connects each
    to a TCP target. The client accepts local TCP connections, or uses its
    standard input and output, and carries each over its own WebSocket to
    the server. With no arguments or "demo", wsstream runs a demo on
    127.0.0.1 and exits.

    Run "wsstream server -h" or "wsstream client -h" for the flags.

EXIT STATUS
    0 after a clean shutdown (SIGINT, SIGTERM) or a finished demo, 1 on an
    error, 2 on an invalid command line.
`

// Sentinel errors.
var (
	// errUsage marks errors in the command line; main exits with status 2.
	errUsage = errors.New("invalid command line")
	// errUnauthorized is returned by a dial that the server refused with
	// HTTP 401: retrying cannot help.
	errUnauthorized = errors.New("the server refused the token (HTTP 401)")
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "wsstream:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "wsstream:", err)
		os.Exit(1)
	}
}

// run runs the command line args: a subcommand, or the demo when args is
// empty. The server and the listening client run until ctx is done, drain
// and return nil. Each prints one line to stdout when it listens; logs go
// to stderr. stdin and stdout are the stream of client -stdio.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return demo(ctx, stdout, stderr)
	}
	switch args[0] {
	case "demo":
		if len(args) > 1 {
			return fmt.Errorf("%w: demo takes no arguments", errUsage)
		}
		return demo(ctx, stdout, stderr)
	case "server":
		return runServer(ctx, args[1:], stdout, stderr)
	case "client":
		return runClient(ctx, args[1:], stdin, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return flag.ErrHelp
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
	}
}
