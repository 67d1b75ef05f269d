// Command yamux multiplexes many streams over one WebSocket: a
// hashicorp/yamux session runs over a wsstream Conn, as it would over a
// TCP connection. The server echoes every stream; the client opens many
// streams at once and checks that each comes back byte for byte.
//
// Run it with no arguments for a demo on 127.0.0.1:
//
//	go run ./yamux [-streams 10] [-size 65536]
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/hashicorp/yamux"
	"github.com/wsstream/wsstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "yamux:", err)
		os.Exit(1)
	}
}

// run runs the demo and writes what it did to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("yamux", flag.ContinueOnError)
	streams := fs.Int("streams", 10, "`count` of concurrent streams")
	size := fs.Int("size", 64<<10, "`bytes` echoed on each stream")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: yamux [flags]\n\nRuns a yamux session over one wsstream Conn and echoes concurrent streams.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	p, err := newPair(ctx)
	if err != nil {
		return err
	}
	defer p.close()
	fmt.Fprintf(stdout, "yamux session over one WebSocket: %s -> %s\n", p.conn.LocalAddr(), p.conn.RemoteAddr())

	if err := echoStreams(p.client, *streams, *size); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d concurrent streams echoed %d bytes each (%d bytes each way in all), every one verified by SHA-256\n",
		*streams, *size, *streams**size)
	return p.close()
}

// pair is a yamux session over a WebSocket: client over a Conn made by
// wsstream.Dial, server over the Conn a wsstream.Listener accepted for it.
// The server echoes every stream the client opens.
type pair struct {
	conn   *wsstream.Conn // the client's WebSocket
	client *yamux.Session
	server *yamux.Session
	// serveErrCh receives serveEcho's result.
	serveErrCh chan error

	closeOnce sync.Once
	serveErr  error // serveEcho's result, set by close
}

// newPair listens on a free port of 127.0.0.1, dials it and starts a
// yamux session over the WebSocket, with the echo server on the
// accepting side. The listener is closed once the connection is made.
func newPair(ctx context.Context) (*pair, error) {
	l, err := wsstream.Listen("127.0.0.1:0", nil)
	if err != nil {
		return nil, err
	}
	defer l.Close() // the accepted Conn stays open

	conn, _, err := wsstream.Dial(ctx, "ws://"+l.Addr().String()+"/yamux", nil)
	if err != nil {
		return nil, err
	}
	nc, err := l.Accept()
	if err != nil {
		conn.Close()
		return nil, err
	}

	cfg := yamux.DefaultConfig()
	cfg.LogOutput = nil
	cfg.Logger = quietLogger{log.New(os.Stderr, "", log.LstdFlags)}
	server, err := yamux.Server(nc, cfg)
	if err != nil {
		conn.Close()
		nc.Close()
		return nil, err
	}
	client, err := yamux.Client(conn, cfg)
	if err != nil {
		conn.Close()
		server.Close()
		return nil, err
	}
	p := &pair{conn: conn, client: client, server: server, serveErrCh: make(chan error, 1)}
	go func() { p.serveErrCh <- serveEcho(server) }()
	return p, nil
}

// close closes the client session, which closes its WebSocket; the
// server session sees it end and closes too. It waits for the echo
// server to return and returns its error.
// It may be called more than once.
func (p *pair) close() error {
	p.closeOnce.Do(func() {
		p.client.Close()
		p.serveErr = <-p.serveErrCh
		p.server.Close()
	})
	return p.serveErr
}

// serveEcho accepts streams on sess and echoes each: it copies what it
// reads back to the stream, and closes the stream when the client has
// closed its side. It returns when the session ends, after every echo has
// finished.
func serveEcho(sess *yamux.Session) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			if sess.IsClosed() {
				return nil
			}
			return err
		}
		wg.Go(func() {
			defer st.Close()
			io.Copy(st, st)
		})
	}
}

// echoStreams opens n streams on sess at once. On each it writes size
// random bytes, then closes its side (a yamux half-close), while reading
// the echo until the server closes; it compares the SHA-256 of what it
// sent and received. It returns the errors of all streams that failed.
func echoStreams(sess *yamux.Session, n, size int) error {
	errCh := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errCh <- echoStream(sess, uint64(i), size) })
	}
	wg.Wait()
	close(errCh)
	var errs []error
	for err := range errCh {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// echoStream echoes size bytes of a random stream seeded with seed over a
// new stream of sess.
func echoStream(sess *yamux.Session, seed uint64, size int) error {
	st, err := sess.OpenStream()
	if err != nil {
		return err
	}
	defer st.Close()

	data := make([]byte, size)
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	rand.NewChaCha8(key).Read(data)

	writeErrCh := make(chan error, 1)
	go func() {
		_, err := st.Write(data)
		if err == nil {
			err = st.Close() // half-close: the echo server sees EOF
		}
		writeErrCh <- err
	}()
	got, err := io.ReadAll(st)
	if werr := <-writeErrCh; werr != nil {
		return fmt.Errorf("stream %d: write: %w", st.StreamID(), werr)
	}
	if err != nil {
		return fmt.Errorf("stream %d: read: %w", st.StreamID(), err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		return fmt.Errorf("stream %d: echo differs: %d bytes back, want %d", st.StreamID(), len(got), len(data))
	}
	return nil
}

// quietLogger passes yamux's log lines on, except its warning about a
// window update for a stream it has already forgotten. That one is benign
// and routine with an echo: the reader sends its last window update while
// the peer, having sent everything and its FIN, already removed the
// stream; yamux drops the frame (see libp2p/go-yamux issue 115, the same
// race in the fork).
type quietLogger struct{ *log.Logger }

func (l quietLogger) Printf(format string, v ...any) {
	if msg := fmt.Sprintf(format, v...); strings.Contains(msg, "frame for missing stream") && strings.Contains(msg, "Type:1 ") {
		return
	}
	l.Logger.Printf(format, v...)
}
