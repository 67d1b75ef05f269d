//go:build !js

package wsstream

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// reaches coder/websocket, which would drop the connection.
func TestPingWithEndedContextKeepsConn(t *testing.T) {
	client, server := newPair(t, pairOptions{})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for i := range 40 {
		ctx := cancelled
		if i%2 == 1 {
			ctx = expired
		}
		if _, err := client.Ping(ctx); !errors.Is(err, ctx.Err()) {
			t.Fatalf("Ping with an ended context: %v, want an error matching %v", err, ctx.Err())
		}
		roundTrip(t, client, server)
		roundTrip(t, server, client)
	}
	// A short context that ends while the pong is awaited leaves the Conn
	// usable too, and a later Ping works.
	short, cancel3 := context.WithTimeout(context.Background(), time.Microsecond)
	defer cancel3()
	client.Ping(short)
	if _, err := client.Ping(testContext(t)); err != nil {
		t.Fatalf("Ping after a short one: %v", err)
	}
	roundTrip(t, client, server)
}

// TestKeepaliveTimeoutIsReportedAsSuch: with a tiny KeepaliveTimeout the
// Conn reports ErrKeepaliveTimeout, not a lost connection caused by a
// context that coder/websocket saw expire. A context that has already
// expired when coder/websocket writes the ping makes coder drop the
// connection about half the time (its lock and its write-timeout watch
// race with the context), so several Conns are tried.
func TestKeepaliveTimeoutIsReportedAsSuch(t *testing.T) {
	for _, timeout := range []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond} {
		for range 4 {
			// A raw coder/websocket peer that never reads never answers
			// pings.
			c, _ := newClientWithRawServer(t, &DialOptions{Options: Options{
				KeepaliveInterval: 10 * time.Millisecond,
				KeepaliveTimeout:  timeout,
			}})
			c.SetReadDeadline(time.Now().Add(testTimeout))
			_, err := c.Read(make([]byte, 1))
			if !errors.Is(err, ErrKeepaliveTimeout) || errors.Is(err, ErrConnectionLost) {
				t.Fatalf("KeepaliveTimeout %v: Read: %v, want ErrKeepaliveTimeout (and not ErrConnectionLost)", timeout, err)
			}
			if _, werr := c.Write([]byte("x")); werr == nil || werr.Error() != err.Error() {
				t.Fatalf("KeepaliveTimeout %v: Write: %v, want the same cause as Read: %v", timeout, werr, err)
			}
			c.CloseNow()
		}
	}
}

// TestFailedDialLeavesNothingOpen: a handshake the server refuses after
// the HTTP exchange closes its TCP connection, also with a transport that
// would keep idle connections forever.
func TestFailedDialLeavesNothingOpen(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			closedCh := make(chan struct{}, 1)
			s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no", status)
			}))
			s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateClosed {
					closedCh <- struct{}{}
				}
			}
			s.Start()
			defer s.Close()
			hc := &http.Client{Transport: &http.Transport{IdleConnTimeout: 0}}
			_, resp, err := Dial(testContext(t), "ws://"+s.Listener.Addr().String(), &DialOptions{DialOptions: websocket.DialOptions{HTTPClient: hc}})
			if err == nil || resp == nil || resp.StatusCode != status {
				t.Fatalf("Dial: %v, %v; want an error with status %d", resp, err, status)
			}
			select {
			case <-closedCh:
			case <-time.After(testTimeout):
				t.Fatal("the server's connection is still open after the failed Dial")
			}
		})
	}
}

// TestDialReturnsWithinContext: a server that accepts TCP and never
// answers does not hold Dial past its context (the client's wait for the
// server's FIN belongs to a close handshake, not to an aborted request).
func TestDialReturnsWithinContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { nc.Close() })
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = Dial(ctx, "ws://"+ln.Addr().String(), &DialOptions{Options: Options{CloseTimeout: 10 * time.Second}})
	if err == nil {
		t.Fatal("Dial succeeded against a silent server")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Dial took %v with a 300ms context", took)
	}
}

// TestWriteAfterCloseIsClosedEvenPastDeadline: a local Close wins over a
// passed deadline, every time, as in Read.
func TestWriteAfterCloseIsClosedEvenPastDeadline(t *testing.T) {
	client, _ := newPair(t, pairOptions{})
	client.SetDeadline(time.Now().Add(-time.Second))
	client.Close()
	for range 500 {
		if _, err := client.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Write after Close with a past deadline: %v, want net.ErrClosed", err)
		}
		if _, err := client.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after Close with a past deadline: %v, want net.ErrClosed", err)
		}
		if _, err := client.Ping(context.Background()); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Ping after Close: %v, want net.ErrClosed", err)
		}
	}
}

// TestReadWriteAndEventsAgreeOnPeerClose: a plain coder/websocket peer
// refuses an oversized message with 1009; Write, Read and the events all
// report that close frame, not a lost connection.
func TestReadWriteAndEventsAgreeOnPeerClose(t *testing.T) {
	accepted := make(chan *websocket.Conn, 1)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ws.SetReadLimit(1024)
		go func() {
			for {
				if _, _, err := ws.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		accepted <- ws
	})
	c, _, err := Dial(testContext(t), s.url, &DialOptions{Options: Options{MaxMessageSize: 8 << 10, CloseTimeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub := c.Subscribe(SubscribeOptions{Buffer: -1})
	select {
	case ws := <-accepted:
		defer ws.CloseNow()
	case <-time.After(testTimeout):
		t.Fatal("no upgrade")
	}
	c.SetDeadline(time.Now().Add(testTimeout))
	var werr error
	for werr == nil {
		_, werr = c.Write(make([]byte, 8<<10))
	}
	_, rerr := c.Read(make([]byte, 1))
	for name, err := range map[string]error{"Write": werr, "Read": rerr} {
		if !errors.Is(err, ErrPeerClosed) || websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Errorf("%s: %v, want ErrPeerClosed with status 1009", name, err)
		}
	}
	_, closed := expectClosed(t, sub)
	if closed.Initiator != InitiatorPeer || closed.Code != websocket.StatusMessageTooBig {
		t.Errorf("ClosedEvent %+v, want the peer's 1009", closed)
	}
}

// plainWriter hides the Hijacker of the ResponseWriter it wraps and has no
// Unwrap: a common status-logging middleware.
type plainWriter struct {
	http.ResponseWriter
	status int
}

func (w *plainWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// TestAcceptRefusesWriterThatCannotHijack: no fake 101 that leaves the
// client's Reads hanging; the client gets an HTTP error and Accept says
// why.
func TestAcceptRefusesWriterThatCannotHijack(t *testing.T) {
	errCh := make(chan error, 1)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, err := Accept(&plainWriter{ResponseWriter: w}, r, nil)
		errCh <- err
	})
	_, resp, err := Dial(testContext(t), s.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("Dial: %v, %v; want an error with status 501", resp, err)
	}
	if err := recv(t, errCh); !errors.Is(err, ErrHijackUnsupported) {
		t.Fatalf("Accept: %v, want ErrHijackUnsupported", err)
	}
}

// TestCloseNowDropsAtOnce: against a peer that does not read, Close would
// wait for its CloseTimeout; CloseNow returns within milliseconds, also
// when it cuts a running Close short, and leaves no goroutine behind.
func TestCloseNowDropsAtOnce(t *testing.T) {
	for _, during := range []bool{false, true} {
		name := map[bool]string{false: "alone", true: "during Close"}[during]
		t.Run(name, func(t *testing.T) {
			c, _ := newClientWithRawServer(t, &DialOptions{Options: Options{CloseTimeout: time.Minute}})
			// Fill the socket, the Conn's queue and its output: the raw
			// peer never reads. The deadline is per Write, so the loop
			// ends when a Write is held back, not when the time is up (a
			// slow machine may not fill the kernel's buffers in time).
			for {
				c.SetWriteDeadline(time.Now().Add(250 * time.Millisecond))
				if _, err := c.Write(make([]byte, 32<<10)); err != nil {
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("Write: %v", err)
					}
					break
				}
			}
			var closeErr atomic.Value
			closeDone := make(chan struct{})
			if during {
				go func() {
					defer close(closeDone)
					if err := c.Close(); err != nil {
						closeErr.Store(err)
					}
				}()
				// Close has begun once closingCh is closed, and waits in
				// its flush: the peer does not read, so bytes wait for the
				// socket, with the writer or, handed on, in the transport's
				// output (the writer may have exited by then).
				recv(t, c.closing.wait())
				if !c.send.isRunning() && !c.tr.out.busy() {
					t.Fatal("nothing waits for the socket: Close is not held in its flush")
				}
			} else {
				close(closeDone)
			}
			start := time.Now()
			if err := c.CloseNow(); err != nil {
				t.Fatalf("CloseNow: %v", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Fatalf("CloseNow took %v", took)
			}
			select {
			case <-closeDone:
			case <-time.After(testTimeout):
				t.Fatal("Close did not return after CloseNow")
			}
			if during && closeErr.Load() == nil {
				t.Error("Close cut short by CloseNow returned nil")
			}
			if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Write after CloseNow: %v, want net.ErrClosed", err)
			}
			if !c.finished.isSet() {
				t.Error("CloseNow returned before the Conn finished")
			}
		})
	}
}

// TestInvalidOptions: nonsensical values are refused, not silently
// replaced by defaults.
func TestInvalidOptions(t *testing.T) {
	s, _ := newAcceptServer(t, nil)
	_, _, err := Dial(testContext(t), s.url, &DialOptions{Options: Options{CloseTimeout: -time.Second}})
	if err == nil {
		t.Error("Dial accepted a negative CloseTimeout")
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted a negative ReadBufferSize")
		}
	}()
	New(nil, &Options{ReadBufferSize: -1})
}

// TestPanickingFilterIsContained: a Filter that panics on the read loop
// neither crashes the process nor stalls the Conn; its subscriber gets
// the ClosedEvent and the missed events are counted.
func TestPanickingFilterIsContained(t *testing.T) {
	client, server := newPair(t, pairOptions{})
	sub := client.Subscribe(SubscribeOptions{Filter: func(e Event) bool {
		if _, ok := e.(PongEvent); ok {
			panic("filter bug")
		}
		return true
	}})
	for range 3 {
		if _, err := client.Ping(testContext(t)); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}
	roundTrip(t, server, client)
	client.Close()
	before, closed := expectClosed(t, sub)
	if len(before) != 0 || closed.Err != nil {
		t.Errorf("events before the end: %v; ClosedEvent %+v", before, closed)
	}
	if sub.Dropped() < 3 {
		t.Errorf("Dropped() = %d, want at least the 3 pongs", sub.Dropped())
	}
}

func TestSubscribeRefusesHugeBuffer(t *testing.T) {
	client, _ := newPair(t, pairOptions{})
	defer func() {
		if recover() == nil {
			t.Error("Subscribe accepted a Buffer of math.MaxInt")
		}
	}()
	client.Subscribe(SubscribeOptions{Buffer: math.MaxInt})
}
