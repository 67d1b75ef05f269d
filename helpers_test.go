//go:build !js

package wsstream

// Helpers shared by the tests of the root package. Every wait they do is
// bounded by testTimeout.

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream/internal/jsharness"
)

// testTimeout bounds every wait in a test, so a bug fails a test instead
// of hanging the run.
const testTimeout = 20 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// recv returns the next value sent on ch, or the zero value if ch is
// closed, and fails the test if neither happens within testTimeout. Call
// it from the test's goroutine (or a Cleanup), like t.Fatal.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("nothing received on a %T within %v", ch, testTimeout)
		panic("unreachable")
	}
}

// waitGroup waits for wg and fails the test if that takes longer than
// testTimeout. Call it from the test's goroutine (or a Cleanup).
func waitGroup(t testing.TB, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	recv(t, done)
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
	ws := recv(t, accepted)
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
	c := recv(t, accepted)
	t.Cleanup(func() {
		ws.CloseNow()
		c.Close()
	})
	return c, ws
}

// randBytes returns n bytes of the test stream (fillPattern) whose seed
// is drawn from rng: every test's data comes from that one generator, so
// any of it can be checked at any offset.
func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	fillPattern(b, rng.Uint32(), 0)
	return b
}

// patternByte is byte off of the test stream seed: a hash, so that a
// byte lost, repeated or moved is noticed, and cheap to recompute at any
// offset. testdata/interop/pattern.js computes the same bytes.
func patternByte(seed uint32, off int64) byte {
	h := uint32(off) ^ seed*0x9e3779b9
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return byte(h)
}

// fillPattern fills b with the bytes of stream seed from offset off.
func fillPattern(b []byte, seed uint32, off int64) {
	for i := range b {
		b[i] = patternByte(seed, off+int64(i))
	}
}

// writeRandomly writes data to w in chunks of random size.
func writeRandomly(rng *rand.Rand, w io.Writer, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), 1+rng.IntN(100<<10))
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// readAllExact reads until an error and requires that error to be a bare
// io.EOF.
func readAllExact(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var got bytes.Buffer
	buf := make([]byte, 7919) // odd size: reads do not line up with messages
	for {
		n, err := r.Read(buf)
		if n == 0 && err == nil {
			t.Fatal("Read returned 0, nil")
		}
		got.Write(buf[:n])
		if err == io.EOF {
			return got.Bytes()
		}
		if err != nil {
			t.Fatalf("Read: %v (after %d bytes), want data then a bare io.EOF", err, got.Len())
		}
	}
}

// roundTrip sends a few bytes from a to b and checks they arrive.
func roundTrip(t *testing.T, a, b *Conn) {
	t.Helper()
	a.SetDeadline(time.Now().Add(testTimeout))
	b.SetDeadline(time.Now().Add(testTimeout))
	defer a.SetDeadline(time.Time{})
	defer b.SetDeadline(time.Time{})
	if _, err := a.Write([]byte("ping?")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(b, got); err != nil || string(got) != "ping?" {
		t.Fatalf("Read: %q, %v", got, err)
	}
}

// TestPingWithEndedContextKeepsConn: a context that has ended never

// nextEvent returns the next event of s that is not a ping or pong of
// keepalive, failing the test if none comes in time.
func nextEvent(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case e, ok := <-s.Events():
		if !ok {
			t.Fatal("the event channel closed early")
		}
		return e
	case <-time.After(testTimeout):
		t.Fatal("no event")
		return nil
	}
}

// expectClosed reads events until the ClosedEvent, checks that it is the
// last one, and returns the events before it.
func expectClosed(t *testing.T, s *Subscription) (before []Event, closed ClosedEvent) {
	t.Helper()
	for {
		switch e := nextEvent(t, s).(type) {
		case ClosedEvent:
			select {
			case _, ok := <-s.Events():
				if ok {
					t.Fatal("an event after the ClosedEvent")
				}
			case <-time.After(testTimeout):
				t.Fatalf("the event channel still open %v after the ClosedEvent", testTimeout)
			}
			return before, e
		default:
			before = append(before, e)
		}
	}
}

// startProcess starts cmd in a process group of its own and kills the
// whole group when the test ends, so that no child (a browser's renderers,
// nginx's workers) outlives the test. Processes that left the group (a
// browser's crash handlers start sessions of their own) are found by
// marker, a string unique to this test in their command lines, and
// killed too. Its stderr is logged if the test fails. The returned
// channel yields cmd.Wait's result.
func startProcess(t *testing.T, cmd *exec.Cmd, marker string) <-chan error {
	t.Helper()
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	waitCh := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		waitCh <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(testTimeout):
			t.Errorf("%s still running %v after SIGKILL", filepath.Base(cmd.Path), testTimeout)
		}
		if marker != "" {
			jsharness.KillMarked(t, marker)
		}
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", filepath.Base(cmd.Path), stderr.String())
		}
	})
	return waitCh
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer = jsharness.LockedBuffer
