//go:build js && wasm

package browser

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWriteBackpressure: against a server that never reads, Write blocks
// once the browser's send buffer is above WriteBufferSize, after the
// network's buffers have filled, instead of accepting without end; the
// blocked Write ends with an error when the socket is closed.
func TestWriteBackpressure(t *testing.T) {
	const hw, msgSize, limit = 256 << 10, 64 << 10, 256 << 20
	ctx := testContext(t)
	c := dial(t, "/ws/sink", &Options{WriteBufferSize: hw})

	progress := make(chan int, 1) // total accepted, after each Write
	written := make(chan error, 1)
	start := time.Now()
	go func() {
		p := make([]byte, msgSize)
		for total := 0; total < limit; {
			if err := c.Write(ctx, websocket.MessageBinary, p); err != nil {
				written <- err
				return
			}
			total += len(p)
			select {
			case <-progress:
			default:
			}
			progress <- total
		}
		written <- nil
	}()

	// Blocked is the absence of progress: no Write returns for 2 s.
	accepted := 0
	for blocked := false; !blocked; {
		select {
		case accepted = <-progress:
		case err := <-written:
			t.Fatalf("Write never blocked: %d bytes accepted by a server that does not read (err %v)", limit, err)
		case <-time.After(2 * time.Second):
			blocked = true
		}
	}
	buffered := c.buffered()
	t.Logf("Write blocked after accepting %d KiB in %v; bufferedAmount %d KiB (high-water mark %d KiB)",
		accepted>>10, time.Since(start).Round(time.Millisecond), buffered>>10, hw>>10)
	if buffered <= hw || buffered > hw+msgSize {
		t.Errorf("bufferedAmount %d while Write waits, want above %d and at most %d", buffered, hw, hw+msgSize)
	}
	if accepted > 64<<20 {
		t.Errorf("Write accepted %d MiB before blocking, want a bound far below", accepted>>20)
	}

	c.CloseNow()
	select {
	case err := <-written:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Write after CloseNow: %v, want net.ErrClosed", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("a blocked Write did not end when the socket was closed")
	}
}

// TestWriteSlowReader: against a slow reader, every Write returns with the
// send buffer at or below WriteBufferSize, and every byte arrives intact:
// the server checks them and closes 1000 "ok".
func TestWriteSlowReader(t *testing.T) {
	const total, hw = 8 << 20, 64 << 10
	ctx := testContext(t)
	c := dial(t, "/ws/slow?n=8388608&seed=3", &Options{WriteBufferSize: hw})
	gen, maxBuffered, start := newPattern(3), 0, time.Now()
	for sent, i := 0, 0; sent < total; i++ {
		p := make([]byte, min(total-sent, 1+(i*104729)%(128<<10)))
		gen.Read(p)
		if err := c.Write(ctx, websocket.MessageBinary, p); err != nil {
			t.Fatalf("Write after %d bytes: %v", sent, err)
		}
		if b := c.buffered(); b > hw {
			t.Fatalf("Write returned with bufferedAmount %d, above the high-water mark %d", b, hw)
		} else {
			maxBuffered = max(maxBuffered, b)
		}
		sent += len(p)
	}
	t.Logf("wrote %d MiB to a slow reader in %v; largest bufferedAmount after a Write: %d KiB (mark %d KiB)",
		total>>20, time.Since(start).Round(time.Millisecond), maxBuffered>>10, hw>>10)
	_, _, err := c.Reader(ctx)
	wantCloseError(t, err, websocket.StatusNormalClosure, "ok")
}
