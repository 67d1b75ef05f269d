//go:build js && wasm

package browsertest

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream"
)

// TestServerCloseCode: a server closing with 4001 "bye" after 100 KiB
// makes Read return the 100 KiB, then an error wrapping ErrPeerClosed
// whose close status is 4001 with reason "bye"; Write reports the same.
func TestServerCloseCode(t *testing.T) {
	const n = 100 << 10
	c := dial(t, fmt.Sprintf("/ws/write?n=%d&seed=3&code=4001&reason=bye", n), nil)
	got, err := readPattern(t, c, 3, 8<<10, 0)
	var ce websocket.CloseError
	if got != n || !errors.Is(err, wsstream.ErrPeerClosed) || !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "bye" {
		t.Fatalf("read %d bytes, then %v; want %d bytes, then ErrPeerClosed 4001 bye", got, err, n)
	}
	if _, err := c.Write([]byte("x")); websocket.CloseStatus(err) != 4001 || !errors.Is(err, wsstream.ErrPeerClosed) {
		t.Errorf("Write after the peer closed: %v, want ErrPeerClosed 4001", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after the peer closed: %v", err)
	}
}

// TestClientCloseCode: CloseWithStatus(4002, "x") reaches the server with
// its code and reason, after every byte written before it.
func TestClientCloseCode(t *testing.T) {
	id := newID(t)
	c := dial(t, "/ws/check?seed=4&id="+id, nil)
	if err := c.CloseWithStatus(4002, "x"); err != nil {
		t.Fatalf("CloseWithStatus(4002): %v", err)
	}
	if got := get(t, "/seen?id="+id); got != "bytes=0 ok end=4002 x" {
		t.Fatalf("the server saw %q, want 4002 x", got)
	}
}

// TestRefusedCloseCode: a browser cannot send 1011 (or 1001, or any code
// but 1000 and 3000-4999): CloseWithStatus refuses it before anything
// happens, and the Conn stays open and usable.
func TestRefusedCloseCode(t *testing.T) {
	c := dial(t, "/ws/echo", nil)
	for _, code := range []websocket.StatusCode{1001, 1011, 2999, 5000} {
		if err := c.CloseWithStatus(code, ""); err == nil {
			t.Fatalf("CloseWithStatus(%d) succeeded in a browser", code)
		}
	}
	buf := make([]byte, 4)
	if _, err := c.Write([]byte("open")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "open" {
		t.Fatalf("Read after the refused close: %q, %v", buf, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close (1000): %v", err)
	}
}

// TestConnectionLost: a server that drops the connection without a
// close frame makes Read and Write fail with ErrConnectionLost.
func TestConnectionLost(t *testing.T) {
	c := dial(t, "/ws/drop", nil)
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, wsstream.ErrConnectionLost) {
		t.Fatalf("Read: %v, want ErrConnectionLost", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, wsstream.ErrConnectionLost) {
		t.Errorf("Write: %v, want ErrConnectionLost", err)
	}
}

// TestTextRefused: a text message is refused as natively, but with close
// code 4003, as a browser cannot send 1003: Read returns the data before
// it, then an error wrapping ErrTextMessage.
func TestTextRefused(t *testing.T) {
	id := newID(t)
	c := dial(t, "/ws/text?id="+id, nil)
	buf := make([]byte, 3)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "abc" {
		t.Fatalf("Read: %q, %v", buf, err)
	}
	if _, err := c.Read(buf); !errors.Is(err, wsstream.ErrTextMessage) {
		t.Fatalf("Read after the text message: %v, want ErrTextMessage", err)
	}
	if got := get(t, "/seen?id="+id); got != "4003 wsstream: text messages are not supported on this stream" {
		t.Fatalf("the peer saw %q, want 4003", got)
	}
}
