//go:build !js

// Command browser serves a web page whose Go program, compiled to
// WebAssembly, talks to this server through wsstream: the page dials the
// server with wsstream.Dial, which uses the browser's WebSocket, and runs
// a hashicorp/yamux session over the Conn, exactly as a native client
// would over TCP. It opens two streams: on "echo" it sends 1 MiB and
// checks the echo by SHA-256; on "chat" it reads the server's greeting
// and reports its result, which the server prints.
//
// The server builds the page's program (./client) when it starts, with
// the go command (GOOS=js GOARCH=wasm go build), and serves it with the
// wasm_exec.js of the same Go. Run it from the repository root, then open
// the page:
//
//	go run ./examples/browser [-addr 127.0.0.1:8080]
//	open http://127.0.0.1:8080/
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "browser:", err)
		os.Exit(1)
	}
}

// run builds the page's program, serves the page until ctx ends, and
// prints what the pages report.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("browser", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to serve the page on")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: browser [flags]\n\nServes a page whose Go wasm program runs yamux over wsstream in the browser.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	dir, err := os.MkdirTemp("", "wsstream-browser-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(stdout, "building the page's Go program for js/wasm...")
	a, err := build(ctx, filepath.Join(dir, "client.wasm"))
	if err != nil {
		return err
	}

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger := log.New(stdout, "", log.LstdFlags)
	s := newServer(a, func(r report) { logger.Printf("page %s reports: %s", r.remote, r.line) }, logger)
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "open http://%s/ in a browser (Ctrl-C stops)\n", l.Addr())
	errCh := make(chan error, 1)
	go func() { errCh <- hs.Serve(l) }()
	select {
	case err := <-errCh:
		return err
	case <-ctx.Done():
	}
	// Shutdown does not wait for WebSockets (hijacked connections): the
	// server drops them and waits for their handlers.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	s.close()
	return err
}
