package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// writeFile writes content to a new file name in the test's temporary
// directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// lineWriter is an io.Writer that sends every complete line written to
// it on lines (buffered; lines beyond the buffer are dropped).
type lineWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 1000)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	s := w.buf.String()
	for {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok {
			break
		}
		select {
		case w.lines <- line:
		default:
		}
		s = rest
	}
	w.buf.Reset()
	w.buf.WriteString(s)
	return len(p), nil
}

// runInProcess runs the command line args in process, as main does, and
// returns the address in the line it prints when it listens, and its log.
// When the test ends its context is cancelled and run must return nil.
func runInProcess(t *testing.T, args ...string) (addr string, log *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := newLineWriter()
	log = &syncBuffer{}
	errCh := make(chan error, 1)
	go func() { errCh <- run(ctx, args, nil, out, log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errCh:
			if err != nil {
				t.Errorf("run %q: %v", args, err)
			}
		case <-time.After(testTimeout):
			t.Errorf("run %q did not return after the cancel", args)
		}
		t.Logf("run %q log:\n%s", args, log.String())
	})
	select {
	case line := <-out.lines:
		_, rest, ok := strings.Cut(line, "listening on ")
		addr, _, _ = strings.Cut(rest, ",")
		if !ok || addr == "" {
			t.Fatalf("run %q printed %q, want a listening address", args, line)
		}
		return addr, log
	case err := <-errCh:
		errCh <- err
		t.Fatalf("run %q returned %v; log:\n%s", args, err, log.String())
	case <-time.After(testTimeout):
		t.Fatalf("run %q did not listen", args)
	}
	return "", nil
}

// dialTCP connects to addr; the connection is closed when the test ends,
// and its deadline makes a bug fail the test instead of hanging it.
func dialTCP(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(testContext(t), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	return c.(*net.TCPConn)
}

// requireResetAt connects to addr and requires the connection to be
// reset. The reset may come before connect returns (the kernel completes
// the handshake on its own, and the tunnel may reset the connection
// before the dialing goroutine runs again), so a reset at connect counts.
func requireResetAt(t *testing.T, addr string) {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(testContext(t), "tcp", addr)
	if err == nil {
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		_, err = io.Copy(io.Discard, c)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("got %v, want a connection reset", err)
	}
}
