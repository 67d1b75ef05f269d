//go:build !js

package wsstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/coder/websocket"
)

// newMountedListener returns a Listener made by NewListener, mounted on a
// loopback test server. servedCh, when not nil, receives a value each time
// ServeHTTP has returned. The Listener is closed before the server when
// the test ends.
func newMountedListener(t *testing.T, opts *ListenerOptions, servedCh chan<- struct{}) (*Listener, *server) {
	t.Helper()
	l := NewListener(opts)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		l.ServeHTTP(w, r)
		if servedCh != nil {
			servedCh <- struct{}{}
		}
	})
	t.Cleanup(func() { l.Close() })
	return l, s
}

// acceptConn calls l.Accept and fails the test on error.
func acceptConn(t *testing.T, l *Listener) *Conn {
	t.Helper()
	nc, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	c, ok := nc.(*Conn)
	if !ok {
		t.Fatalf("Accept returned %T, want *Conn", nc)
	}
	return c
}

// requireConnected checks that bytes written on a arrive on b.
func requireConnected(t *testing.T, a, b net.Conn) {
	t.Helper()
	msg := []byte("ping " + a.LocalAddr().String())
	if _, err := a.Write(msg); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatalf("ReadFull: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %q, want %q", got, msg)
	}
}

// TestListenerBacklogFull fills a backlog of one with a Conn that is not
// accepted yet: the next upgrade is refused with 503, and a slot is free
// again once Accept has taken the queued Conn.
func TestListenerBacklogFull(t *testing.T) {
	l, s := newMountedListener(t, &ListenerOptions{Backlog: 1}, nil)
	ctx := testContext(t)

	first, _, err := Dial(ctx, s.url, nil)
	if err != nil {
		t.Fatalf("first Dial: %v", err)
	}
	defer first.Close()

	// The first request took the only slot before it was upgraded, and
	// holds it until Accept: this one must be refused, not upgraded.
	c, resp, err := Dial(ctx, s.url, nil)
	if err == nil {
		c.Close()
		t.Fatal("second Dial succeeded with a full backlog")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second Dial: response %v, error %v; want status 503", resp, err)
	}

	accepted := acceptConn(t, l)
	defer accepted.Close()
	requireConnected(t, first, accepted)

	third, _, err := Dial(ctx, s.url, nil)
	if err != nil {
		t.Fatalf("Dial after Accept freed the slot: %v", err)
	}
	defer third.Close()
	requireConnected(t, acceptConn(t, l), third)
}

// TestListenerNonUpgrade sends plain HTTP requests: they get 426 Upgrade
// Required from both kinds of Listener, and give their backlog slot back.
func TestListenerNonUpgrade(t *testing.T) {
	opts := &ListenerOptions{Backlog: 1}
	mounted, s := newMountedListener(t, opts, nil)
	listening, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { listening.Close() })

	for _, tc := range []struct {
		name string
		l    *Listener
		url  string
	}{
		{"NewListener", mounted, s.URL},
		{"Listen", listening, "http://" + listening.Addr().String() + "/any/path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			for range 3 {
				req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, tc.url, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUpgradeRequired {
					t.Fatalf("GET: status %d (%q), want 426", resp.StatusCode, body)
				}
				if got := resp.Header.Get("Upgrade"); !strings.EqualFold(got, "websocket") {
					t.Errorf("Upgrade header %q, want websocket", got)
				}
			}

			// The refused requests gave their slot back.
			wsURL := "ws" + strings.TrimPrefix(tc.url, "http")
			c, _, err := Dial(testContext(t), wsURL, nil)
			if err != nil {
				t.Fatalf("Dial after plain requests: %v", err)
			}
			defer c.Close()
			a := acceptConn(t, tc.l)
			defer a.Close()
			requireConnected(t, c, a)
		})
	}
}

// TestListenerCloseUnblocksAccept blocks Accept, then closes the
// Listener: Accept returns an error matching net.ErrClosed.
func TestListenerCloseUnblocksAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewListener(nil)
		errCh := make(chan error, 1)
		go func() {
			c, err := l.Accept()
			if c != nil {
				t.Errorf("Accept returned a Conn from an idle Listener")
			}
			errCh <- err
		}()
		synctest.Wait() // Accept is blocked
		select {
		case err := <-errCh:
			t.Fatalf("Accept returned before Close: %v", err)
		default:
		}

		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := <-errCh; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept: %v, want net.ErrClosed", err)
		}
	})
}

// TestListenerAcceptAfterClose: after Close, Accept fails at once with
// net.ErrClosed, requests are answered 503 without an upgrade, and Close
// stays idempotent.
func TestListenerAcceptAfterClose(t *testing.T) {
	l := NewListener(nil)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 2 {
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	rec := httptest.NewRecorder()
	l.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("upgrade request after Close: status %d, want 503", rec.Code)
	}
}

// TestListenerClosesQueuedConns queues three upgraded Conns and accepts
// one: Close closes the two still queued with status 1001 and leaves the
// accepted one open.
func TestListenerClosesQueuedConns(t *testing.T) {
	servedCh := make(chan struct{}, 3)
	l, s := newMountedListener(t, nil, servedCh)
	ctx := testContext(t)

	var clients []*websocket.Conn
	for range 3 {
		ws, _, err := websocket.Dial(ctx, s.url, nil)
		if err != nil {
			t.Fatalf("websocket.Dial: %v", err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		clients = append(clients, ws)
		recv(t, servedCh) // queued: ServeHTTP has returned
	}
	accepted := acceptConn(t, l) // the first one dialled
	defer func() {
		clients[0].CloseNow() // no-op after the clean close below
		accepted.Close()
	}()

	// The queued Conns' close handshake needs their peers to read.
	readErrCh := make(chan error, 2)
	for _, ws := range clients[1:] {
		go func() {
			_, _, err := ws.Read(ctx)
			readErrCh <- err
		}()
	}

	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 2 {
		err := recv(t, readErrCh)
		if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
			t.Errorf("queued Conn's peer read %v (status %d), want status 1001", err, got)
		}
	}

	// The accepted Conn is the caller's: still open.
	msg := []byte("still open")
	if _, err := accepted.Write(msg); err != nil {
		t.Fatalf("Write on the accepted Conn after Close: %v", err)
	}
	typ, got, err := clients[0].Read(ctx)
	if err != nil || typ != websocket.MessageBinary || !bytes.Equal(got, msg) {
		t.Fatalf("peer of the accepted Conn read %v %q %v, want %q", typ, got, err, msg)
	}
	go func() {
		_, _, err := clients[0].Read(ctx)
		readErrCh <- err
	}()
	if err := accepted.Close(); err != nil {
		t.Fatalf("closing the accepted Conn: %v", err)
	}
	if err := recv(t, readErrCh); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("peer of the accepted Conn read %v, want status 1000", err)
	}
}

// TestListenRoundTrip carries data both ways between a Dial Conn and the
// Conn Listen accepted for it, on a path of the client's choosing, and
// checks the addresses and that Close stops the server.
func TestListenRoundTrip(t *testing.T) {
	l, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok || !addr.IP.IsLoopback() || addr.Port == 0 {
		t.Fatalf("Addr() = %#v, want a loopback *net.TCPAddr with a port", l.Addr())
	}

	client, _, err := Dial(testContext(t), "ws://"+addr.String()+"/any/path?q=1", nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer client.Close()
	server := acceptConn(t, l)
	defer server.Close()
	if server.RemoteAddr().String() != client.LocalAddr().String() ||
		server.LocalAddr().String() != client.RemoteAddr().String() {
		t.Errorf("server %v<-%v, client %v->%v: addresses do not match",
			server.LocalAddr(), server.RemoteAddr(), client.LocalAddr(), client.RemoteAddr())
	}

	// The server echoes until the client closes.
	echoErrCh := make(chan error, 1)
	go func() {
		_, err := io.Copy(server, server)
		echoErrCh <- err
	}()
	rng := rand.New(rand.NewPCG(4, 1))
	want := randBytes(rng, 1<<20)
	writeErrCh := make(chan error, 1)
	go func() { writeErrCh <- writeRandomly(rng, client, want) }()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatalf("ReadFull: %v", err)
	}
	if err := recv(t, writeErrCh); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("echoed data differs")
	}
	if err := client.Close(); err != nil {
		t.Fatalf("client Close: %v", err)
	}
	if err := recv(t, echoErrCh); err != nil {
		t.Fatalf("echo: %v, want a clean EOF", err)
	}

	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if c, err := net.Dial("tcp", addr.String()); err == nil {
		c.Close()
		t.Fatal("the server still accepts TCP connections after Close")
	}
}

// TestHTTPOverListener serves HTTP with http.Server over a Listener; the
// client's transport dials with Dial. In each of 20 rounds a fresh
// transport makes 5 keep-alive requests: all succeed over one Conn.
func TestHTTPOverListener(t *testing.T) {
	l, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer l.Close()
	wsURL := "ws://" + l.Addr().String() + "/"

	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
	})}
	serveErrCh := make(chan error, 1)
	go func() { serveErrCh <- srv.Serve(l) }()
	defer func() {
		srv.Close()
		if err := recv(t, serveErrCh); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v, want http.ErrServerClosed", err)
		}
	}()

	for round := range 20 {
		var dials atomic.Int32
		tr := &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				dials.Add(1)
				c, _, err := Dial(ctx, wsURL, nil)
				if err != nil {
					return nil, err // a nil *Conn must not become a non-nil net.Conn
				}
				return c, nil
			},
		}
		hc := &http.Client{Transport: tr}
		for i := range 5 {
			var reused bool
			trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
			ctx := httptrace.WithClientTrace(testContext(t), trace)
			body := fmt.Sprintf("round %d request %d", round, i)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://wsstream.test/echo", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("round %d request %d: %v", round, i, err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("round %d request %d: reading body: %v", round, i, err)
			}
			if want := "POST /echo " + body; resp.StatusCode != http.StatusOK || string(got) != want {
				t.Fatalf("round %d request %d: %d %q, want 200 %q", round, i, resp.StatusCode, got, want)
			}
			if reused != (i > 0) {
				t.Errorf("round %d request %d: connection reused = %v, want %v", round, i, reused, i > 0)
			}
		}
		if n := dials.Load(); n != 1 {
			t.Errorf("round %d: %d dials for 5 keep-alive requests, want 1", round, n)
		}
		tr.CloseIdleConnections()
	}
}
