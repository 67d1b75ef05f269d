//go:build js && wasm

package browsertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/wsstream/wsstream"
	"github.com/wsstream/wsstream/internal/jsharness"
)

// TestEcho writes 16 MiB in writes of random sizes to an echo server while
// reading the echo, checks that every byte comes back in order, and
// closes cleanly.
func TestEcho(t *testing.T) {
	const total = 16 << 20
	c := dial(t, "/ws/echo", nil)
	if got := c.Subprotocol(); got != "wsstream-test" {
		t.Errorf("Subprotocol() = %q, want wsstream-test", got)
	}
	start := time.Now()
	written := make(chan error, 1)
	go func() {
		gen, sizes := jsharness.Pattern(1), rand.New(rand.NewPCG(1, 2))
		for sent := 0; sent < total; {
			p := make([]byte, min(total-sent, 1+sizes.IntN(256<<10)))
			gen.Read(p)
			if _, err := c.Write(p); err != nil {
				written <- fmt.Errorf("after %d bytes: %w", sent, err)
				return
			}
			sent += len(p)
		}
		written <- nil
	}()
	want, got := jsharness.Pattern(1), make([]byte, total)
	sizes := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < total; {
		k, err := c.Read(got[n:min(total, n+1+sizes.IntN(128<<10))])
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", n, err)
		}
		n += k
	}
	exp := make([]byte, total)
	want.Read(exp)
	if i := firstDiff(got, exp); i >= 0 {
		t.Fatalf("the echo differs from what was written at byte %d", i)
	}
	if err := <-written; err != nil {
		t.Fatalf("Write: %v", err)
	}
	t.Logf("16 MiB echoed in %v", time.Since(start))
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Read(got); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v, want net.ErrClosed", err)
	}
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// TestServerWritesThenCloses: the server writes 8 MiB and closes with
// 1000, or with 1001: Read returns every byte, then a bare io.EOF, as on
// TCP after a FIN.
func TestServerWritesThenCloses(t *testing.T) {
	for _, tc := range []struct {
		code int
		n    int
	}{{1000, 8 << 20}, {1001, 1 << 20}} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			c := dial(t, fmt.Sprintf("/ws/write?n=%d&seed=7&code=%d", tc.n, tc.code), nil)
			n, err := readPattern(t, c, 7, 40<<10, 0)
			if n != tc.n || err != io.EOF {
				t.Fatalf("read %d bytes, then %v; want %d bytes, then io.EOF", n, err, tc.n)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close after the peer closed: %v", err)
			}
		})
	}
}

// TestSlowReader: a browser cannot slow a fast server down (no read
// backpressure), so a reader slower than the server is bounded by
// memory, as designed: the browser may hold up to 256 times
// ReadBufferSize of received messages for Read. A server that stays
// within that bound delivers everything to a slow reader; one that gets
// further ahead ends the Conn: Read returns what was held, then an error
// wrapping ErrConnectionLost, and the server sees close code 4009.
func TestSlowReader(t *testing.T) {
	const rbuf = 16 << 10
	const backlog = 256 * rbuf // 4 MiB
	opts := &wsstream.Options{ReadBufferSize: rbuf}

	t.Run("WithinBound", func(t *testing.T) {
		const n = 3 << 20
		c := dial(t, fmt.Sprintf("/ws/write?n=%d&seed=8", n), opts)
		got, err := readPattern(t, c, 8, 16<<10, time.Millisecond)
		if got != n || err != io.EOF {
			t.Fatalf("read %d bytes, then %v; want %d bytes, then io.EOF", got, err, n)
		}
	})

	t.Run("BeyondBound", func(t *testing.T) {
		const n = 64 << 20
		id := newID(t)
		c := dial(t, fmt.Sprintf("/ws/write?n=%d&seed=9&id=%s", n, id), opts)
		// Nothing is read until the server's writing has ended: the
		// browser gives up once the backlog is full.
		if end := get(t, "/seen?id="+id); end != "4009 read buffer overflow" {
			t.Fatalf("the server's writes ended with %q, want the browser's close 4009", end)
		}
		got, err := readPattern(t, c, 9, 64<<10, 0)
		if !errors.Is(err, wsstream.ErrConnectionLost) {
			t.Fatalf("Read after %d bytes: %v, want ErrConnectionLost", got, err)
		}
		if low, high := backlog-64<<10, backlog+64<<10; got < low || got > high {
			t.Errorf("read %d bytes before the error; want %d to %d (the backlog bound)", got, low, high)
		}
		t.Logf("read %d bytes, then: %v", got, err)
	})
}
