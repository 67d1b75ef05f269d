package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"
)

// demo runs an echo server, a wsstream server in front of it and a
// wsstream client in front of that, all on 127.0.0.1 with ports chosen by
// the system and a random token; sends a few lines and 1 MiB of random
// bytes through, checks what comes back, half-closes, and shuts
// everything down.
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

	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	token := fmt.Sprintf("%x", rand.Uint64())
	ts := &tunnelServer{target: target.Addr().String(), dialTimeout: 10 * time.Second, log: log.With("side", "server")}
	wg.Go(func() { ts.serve(ctx, tl, nil, token, nil, 5*time.Second) })
	url := "ws://" + tl.Addr().String() + "/tunnel"

	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hc, err := httpClient("", nil)
	if err != nil {
		return err
	}
	tc := &tunnelClient{url: url, opts: dialOptions(hc, token), retry: 5 * time.Second, dialTimeout: 10 * time.Second, log: log.With("side", "client")}
	clientDoneCh := make(chan struct{})
	wg.Go(func() {
		defer close(clientDoneCh)
		tc.serve(ctx, cl, 5*time.Second)
	})

	fmt.Fprintf(stdout, "target (echo server)  tcp  %s\n", target.Addr())
	fmt.Fprintf(stdout, "wsstream server       %s -> %s (bearer token required)\n", url, target.Addr())
	fmt.Fprintf(stdout, "wsstream client       tcp  %s -> %s\n\n", cl.Addr(), url)

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cl.Addr().String())
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(stdout, "connected to the wsstream client: %s -> %s\n", conn.LocalAddr(), conn.RemoteAddr())

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

	// Shutting down our sending side: the echo server reads EOF through
	// the tunnel and closes, and we read EOF.
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	if b, err := r.ReadByte(); err != io.EOF {
		return fmt.Errorf("after our half-close: read %q, %v; want EOF", b, err)
	}
	fmt.Fprintln(stdout, "half-closed our side; the echo server read EOF and closed, and we read EOF")
	conn.Close()
	cancel()
	<-clientDoneCh
	fmt.Fprintf(stdout, "\nclosed; the wsstream client carried %d bytes to the WebSocket and %d back over %d connection(s)\n",
		tc.stats.toWS.Load(), tc.stats.fromWS.Load(), tc.stats.conns.Load())
	return nil
}

// serveEcho echoes every connection l accepts until ctx is done.
func serveEcho(ctx context.Context, l net.Listener) {
	serveConns(ctx, l, func() { l.Close() }, 0, slog.New(slog.DiscardHandler), func(ctx context.Context, _ uint64, c net.Conn) {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		defer c.Close()
		io.Copy(c, c)
	})
}
