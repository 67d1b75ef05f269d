//go:build !js

package wsstream

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/wsstream/wsstream/internal/faultproxy"
)

// TestCloseReportsLostConnectionWhileFlushing: when the connection is
// lost while Close waits for written bytes to leave, Close says so with
// an error that wraps ErrConnectionLost, as Read and Write would, not an
// error a caller cannot tell apart.
func TestCloseReportsLostConnectionWhileFlushing(t *testing.T) {
	opts := Options{CloseTimeout: testTimeout, KeepaliveInterval: -1} // only the reset may end the flush
	client, _, link := newProxiedPair(t, opts)
	link.Freeze(faultproxy.ClientToServer)

	// Fill the Conn's queue: Write times out once it is full, and what it
	// accepted stays queued. The deadline is per Write, so that only a
	// Write held back by a full queue times out.
	chunk := make([]byte, 256<<10)
	for {
		client.SetWriteDeadline(time.Now().Add(250 * time.Millisecond))
		if _, err := client.Write(chunk); err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				t.Fatalf("Write into a frozen link: %v, want a timeout", err)
			}
			break
		}
	}
	client.SetWriteDeadline(time.Time{})
	// A Write blocked on the full queue fails with net.ErrClosed as soon
	// as Close begins: the signal that Close is flushing.
	writeErr := make(chan error, 1)
	go func() {
		_, err := client.Write(chunk)
		writeErr <- err
	}()
	closeErr := make(chan error, 1)
	go func() { closeErr <- client.Close() }()
	select {
	case err := <-writeErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Write pending when Close began: %v, want net.ErrClosed", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("a pending Write did not return when Close began")
	}
	link.Reset()
	select {
	case err := <-closeErr:
		if !errors.Is(err, ErrConnectionLost) {
			t.Fatalf("Close after the connection was reset while flushing: %v, want ErrConnectionLost", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close did not return after the connection was reset")
	}
}
