//go:build js && wasm

package browser

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// TestEcho sends 16 MiB in binary messages of random sizes to an echo
// server while reading the echo, and checks every byte and the order;
// a text message keeps its type. Then a clean close.
func TestEcho(t *testing.T) {
	const total = 16 << 20
	ctx := testContext(t)
	c := dial(t, "/ws/echo", nil)
	if got := c.Subprotocol(); got != "wsstream-test" {
		t.Errorf("Subprotocol() = %q, want wsstream-test", got)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("héllo")); err != nil {
		t.Fatal(err)
	}
	typ, r, err := c.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); typ != websocket.MessageText || string(b) != "héllo" {
		t.Fatalf("echo of a text message: %v %q", typ, b)
	}

	written := make(chan error, 1)
	go func() {
		gen, sizes := newPattern(1), rand.New(rand.NewPCG(1, 2))
		for sent := 0; sent < total; {
			p := make([]byte, min(total-sent, 1+sizes.IntN(256<<10)))
			gen.Read(p)
			if err := c.Write(ctx, websocket.MessageBinary, p); err != nil {
				written <- err
				return
			}
			sent += len(p)
		}
		written <- nil
	}()
	want, msg := newPattern(1), make([]byte, 256<<10)
	for n := 0; n < total; {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
		got, err := io.ReadAll(r)
		if typ != websocket.MessageBinary || err != nil {
			t.Fatalf("message after %d bytes: type %v, %v", n, typ, err)
		}
		want.Read(msg[:len(got)])
		if !bytes.Equal(got, msg[:len(got)]) {
			t.Fatalf("the %d bytes after %d differ from what was sent", len(got), n)
		}
		n += len(got)
	}
	if err := <-written; err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, _, err = c.Reader(ctx)
	wantCloseError(t, err, websocket.StatusNormalClosure, "")
	wantReleased(t, c)
}

// TestServerWritesThenCloses: a server writes 4 MiB and closes 1000. The
// test waits until the browser has reported the close before reading:
// every byte still comes first, then the CloseError, every time Reader is
// called.
func TestServerWritesThenCloses(t *testing.T) {
	const total = 4 << 20
	c := dial(t, "/ws/write?n=4194304&seed=2&code=1000&reason=done", nil)
	waitEnded(t, c)
	got, err := readAll(testContext(t), c)
	want := make([]byte, total)
	newPattern(2).Read(want)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want the %d written, unchanged", len(got), total)
	}
	wantCloseError(t, err, websocket.StatusNormalClosure, "done")
	_, _, err = c.Reader(testContext(t))
	wantCloseError(t, err, websocket.StatusNormalClosure, "done")
	if err := c.Write(testContext(t), websocket.MessageBinary, []byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after the close: %v, want net.ErrClosed", err)
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Close after the close: %v, want net.ErrClosed", err)
	}
}

// TestCloseFromServer: the server's code and reason reach Reader.
func TestCloseFromServer(t *testing.T) {
	c := dial(t, "/ws/close?code=4001&reason=bye", nil)
	_, _, err := c.Reader(testContext(t))
	wantCloseError(t, err, 4001, "bye")
}

// TestCloseFromClient: Close's code and reason reach the server, whose
// echo completes the handshake: Close returns nil, and Reader reports the
// echo.
func TestCloseFromClient(t *testing.T) {
	c := dial(t, "/ws/record?id=client4001", nil)
	if err := c.Close(4001, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, _, err := c.Reader(testContext(t))
	wantCloseError(t, err, 4001, "bye")

	req, err := http.NewRequestWithContext(testContext(t), "GET", serverURL(t)+"/seen?id=client4001", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	seen, _ := io.ReadAll(resp.Body)
	if string(seen) != "4001 bye" {
		t.Errorf("the server saw %q, want \"4001 bye\"", seen)
	}
}

// TestCloseRejectsCodes: codes a browser refuses, and long reasons, are
// rejected before anything is sent; the Conn stays usable.
func TestCloseRejectsCodes(t *testing.T) {
	ctx := testContext(t)
	c := dial(t, "/ws/echo", nil)
	for _, code := range []websocket.StatusCode{1001, 1002, 1008, 1011, 2999, 5000} {
		if err := c.Close(code, ""); !errors.Is(err, ErrCloseCode) {
			t.Errorf("Close(%d): %v, want ErrCloseCode", code, err)
		}
	}
	if err := c.Close(4000, strings.Repeat("x", 124)); !errors.Is(err, ErrCloseReason) {
		t.Errorf("Close with a 124-byte reason: %v, want ErrCloseReason", err)
	}
	if err := c.Write(ctx, websocket.MessageBinary, []byte("still open")); err != nil {
		t.Fatal(err)
	}
	if _, r, err := c.Reader(ctx); err != nil {
		t.Fatal(err)
	} else if b, _ := io.ReadAll(r); string(b) != "still open" {
		t.Fatalf("echo %q", b)
	}
	if err := c.Close(4999, strings.Repeat("y", 123)); err != nil {
		t.Fatalf("Close(4999) with a 123-byte reason: %v", err)
	}
}

// TestConnectionLost: a connection dropped without a close frame ends
// with ErrConnectionLost, which is not a CloseError.
func TestConnectionLost(t *testing.T) {
	c := dial(t, "/ws/drop", nil)
	_, _, err := c.Reader(testContext(t))
	var ce websocket.CloseError
	if !errors.Is(err, ErrConnectionLost) || errors.As(err, &ce) {
		t.Fatalf("got %v, want ErrConnectionLost and no CloseError", err)
	}
	wantReleased(t, c)
}

// TestCloseNow: after CloseNow, everything fails with net.ErrClosed at
// once.
func TestCloseNow(t *testing.T) {
	ctx := testContext(t)
	c := dial(t, "/ws/echo", nil)
	if err := c.CloseNow(); err != nil {
		t.Fatalf("CloseNow: %v", err)
	}
	if _, _, err := c.Reader(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Reader: %v, want net.ErrClosed", err)
	}
	if err := c.Write(ctx, websocket.MessageBinary, []byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write: %v, want net.ErrClosed", err)
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Close: %v, want net.ErrClosed", err)
	}
	if err := c.CloseNow(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second CloseNow: %v, want net.ErrClosed", err)
	}
	wantReleased(t, c)
}

// TestPing: a browser cannot ping; Ping says so instead of faking a
// round trip.
func TestPing(t *testing.T) {
	c := dial(t, "/ws/echo", nil)
	if err := c.Ping(testContext(t)); !errors.Is(err, ErrPingUnsupported) {
		t.Fatalf("Ping: %v, want ErrPingUnsupported", err)
	}
}
