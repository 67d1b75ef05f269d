//go:build !js

package wsstream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait in a test, so a bug fails a test instead
// of hanging the run.
const testTimeout = 20 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// server is an HTTP server on loopback whose handler is set per test.
type server struct {
	*httptest.Server
	url string
}

func newServer(t testing.TB, h http.HandlerFunc) *server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return &server{Server: s, url: "ws" + strings.TrimPrefix(s.URL, "http")}
}

// newAcceptServer starts a server whose handler upgrades every request
// with Accept(opts) and sends the Conn on the returned channel.
func newAcceptServer(t testing.TB, opts *AcceptOptions) (*server, <-chan *Conn) {
	accepted := make(chan *Conn, 1)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		accepted <- c
	})
	return s, accepted
}

// pairOptions configure newPair. Nil fields take defaults.
type pairOptions struct {
	dial   *DialOptions
	accept *AcceptOptions
}

// newPair returns two Conns over real loopback TCP: client made by Dial,
// server by Accept. Both are closed, concurrently, when the test ends.
func newPair(t testing.TB, po pairOptions) (client, server *Conn) {
	t.Helper()
	s, accepted := newAcceptServer(t, po.accept)
	client, _, err := Dial(testContext(t), s.url, po.dial)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	select {
	case server = <-accepted:
	case <-time.After(testTimeout):
		t.Fatal("Accept did not return")
	}
	t.Cleanup(func() { closeBoth(client, server) })
	return client, server
}

// closeBoth closes a and b concurrently and waits for both.
func closeBoth(a, b interface{ Close() error }) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.Close() }()
	go func() { defer wg.Done(); b.Close() }()
	wg.Wait()
}

// newClientWithRawServer returns a Conn made by Dial whose peer is a raw
// coder/websocket server connection.
func newClientWithRawServer(t testing.TB, opts *DialOptions) (*Conn, *websocket.Conn) {
	t.Helper()
	accepted := make(chan *websocket.Conn, 1)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("websocket.Accept: %v", err)
			return
		}
		accepted <- ws
	})
	c, _, err := Dial(testContext(t), s.url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	ws := <-accepted
	t.Cleanup(func() {
		ws.CloseNow()
		c.Close()
	})
	return c, ws
}

// newServerWithRawClient returns a Conn made by Accept whose peer is a
// raw coder/websocket client connection.
func newServerWithRawClient(t testing.TB, opts *AcceptOptions) (*Conn, *websocket.Conn) {
	t.Helper()
	s, accepted := newAcceptServer(t, opts)
	ws, _, err := websocket.Dial(testContext(t), s.url, nil)
	if err != nil {
		t.Fatalf("websocket.Dial: %v", err)
	}
	c := <-accepted
	t.Cleanup(func() {
		ws.CloseNow()
		c.Close()
	})
	return c, ws
}
