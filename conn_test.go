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
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsstream/wsstream/internal/faultproxy"
)

// TestDataWrittenBeforeCloseArrives writes random data in random chunks and
// closes at once: the peer must read every byte, then io.EOF.
func TestDataWrittenBeforeCloseArrives(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 4
	}
	for _, dir := range []string{"DialerWrites", "AcceptorWrites"} {
		t.Run(dir, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(len(dir)), 1))
			for round := range rounds {
				client, server := newPair(t, pairOptions{})
				w, r := client, server
				if dir == "AcceptorWrites" {
					w, r = server, client
				}
				want := randBytes(rng, rng.IntN(2<<20))
				errc := make(chan error, 1)
				go func() {
					if err := writeRandomly(rng, w, want); err != nil {
						errc <- err
						return
					}
					errc <- w.Close()
				}()
				got := readAllExact(t, r)
				if err := recv(t, errc); err != nil {
					t.Fatalf("round %d: write and Close: %v", round, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("round %d: read %d bytes, want %d, or the bytes differ", round, len(got), len(want))
				}
				if err := r.Close(); err != nil {
					t.Fatalf("round %d: Close after the peer closed: %v", round, err)
				}
			}
		})
	}
}

// TestPumpServesPeerWithoutRead checks that a Conn whose application never
// reads still answers pings and completes the peer's close handshake.
func TestPumpServesPeerWithoutRead(t *testing.T) {
	check := func(t *testing.T, c *Conn, peer *websocket.Conn) {
		ctx := peer.CloseRead(testContext(t))
		for i := range 5 {
			pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := peer.Ping(pingCtx)
			cancel()
			if err != nil {
				t.Fatalf("ping %d: %v", i, err)
			}
		}
		if err := peer.Close(websocket.StatusNormalClosure, ""); err != nil {
			t.Fatalf("peer's close handshake: %v", err)
		}
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("Read after the peer closed: %v, want io.EOF", err)
		}
	}
	t.Run("Dialer", func(t *testing.T) {
		c, peer := newClientWithRawServer(t, nil)
		check(t, c, peer)
	})
	t.Run("Acceptor", func(t *testing.T) {
		c, peer := newServerWithRawClient(t, nil)
		check(t, c, peer)
	})
}

func TestPeerCloseStatus(t *testing.T) {
	for _, tc := range []struct {
		code   websocket.StatusCode
		reason string
		eof    bool
	}{
		{websocket.StatusNormalClosure, "", true},
		{websocket.StatusGoingAway, "shutting down", true},
		{4001, "bye", false},
		{websocket.StatusPolicyViolation, "no", false},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			c, peer := newServerWithRawClient(t, nil)
			ctx := testContext(t)
			if err := peer.Write(ctx, websocket.MessageBinary, []byte("last words")); err != nil {
				t.Fatal(err)
			}
			go peer.Close(tc.code, tc.reason)

			got := make([]byte, 10)
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "last words" {
				t.Fatalf("ReadFull = %q, %v; want the data sent before the close", got, err)
			}
			_, err := c.Read(got)
			if tc.eof {
				if err != io.EOF {
					t.Fatalf("Read = %v, want a bare io.EOF", err)
				}
			} else {
				var ce websocket.CloseError
				if !errors.Is(err, ErrPeerClosed) || !errors.As(err, &ce) || ce.Code != tc.code || ce.Reason != tc.reason {
					t.Fatalf("Read = %v, want ErrPeerClosed with code %v and reason %q", err, tc.code, tc.reason)
				}
			}
			_, err = c.Write([]byte("x"))
			if !errors.Is(err, ErrPeerClosed) || websocket.CloseStatus(err) != tc.code {
				t.Fatalf("Write after the peer closed = %v, want ErrPeerClosed with code %v", err, tc.code)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("Close after the peer closed = %v", err)
			}
		})
	}
}

// TestTimeoutsKeepStreamIntact writes and reads under random short
// deadlines: every byte a Write reports as written must arrive, in order.
func TestTimeoutsKeepStreamIntact(t *testing.T) {
	client, server := newPair(t, pairOptions{
		dial: &DialOptions{Options: Options{WriteBufferSize: 8 << 10, MaxMessageSize: 3000}},
	})
	rng := rand.New(rand.NewPCG(7, 7))
	wrng := rand.New(rand.NewPCG(8, 8))
	var sent bytes.Buffer
	var writeTimeouts, readTimeouts int
	done := make(chan error, 1)
	go func() {
		data := randBytes(wrng, 4<<20)
		for len(data) > 0 {
			client.SetWriteDeadline(time.Now().Add(time.Duration(wrng.IntN(300)-50) * time.Microsecond))
			p := data[:min(len(data), 1+wrng.IntN(20000))]
			n, err := client.Write(p)
			sent.Write(p[:n])
			data = data[n:]
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					done <- err
					return
				}
				writeTimeouts++
			}
		}
		client.SetWriteDeadline(time.Time{})
		done <- client.Close()
	}()

	var got bytes.Buffer
	buf := make([]byte, 5000)
	for {
		server.SetReadDeadline(time.Now().Add(time.Duration(rng.IntN(200)) * time.Microsecond))
		n, err := server.Read(buf[:1+rng.IntN(len(buf)-1)])
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("Read: %v", err)
			}
			readTimeouts++
		}
	}
	if err := recv(t, done); err != nil {
		t.Fatalf("writer: %v", err)
	}
	if writeTimeouts == 0 || readTimeouts == 0 {
		t.Fatalf("the test did not exercise timeouts: %d write and %d read timeouts", writeTimeouts, readTimeouts)
	}
	if !bytes.Equal(got.Bytes(), sent.Bytes()) {
		t.Fatalf("received %d bytes, Writes reported %d, or the bytes differ", got.Len(), sent.Len())
	}
	t.Logf("%d write timeouts, %d read timeouts, %d bytes intact", writeTimeouts, readTimeouts, got.Len())
}

func TestPastDeadlineSendsNothing(t *testing.T) {
	c, peer := newClientWithRawServer(t, nil)
	c.SetWriteDeadline(time.Unix(1, 0))
	if n, err := c.Write([]byte("never")); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past the deadline = %d, %v; want 0 and a timeout", n, err)
	}
	c.SetReadDeadline(time.Unix(1, 0))
	if n, err := c.Read(make([]byte, 10)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %d, %v; want 0 and a timeout", n, err)
	}
	c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	_, msg, err := peer.Read(testContext(t))
	if err != nil || string(msg) != "first" {
		t.Fatalf("the peer read %q, %v; want only the bytes written after the deadline was cleared", msg, err)
	}
}

func TestMovingDeadlineWakesBlockedCalls(t *testing.T) {
	// The server neither reads nor writes: the client's Read waits for
	// data and its Writes fill every buffer and block.
	client, _ := newPair(t, pairOptions{})
	readErr := make(chan error, 1)
	go func() {
		_, err := client.Read(make([]byte, 10))
		readErr <- err
	}()
	writeErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, err := client.Write(buf); err != nil {
				writeErr <- err
				return
			}
		}
	}()
	start := time.Now()
	client.SetDeadline(time.Now().Add(time.Hour))
	client.SetDeadline(time.Now().Add(50 * time.Millisecond))
	for _, ch := range []chan error{readErr, writeErr} {
		if err := recv(t, ch); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("blocked call returned %v, want a timeout", err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("blocked calls took %v to notice the moved deadline", d)
	}
}

func TestTextMessages(t *testing.T) {
	t.Run("RefusedByDefault", func(t *testing.T) {
		c, peer := newServerWithRawClient(t, nil)
		ctx := testContext(t)
		peer.Write(ctx, websocket.MessageBinary, []byte("ab"))
		peer.Write(ctx, websocket.MessageText, []byte("text"))
		got, err := io.ReadAll(c)
		if string(got) != "ab" || !errors.Is(err, ErrTextMessage) {
			t.Fatalf("ReadAll = %q, %v; want the binary data then ErrTextMessage", got, err)
		}
		_, _, err = peer.Read(ctx)
		if websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
			t.Fatalf("the peer read %v, want a close with status 1003", err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, ErrTextMessage) {
			t.Fatalf("Write after the text message = %v, want ErrTextMessage", err)
		}
	})
	t.Run("AcceptText", func(t *testing.T) {
		c, peer := newServerWithRawClient(t, &AcceptOptions{Options: Options{AcceptText: true}})
		ctx := testContext(t)
		peer.Write(ctx, websocket.MessageBinary, []byte("ab"))
		peer.Write(ctx, websocket.MessageText, []byte("text"))
		peer.Close(websocket.StatusNormalClosure, "")
		if got := readAllExact(t, c); string(got) != "abtext" {
			t.Fatalf("read %q, want %q", got, "abtext")
		}
	})
}

func TestEmptyMessagesNeverReadAsZero(t *testing.T) {
	c, peer := newServerWithRawClient(t, nil)
	ctx := testContext(t)
	go func() {
		for _, m := range []string{"", "a", "", "", "b", "", ""} {
			peer.Write(ctx, websocket.MessageBinary, []byte(m))
		}
		peer.Close(websocket.StatusNormalClosure, "")
	}()
	if got := readAllExact(t, c); string(got) != "ab" {
		t.Fatalf("read %q, want %q", got, "ab")
	}
}

// TestFloodIsBounded floods a Conn that is not read: the peer must be
// held back by TCP flow control instead of the Conn buffering everything.
func TestFloodIsBounded(t *testing.T) {
	c, peer := newServerWithRawClient(t, nil)
	ctx := testContext(t)
	const total = 1 << 30
	msg := make([]byte, 1<<20)
	var sent atomic.Int64
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for sent.Load() < total {
			if err := peer.Write(ctx, websocket.MessageBinary, msg); err != nil {
				return
			}
			sent.Add(int64(len(msg)))
		}
	}()

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// There is no signal for "the sender is blocked": wait until its
	// count stops moving.
	// A sender that never stops is the bug this test looks for: the wait
	// ends, too, once it has sent 64 MiB or after testTimeout.
	last := int64(-1)
	for stable, deadline := 0, time.Now().Add(testTimeout); stable < 5 && last < 64<<20 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		if n := sent.Load(); n == last {
			stable++
		} else {
			last, stable = n, 0
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if last >= 64<<20 {
		t.Fatalf("the peer sent %d MiB into a Conn nobody reads: no backpressure", last>>20)
	}
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 8<<20 {
		t.Fatalf("heap grew by %d KiB while the peer was blocked", grown>>10)
	}
	// Draining lets the sender go on.
	buf := make([]byte, 64<<10)
	var read int64
	for read < last+int64(len(msg)) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		read += int64(n)
	}
	peer.CloseNow()
	recv(t, writerDone)
}

func TestConnectionLost(t *testing.T) {
	client, server := newPair(t, pairOptions{dial: &DialOptions{Options: Options{CloseTimeout: 2 * time.Second}}})
	if _, err := server.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 7)
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	server.tr.abort() // the TCP connection dies without a close frame
	_, err := client.Read(got)
	if !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Read after the TCP connection died = %v, want ErrConnectionLost", err)
	}
	if _, err := client.Write([]byte("x")); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Write after the TCP connection died = %v, want ErrConnectionLost", err)
	}
	client.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v, more than the close timeout", d)
	}
}

// TestCloseTimeout closes against a peer that never answers: Close must
// give up after the close timeout and say so.
func TestCloseTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	c, _ := newClientWithRawServer(t, &DialOptions{Options: Options{CloseTimeout: timeout}})
	start := time.Now()
	err := c.Close()
	d := time.Since(start)
	if !errors.Is(err, ErrCloseTimeout) {
		t.Fatalf("Close = %v, want ErrCloseTimeout", err)
	}
	if d < timeout || d > timeout+2*time.Second {
		t.Fatalf("Close took %v, want about %v", d, timeout)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close = %v, want net.ErrClosed", err)
	}
}

func TestCloseUnblocksAndIsIdempotent(t *testing.T) {
	client, server := newPair(t, pairOptions{dial: &DialOptions{Options: Options{CloseTimeout: time.Second}}})
	_ = server // never reads: the client's writes block
	errs := make(chan error, 2)
	go func() {
		_, err := client.Read(make([]byte, 10))
		errs <- err
	}()
	go func() {
		buf := make([]byte, 1<<20)
		for {
			if _, err := client.Write(buf); err != nil {
				errs <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client.Close()
		}()
	}
	for range 2 {
		if err := recv(t, errs); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("pending call returned %v, want net.ErrClosed", err)
		}
	}
	waitGroup(t, &wg)
	if err := client.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := client.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close = %v, want net.ErrClosed", err)
	}
}

func TestAddresses(t *testing.T) {
	client, server := newPair(t, pairOptions{})
	for _, a := range []net.Addr{client.LocalAddr(), client.RemoteAddr(), server.LocalAddr(), server.RemoteAddr()} {
		if _, ok := a.(*net.TCPAddr); !ok {
			t.Fatalf("address %v is a %T, want *net.TCPAddr", a, a)
		}
	}
	if client.LocalAddr().String() != server.RemoteAddr().String() || client.RemoteAddr().String() != server.LocalAddr().String() {
		t.Fatalf("client %v -> %v, server %v -> %v: the ends do not match", client.LocalAddr(), client.RemoteAddr(), server.LocalAddr(), server.RemoteAddr())
	}
}

func TestWriteMessageSize(t *testing.T) {
	for _, max := range []int{0, 1000} {
		t.Run(fmt.Sprintf("MaxMessageSize=%d", max), func(t *testing.T) {
			c, peer := newClientWithRawServer(t, &DialOptions{Options: Options{MaxMessageSize: max}})
			want := max
			if want == 0 {
				want = DefaultMaxMessageSize
			}
			data := randBytes(rand.New(rand.NewPCG(1, 2)), 200<<10)
			go c.Write(data)
			var got []byte
			for len(got) < len(data) {
				// The raw peer keeps coder/websocket's default read limit.
				typ, msg, err := peer.Read(testContext(t))
				if err != nil {
					t.Fatal(err)
				}
				if typ != websocket.MessageBinary || len(msg) > want || len(msg) == 0 {
					t.Fatalf("message of type %v and %d bytes, want binary of 1 to %d bytes", typ, len(msg), want)
				}
				got = append(got, msg...)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("data differs")
			}
		})
	}
}

// TestIdleConnHoldsNoBuffer checks that the read and write buffers go back
// to their pools once the data has moved.
func TestIdleConnHoldsNoBuffer(t *testing.T) {
	client, server := newPair(t, pairOptions{})
	data := randBytes(rand.New(rand.NewPCG(3, 4)), 300<<10)
	go client.Write(data)
	if _, err := io.ReadFull(server, make([]byte, len(data))); err != nil {
		t.Fatal(err)
	}
	// The writer exits once its queue is empty.
	if !client.send.waitExit(time.After(testTimeout)) {
		t.Fatal("the writer did not exit")
	}
	for name, c := range map[string]*Conn{"client": client, "server": server} {
		held := c.recv.holds()
		c.send.mu.Lock()
		queued := len(c.send.bufs)
		c.send.mu.Unlock()
		if held || queued != 0 {
			t.Errorf("%s holds a read buffer: %v; write buffers: %d", name, held, queued)
		}
	}
}

func TestNew(t *testing.T) {
	accepted := make(chan *Conn, 1)
	laddr := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		accepted <- New(ws, &Options{LocalAddr: laddr})
	})
	ws, _, err := websocket.Dial(testContext(t), s.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := New(ws, nil)
	server := recv(t, accepted)
	defer closeBoth(client, server)
	if server.LocalAddr() != laddr || client.LocalAddr().Network() != "websocket" {
		t.Fatalf("addresses %v and %v, want the supplied one and a placeholder", server.LocalAddr(), client.LocalAddr())
	}
	data := randBytes(rand.New(rand.NewPCG(5, 6)), 1<<20)
	go func() {
		client.Write(data)
		client.Close()
	}()
	if got := readAllExact(t, server); !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
}

func TestKeepalive(t *testing.T) {
	t.Run("HealthyIdleConnStaysUp", func(t *testing.T) {
		// Only the client pings: the server's pings would count as signs of
		// life and could keep the client from ever pinging.
		client, server := newPair(t, pairOptions{
			dial:   &DialOptions{Options: Options{KeepaliveInterval: 10 * time.Millisecond, KeepaliveTimeout: time.Second}},
			accept: &AcceptOptions{Options: Options{KeepaliveInterval: -1}},
		})
		s := client.Subscribe(SubscribeOptions{Buffer: -1})
		defer s.Unsubscribe()
		for pongs := 0; pongs < 30; {
			switch e := nextEvent(t, s).(type) {
			case PongEvent:
				pongs++
			default:
				t.Fatalf("unexpected event %#v on a healthy idle Conn", e)
			}
		}
		if _, err := server.Write([]byte("still up")); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 8)
		if _, err := io.ReadFull(client, got); err != nil || string(got) != "still up" {
			t.Fatalf("read %q, %v after 30 keepalive rounds", got, err)
		}
	})

	t.Run("FrozenPeerIsDetected", func(t *testing.T) {
		const interval, timeout = 100 * time.Millisecond, 200 * time.Millisecond
		s, accepted := newAcceptServer(t, &AcceptOptions{Options: Options{CloseTimeout: 100 * time.Millisecond}})
		proxy, err := faultproxy.New(s.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer proxy.Close()
		client, _, err := Dial(testContext(t), "ws://"+proxy.Addr(), &DialOptions{Options: Options{
			KeepaliveInterval: interval, KeepaliveTimeout: timeout, CloseTimeout: 100 * time.Millisecond,
		}})
		if err != nil {
			t.Fatal(err)
		}
		server := recv(t, accepted)
		defer closeBoth(client, server)
		events := client.Subscribe(SubscribeOptions{Filter: func(e Event) bool {
			_, pong := e.(PongEvent)
			return !pong
		}})
		link, err := proxy.WaitConn(testContext(t))
		if err != nil {
			t.Fatal(err)
		}

		link.Freeze(faultproxy.ClientToServer)
		link.Freeze(faultproxy.ServerToClient)
		start := time.Now()
		_, err = client.Read(make([]byte, 1))
		elapsed := time.Since(start)
		if !errors.Is(err, ErrKeepaliveTimeout) {
			t.Fatalf("Read on a frozen connection = %v, want ErrKeepaliveTimeout", err)
		}
		// Detection takes at most interval + timeout; allow for a loaded
		// machine.
		if elapsed < timeout || elapsed > interval+timeout+time.Second {
			t.Fatalf("detected after %v, want between %v and about %v", elapsed, timeout, interval+timeout)
		}
		if _, err := client.Write([]byte("x")); !errors.Is(err, ErrKeepaliveTimeout) {
			t.Fatalf("Write = %v, want ErrKeepaliveTimeout", err)
		}
		before, closed := expectClosed(t, events)
		if len(before) != 1 || !errors.Is(before[0].(ErrorEvent).Err, ErrKeepaliveTimeout) {
			t.Fatalf("events %#v, want one ErrorEvent matching ErrKeepaliveTimeout", before)
		}
		if closed.Initiator != InitiatorNone || !errors.Is(closed.Err, ErrKeepaliveTimeout) {
			t.Fatalf("ClosedEvent = %+v", closed)
		}
	})
}

func TestCloseWithInvalidStatus(t *testing.T) {
	client, server := newPair(t, pairOptions{})
	for _, tc := range []struct {
		code   websocket.StatusCode
		reason string
	}{
		{websocket.StatusNoStatusRcvd, ""},
		{websocket.StatusAbnormalClosure, ""},
		{1004, ""},
		{999, ""},
		{2000, ""},
		{5000, ""},
		{websocket.StatusNormalClosure, strings.Repeat("x", 124)},
	} {
		t.Run(fmt.Sprintf("%d/%d-byte reason", tc.code, len(tc.reason)), func(t *testing.T) {
			if err := client.CloseWithStatus(tc.code, tc.reason); err == nil {
				t.Errorf("CloseWithStatus(%d, %d-byte reason) = nil, want an error", tc.code, len(tc.reason))
			}
		})
	}
	// The Conn is still open and usable.
	if _, err := client.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2)
	if _, err := io.ReadFull(server, got); err != nil || string(got) != "ok" {
		t.Fatalf("read %q, %v", got, err)
	}
	if err := client.CloseWithStatus(4999, strings.Repeat("x", 123)); err != nil {
		t.Fatalf("valid CloseWithStatus = %v", err)
	}
	if _, err := server.Read(got); websocket.CloseStatus(err) != 4999 {
		t.Fatalf("the peer read %v, want status 4999", err)
	}
}
