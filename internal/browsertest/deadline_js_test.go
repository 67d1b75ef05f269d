//go:build js && wasm

package browsertest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/wsstream/wsstream"
	"github.com/wsstream/wsstream/internal/jsharness"
)

// wantTimeout fails t unless err is a net.Error timeout matching
// os.ErrDeadlineExceeded.
func wantTimeout(t testing.TB, what string, err error) {
	t.Helper()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: %v, want a net.Error timeout", what, err)
	}
}

// TestReadDeadline: a Read whose deadline passes returns a timeout, and
// the Conn stays usable once the deadline is cleared.
func TestReadDeadline(t *testing.T) {
	c := dial(t, "/ws/echo", nil)
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	buf := make([]byte, 8)
	_, err := c.Read(buf)
	wantTimeout(t, "Read", err)
	c.SetReadDeadline(time.Time{})
	if _, err := c.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf[:5]); err != nil || string(buf[:5]) != "after" {
		t.Fatalf("Read after the timeout: %q, %v", buf[:5], err)
	}
}

// TestWriteBlocksOnSlowServer: against a server that does not read, Write
// blocks once the server's buffer, TCP's and the browser's are full; the
// write deadline then fails it with a timeout that reports how many bytes
// were queued. Once the server reads, every byte reported written arrives,
// in order, followed by what is written after the timeout.
func TestWriteBlocksOnSlowServer(t *testing.T) {
	id := newID(t)
	c := dial(t, "/ws/check?hold=1&seed=11&id="+id, nil)
	gen := jsharness.Pattern(11)
	p := make([]byte, 256<<10)
	total, timedOut := 0, false
	for total < 512<<20 {
		gen.Read(p)
		// A Write that has not returned within 500 ms is blocked.
		c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Write(p)
		total += n
		if err != nil {
			wantTimeout(t, fmt.Sprintf("Write after %d bytes", total), err)
			timedOut = true
			// The pattern continues from what was queued.
			gen = jsharness.Pattern(11)
			io.CopyN(io.Discard, gen, int64(total))
			break
		}
	}
	if !timedOut {
		t.Fatalf("%d bytes written to a server that does not read, and Write never blocked", total)
	}
	t.Logf("Write blocked after %d bytes", total)

	get(t, "/release?id="+id)
	c.SetWriteDeadline(time.Time{})
	const more = 1 << 20
	p = make([]byte, more)
	gen.Read(p)
	if _, err := c.Write(p); err != nil {
		t.Fatalf("Write once the server reads: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	want := fmt.Sprintf("bytes=%d ok end=EOF", total+more)
	if got := get(t, "/seen?id="+id); got != want {
		t.Fatalf("the server saw %q, want %q", got, want)
	}
}

// TestPing: a browser cannot send pings. Ping says so with
// ErrPingUnsupported, and keepalive, even with a tiny interval, turns
// itself off instead of failing the Conn.
func TestPing(t *testing.T) {
	c := dial(t, "/ws/echo", &wsstream.Options{KeepaliveInterval: 5 * time.Millisecond, KeepaliveTimeout: 5 * time.Millisecond})
	if _, err := c.Ping(testContext(t)); !errors.Is(err, wsstream.ErrPingUnsupported) {
		t.Fatalf("Ping: %v, want ErrPingUnsupported", err)
	}
	// Let many keepalive intervals and timeouts pass: the Conn must
	// survive them. (Waiting is the point: nothing must happen.)
	time.Sleep(200 * time.Millisecond)
	buf := make([]byte, 4)
	if _, err := c.Write([]byte("live")); err != nil {
		t.Fatalf("Write after keepalive gave up: %v", err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "live" {
		t.Fatalf("Read after keepalive gave up: %q, %v", buf, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
