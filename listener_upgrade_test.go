//go:build !js

package wsstream

// A Listener facing upgrades that fail or hang: a request announcing a
// body it never sends, a handler stuck inside the upgrade while Close
// runs, middleware that hides the connection, a full backlog. Each
// failed upgrade is reported to OnUpgradeError.

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// rawUpgradeRequest is a valid WebSocket handshake request, but for
// extra, which is inserted among its headers.
func rawUpgradeRequest(extra string) string {
	return "GET / HTTP/1.1\r\nHost: wsstream.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + extra + "\r\n"
}

// upgradeErrors collects what OnUpgradeError reports.
type upgradeErrors chan error

func (ch upgradeErrors) hook(_ *http.Request, err error) {
	select {
	case ch <- err:
	default: // the test reads what it expects; more is not its concern
	}
}

// next returns the next reported error, failing the test after a while.
func (ch upgradeErrors) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(testTimeout):
		t.Fatal("OnUpgradeError was not called")
		return nil
	}
}

// TestListenerRefusesBodyUpgrade sends, on raw TCP, an upgrade request
// announcing a 10-byte body it never sends, to a Listener with a backlog
// of one: it is answered 400 and reported, and a real Dial, made while
// the hostile connection stays open, is upgraded promptly (the hostile
// request does not hold the only slot).
func TestListenerRefusesBodyUpgrade(t *testing.T) {
	errs := make(upgradeErrors, 1)
	opts := &ListenerOptions{Backlog: 1, OnUpgradeError: errs.hook}
	listening, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { listening.Close() })
	mounted, s := newMountedListener(t, opts, nil)

	for _, tc := range []struct {
		name string
		l    *Listener
		addr string
	}{
		{"Listen", listening, listening.Addr().String()},
		{"NewListener", mounted, s.Listener.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostile, err := net.Dial("tcp", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer hostile.Close()
			hostile.SetDeadline(time.Now().Add(testTimeout))
			if _, err := hostile.Write([]byte(rawUpgradeRequest("Content-Length: 10\r\n"))); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(hostile), nil)
			if err != nil {
				t.Fatalf("reading the answer to an upgrade with a body: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("upgrade with a body: status %d, want 400", resp.StatusCode)
			}
			if err := errs.next(t); err == nil {
				t.Fatal("OnUpgradeError got a nil error")
			}

			start := time.Now()
			c, _, err := Dial(testContext(t), "ws://"+tc.addr+"/", nil)
			if err != nil {
				t.Fatalf("Dial after the hostile request: %v", err)
			}
			defer c.Close()
			a := acceptConn(t, tc.l)
			defer a.Close()
			requireConnected(t, c, a)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Dial and Accept took %v after the hostile request", d)
			}
		})
	}
}

// blockingHijacker holds Hijack until release is closed; enteredCh is
// closed when Hijack is called.
type blockingHijacker struct {
	http.ResponseWriter
	enteredCh, release chan struct{}
}

func (w *blockingHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	close(w.enteredCh)
	<-w.release
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// TestListenerCloseBoundedByStuckUpgrade holds an upgrade inside its
// hijack while the Listener closes: Close returns within about the
// Listener's CloseTimeout, not when the upgrade ends. Released later,
// the upgrade completes and its Conn is closed with status 1001 instead
// of being queued.
func TestListenerCloseBoundedByStuckUpgrade(t *testing.T) {
	const closeTimeout = 200 * time.Millisecond
	opts := &ListenerOptions{AcceptOptions: AcceptOptions{Options: Options{CloseTimeout: closeTimeout}}}
	l := NewListener(opts)
	entered, release := make(chan struct{}), make(chan struct{})
	servedCh := make(chan struct{}, 1)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		l.ServeHTTP(&blockingHijacker{ResponseWriter: w, enteredCh: entered, release: release}, r)
		servedCh <- struct{}{}
	})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	type dialResult struct {
		ws  *websocket.Conn
		err error
	}
	dialCh := make(chan dialResult, 1)
	go func() {
		ws, _, err := websocket.Dial(testContext(t), s.url, nil)
		dialCh <- dialResult{ws, err}
	}()
	select {
	case <-entered:
	case <-time.After(testTimeout):
		t.Fatal("the upgrade did not reach Hijack")
	}

	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d < closeTimeout || d > closeTimeout+3*time.Second {
		t.Fatalf("Close returned after %v with an upgrade stuck, want about %v", d, closeTimeout)
	}

	close(release)
	res := <-dialCh
	if res.err != nil {
		t.Fatalf("Dial: %v", res.err)
	}
	defer res.ws.CloseNow()
	_, _, err := res.ws.Read(testContext(t))
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
		t.Fatalf("client of the late upgrade read %v, want status 1001", err)
	}
	recv(t, servedCh)
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

// opaqueWriter hides every method of the ResponseWriter it wraps but the
// three of the interface: no Hijack, no Unwrap.
type opaqueWriter struct{ w http.ResponseWriter }

func (o opaqueWriter) Header() http.Header         { return o.w.Header() }
func (o opaqueWriter) Write(p []byte) (int, error) { return o.w.Write(p) }
func (o opaqueWriter) WriteHeader(code int)        { o.w.WriteHeader(code) }

// TestListenerReportsHijackUnsupported mounts a Listener behind
// middleware that hides the connection: the client gets 501 and
// OnUpgradeError an error matching ErrHijackUnsupported.
func TestListenerReportsHijackUnsupported(t *testing.T) {
	errs := make(upgradeErrors, 1)
	l := NewListener(&ListenerOptions{OnUpgradeError: errs.hook})
	t.Cleanup(func() { l.Close() })
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		l.ServeHTTP(opaqueWriter{w}, r)
	})

	c, resp, err := Dial(testContext(t), s.url, nil)
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded through a writer that cannot hijack")
	}
	if resp == nil || resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("Dial: response %v, error %v; want status 501", resp, err)
	}
	if err := errs.next(t); !errors.Is(err, ErrHijackUnsupported) {
		t.Fatalf("OnUpgradeError got %v, want ErrHijackUnsupported", err)
	}
}

// TestListenerReportsRefusals: a request refused because the backlog is
// full is reported with ErrBacklogFull, a plain request with Accept's
// error, and one after Close with net.ErrClosed.
func TestListenerReportsRefusals(t *testing.T) {
	errs := make(upgradeErrors, 1)
	servedCh := make(chan struct{}, 1)
	l, s := newMountedListener(t, &ListenerOptions{Backlog: 1, OnUpgradeError: errs.hook}, servedCh)

	first, _, err := Dial(testContext(t), s.url, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer first.Close()
	recv(t, servedCh)
	if c, _, err := Dial(testContext(t), s.url, nil); err == nil {
		c.Close()
		t.Fatal("Dial succeeded with a full backlog")
	}
	recv(t, servedCh)
	if err := errs.next(t); !errors.Is(err, ErrBacklogFull) {
		t.Fatalf("OnUpgradeError got %v, want ErrBacklogFull", err)
	}

	resp, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	recv(t, servedCh)
	// The backlog check comes first: still full.
	if err := errs.next(t); !errors.Is(err, ErrBacklogFull) {
		t.Fatalf("OnUpgradeError got %v for a plain request with a full backlog, want ErrBacklogFull", err)
	}
	accepted := acceptConn(t, l)
	defer accepted.Close()

	resp, err = http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	recv(t, servedCh)
	if err := errs.next(t); err == nil || errors.Is(err, ErrBacklogFull) || !strings.Contains(err.Error(), "Upgrade") {
		t.Fatalf("OnUpgradeError got %v for a plain request, want coder/websocket's error about the Upgrade header", err)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if c, _, err := Dial(testContext(t), s.url, nil); err == nil {
		c.Close()
		t.Fatal("Dial succeeded after Close")
	}
	recv(t, servedCh)
	if err := errs.next(t); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("OnUpgradeError got %v after Close, want net.ErrClosed", err)
	}
	http.DefaultClient.CloseIdleConnections()
}
