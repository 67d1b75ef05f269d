//go:build !js

package wsstream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// halfClosePair returns a pair that agreed on the half-close extension.
func halfClosePair(t *testing.T) (client, server *Conn) {
	t.Helper()
	return newPair(t, pairOptions{
		dial:   &DialOptions{Options: Options{HalfClose: true}},
		accept: &AcceptOptions{Options: Options{HalfClose: true}},
	})
}

// TestCloseWriteDeliversThenEOF: like TCP's shutdown(SHUT_WR), in both
// orientations and with data in flight both ways: the half-closing side's
// bytes arrive, then io.EOF, while the other side keeps writing until it
// closes.
func TestCloseWriteDeliversThenEOF(t *testing.T) {
	for _, first := range []string{"client", "server"} {
		t.Run(first+" half-closes", func(t *testing.T) {
			client, server := halfClosePair(t)
			a, b := client, server
			if first == "server" {
				a, b = server, client
			}
			if a.Subprotocol() != "" {
				t.Errorf("Subprotocol() = %q: the extension's token leaked", a.Subprotocol())
			}
			rng := rand.New(rand.NewPCG(7, 8))
			fromA, fromB := randBytes(rng, 3<<20), randBytes(rng, 2<<20)
			aDone := make(chan error, 1)
			go func() {
				if err := writeRandomly(rng, a, fromA); err != nil {
					aDone <- err
					return
				}
				aDone <- a.CloseWrite()
			}()
			bRead := make(chan struct{})
			bWrote := make(chan error, 1)
			go func() {
				err := writeRandomly(rand.New(rand.NewPCG(9, 10)), b, fromB)
				if err == nil {
					// Everything written and a's stream read: close.
					select {
					case <-bRead:
						err = b.Close()
					case <-time.After(testTimeout):
						err = errors.New("b never finished reading")
					}
				}
				bWrote <- err
			}()
			// b reads a's whole stream, then io.EOF, again and again.
			if got := readAllExact(t, b); !bytes.Equal(got, fromA) {
				t.Fatalf("b read %d bytes, want a's %d", len(got), len(fromA))
			}
			if _, err := b.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("b's Read after EOF: %v, want io.EOF", err)
			}
			close(bRead)
			if err := recv(t, aDone); err != nil {
				t.Fatalf("a: %v", err)
			}
			if _, err := a.Write([]byte("x")); !errors.Is(err, ErrWriteClosed) {
				t.Errorf("Write after CloseWrite: %v, want ErrWriteClosed", err)
			}
			if err := a.CloseWrite(); err != nil {
				t.Errorf("second CloseWrite: %v, want nil", err)
			}
			// a still reads b's whole stream, then io.EOF from b's Close.
			if got := readAllExact(t, a); !bytes.Equal(got, fromB) {
				t.Fatalf("a read %d bytes, want b's %d", len(got), len(fromB))
			}
			if err := recv(t, bWrote); err != nil {
				t.Fatalf("b: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Errorf("a's Close: %v", err)
			}
		})
	}
}

// TestCloseWriteAfterTimedOutWrite: a Write cut by its deadline leaves
// the stream intact; CloseWrite sends the end after exactly the bytes
// that Write reported.
func TestCloseWriteAfterTimedOutWrite(t *testing.T) {
	client, server := halfClosePair(t)
	client.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	data := randBytes(rand.New(rand.NewPCG(1, 2)), 16<<20)
	n, err := client.Write(data) // the server does not read yet
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write: %d, %v; want a timeout", n, err)
	}
	if err := client.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	if got := readAllExact(t, server); !bytes.Equal(got, data[:n]) {
		t.Fatalf("server read %d bytes, want the %d Write reported", len(got), n)
	}
}

// TestCloseDuringHalfClose: Close after CloseWrite runs the handshake;
// the peer, still writing, learns that the Conn closed.
func TestCloseDuringHalfClose(t *testing.T) {
	client, server := halfClosePair(t)
	if err := client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	server.SetDeadline(time.Now().Add(testTimeout))
	if _, err := server.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("server Read: %v, want io.EOF", err)
	}
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for {
		if _, err := server.Write(make([]byte, 1024)); err != nil {
			if !errors.Is(err, ErrPeerClosed) {
				t.Fatalf("server Write after the client closed: %v, want ErrPeerClosed", err)
			}
			break
		}
	}
}

// TestCloseWriteWithoutExtension: a peer that did not agree gets nothing
// it could misread, and the Conn is unaffected.
func TestCloseWriteWithoutExtension(t *testing.T) {
	for _, tt := range []struct {
		name         string
		clientHC     bool
		serverHC     bool
		serverProtos []string
	}{
		{"server without it", true, false, nil},
		{"client without it", false, true, nil},
		{"application subprotocol preferred", true, true, []string{"app.v1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dial := &DialOptions{Options: Options{HalfClose: tt.clientHC}}
			accept := &AcceptOptions{Options: Options{HalfClose: tt.serverHC}}
			if tt.serverProtos != nil {
				dial.Subprotocols = tt.serverProtos
				accept.Subprotocols = tt.serverProtos
			}
			client, server := newPair(t, pairOptions{dial: dial, accept: accept})
			for _, c := range []*Conn{client, server} {
				if err := c.CloseWrite(); !errors.Is(err, ErrHalfCloseUnsupported) {
					t.Fatalf("CloseWrite: %v, want ErrHalfCloseUnsupported", err)
				}
			}
			if tt.serverProtos != nil && client.Subprotocol() != "app.v1" {
				t.Errorf("Subprotocol() = %q, want the application's", client.Subprotocol())
			}
			roundTrip(t, client, server)
			roundTrip(t, server, client)
		})
	}
}

// TestDataAfterEndOfStreamIsRefused: a peer that sends data after its
// end-of-stream marker breaks the extension: the Conn refuses it with
// 1002 and reports it, after the data that came before the marker.
func TestDataAfterEndOfStreamIsRefused(t *testing.T) {
	accepted := make(chan *websocket.Conn, 1)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{halfCloseProtocol}})
		if err != nil {
			return
		}
		accepted <- ws
	})
	c, _, err := Dial(testContext(t), s.url, &DialOptions{Options: Options{HalfClose: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ws *websocket.Conn
	select {
	case ws = <-accepted:
	case <-time.After(testTimeout):
		t.Fatal("no upgrade")
	}
	defer ws.CloseNow()
	ctx := testContext(t)
	for _, msg := range []string{"before", "", "after"} {
		if err := ws.Write(ctx, websocket.MessageBinary, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(io.LimitReader(c, 6))
	if string(got) != "before" || err != nil {
		t.Fatalf("read %q, %v; want the data before the marker", got, err)
	}
	var rerr error
	for rerr == nil || rerr == io.EOF {
		_, rerr = c.Read(make([]byte, 8))
	}
	if !errors.Is(rerr, ErrConnectionLost) {
		t.Fatalf("Read: %v, want the refusal (ErrConnectionLost)", rerr)
	}
	if _, err := c.Write([]byte("x")); err == nil || err.Error() != rerr.Error() {
		t.Errorf("Write: %v, want Read's cause %v", err, rerr)
	}
}
