//go:build !js

package wsstream

// Faults in the transport: internal/faultproxy sits between a Conn made by
// Dial and one made by Accept and freezes, resets, cuts, corrupts or slows
// the TCP byte stream. For every fault both Conns must end (or, for a slow
// link, survive) with a clear error within a bounded time, Read and Write
// must return by their deadlines, the bytes that arrive must be the bytes
// written, and a blocked writer must not make the Conn buffer without
// bound. docs/reliability.md lists the results.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream/internal/faultproxy"
)

// faultOptions make every bound of a Conn short, so that each fault ends a
// Conn within about a second.
var faultOptions = Options{
	CloseTimeout:      500 * time.Millisecond,
	KeepaliveInterval: 250 * time.Millisecond,
	KeepaliveTimeout:  500 * time.Millisecond,
}

const (
	// faultDeadline is the deadline of every Read and Write while a fault
	// is in effect.
	faultDeadline = 100 * time.Millisecond
	// faultSlack is how late a Read or Write may return after its
	// deadline, or a Conn end after its bound: scheduling delay on a busy
	// machine under the race detector.
	faultSlack = 2 * time.Second
	// faultEndBound is how long a fault may take to end a Conn: a
	// keepalive ping that goes unanswered, then the close timeout.
	faultEndBound = 250*time.Millisecond + 500*time.Millisecond + 500*time.Millisecond + faultSlack
	// faultMaxQueued bounds the bytes Write may accept into a connection
	// that does not move: the Conn's write buffer plus the kernel's
	// socket buffers on both sides of the proxy.
	faultMaxQueued = 48 << 20
)

// Seeds of the byte stream in each direction.
const (
	seedC2S uint32 = 11
	seedS2C uint32 = 12
)

// newProxiedPair returns a Conn made by Dial and one made by Accept,
// connected through a fault proxy, and the proxy's link between them.
func newProxiedPair(t testing.TB, opts Options) (client, server *Conn, link *faultproxy.Link) {
	t.Helper()
	s, accepted := newAcceptServer(t, &AcceptOptions{Options: opts})
	p, err := faultproxy.New(s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	client, _, err = Dial(testContext(t), "ws://"+p.Addr()+"/", &DialOptions{Options: opts})
	if err != nil {
		t.Fatalf("Dial through the proxy: %v", err)
	}
	select {
	case server = <-accepted:
	case <-time.After(testTimeout):
		t.Fatal("Accept did not return")
	}
	t.Cleanup(func() { closeBoth(client, server) })
	link, err = p.WaitConn(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return client, server, link
}

// streamEnd is one Conn under a fault, with the state of the byte
// streams it writes and reads.
type streamEnd struct {
	name    string
	c       *Conn
	wseed   uint32 // seed of the stream it writes
	rseed   uint32 // seed of the stream it reads
	written int64  // bytes Write reported as written
	read    int64  // bytes Read returned, all checked
}

// write writes n bytes of its stream, failing the test on error.
func (e *streamEnd) write(t *testing.T, n int) {
	t.Helper()
	b := make([]byte, n)
	fillPattern(b, e.wseed, e.written)
	e.c.SetWriteDeadline(time.Now().Add(testTimeout))
	k, err := e.c.Write(b)
	e.written += int64(k)
	if err != nil {
		t.Fatalf("%s: Write: %v", e.name, err)
	}
}

// readN reads exactly n bytes of its stream and checks them.
func (e *streamEnd) readN(t *testing.T, n int) {
	t.Helper()
	b := make([]byte, n)
	e.c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(e.c, b); err != nil {
		t.Fatalf("%s: Read: %v", e.name, err)
	}
	e.check(t, b)
}

// check checks that b continues the stream read so far.
func (e *streamEnd) check(t *testing.T, b []byte) {
	t.Helper()
	want := make([]byte, len(b))
	fillPattern(want, e.rseed, e.read)
	if !bytes.Equal(b, want) {
		i := 0
		for b[i] == want[i] {
			i++
		}
		t.Errorf("%s: byte %d of the stream read differs from the byte written", e.name, e.read+int64(i))
	}
	e.read += int64(len(b))
}

// faultResult is what happened to one Conn while a fault was in effect.
type faultResult struct {
	readErr  error // the error that ended Read, nil if none did
	writeErr error // the error that ended Write, nil if none did
	queued   int64 // bytes Write accepted while the fault was in effect
	late     []string
}

// drive reads, and writes if write is set, with faultDeadline deadlines
// until Read fails with an error that is not a timeout, or stop is
// closed. Every call must return by its deadline.
func (e *streamEnd) drive(t *testing.T, write bool, msgSize int, stop <-chan struct{}) faultResult {
	var res faultResult
	var mu sync.Mutex // guards res.late and the test's error reporting
	lateCall := func(what string, d time.Duration) {
		mu.Lock()
		res.late = append(res.late, fmt.Sprintf("%s took %v", what, d.Round(time.Millisecond)))
		mu.Unlock()
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}

	var wg sync.WaitGroup
	if write {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, msgSize)
			for !stopped() {
				fillPattern(b, e.wseed, e.written)
				start := time.Now()
				e.c.SetWriteDeadline(start.Add(faultDeadline))
				n, err := e.c.Write(b)
				if d := time.Since(start); d > faultDeadline+faultSlack {
					lateCall("Write", d)
				}
				e.written += int64(n)
				res.queued += int64(n)
				if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					res.writeErr = err
					return
				}
				if res.queued > faultMaxQueued {
					res.writeErr = fmt.Errorf("Write accepted %d MiB into a stalled connection", res.queued>>20)
					return
				}
			}
		}()
	}
	b := make([]byte, 16<<10)
	for !stopped() {
		start := time.Now()
		e.c.SetReadDeadline(start.Add(faultDeadline))
		n, err := e.c.Read(b)
		if d := time.Since(start); d > faultDeadline+faultSlack {
			lateCall("Read", d)
		}
		mu.Lock()
		e.check(t, b[:n])
		mu.Unlock()
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			res.readErr = err
			break
		}
	}
	wg.Wait()
	return res
}

// errorIn reports whether err matches one of want: a nil entry matches
// nil, io.EOF only a bare io.EOF, others by errors.Is.
func errorIn(err error, want []error) bool {
	for _, w := range want {
		switch {
		case w == nil || w == io.EOF:
			if err == w {
				return true
			}
		case errors.Is(err, w):
			return true
		}
	}
	return false
}

// faultOutcome is what a fault must do to one of the Conns.
type faultOutcome struct {
	// ends lists the errors Read may end with, within faultEndBound.
	// Empty: the Conn must survive the fault for the whole observation.
	ends []error
	// peerCode, if set, is the close status Read's error must carry.
	peerCode websocket.StatusCode
	// close lists what Close may return afterwards, within the close
	// timeout.
	close []error
}

// A Conn that ended by itself returns nil from Close at once.
var closedAlready = []error{nil}

// writerCloseOutcome is what the writer's Close may return on a dripping
// link when both ends close at once: a timeout while written bytes are
// still waiting in the Conn, or nil when all of them are in the kernel's
// socket buffer (as a TCP close after a write that returned), its close
// frame behind them, and the peer's close frame, which the link lets
// through, has completed the handshake on this side. The peer, which
// never gets that close frame in time, times out and drops the
// connection; when that happens before the writer's own timeout, the
// writer's flush fails and Close reports the lost connection.
var writerCloseOutcome = []error{ErrCloseTimeout, nil, ErrConnectionLost}

func TestFaults(t *testing.T) {
	c2s, s2c := faultproxy.ClientToServer, faultproxy.ServerToClient
	lost := []error{ErrConnectionLost}
	keepalive := []error{ErrKeepaliveTimeout}
	// A Conn whose own pings are stuck times out, unless the FIN of the
	// peer, which timed out at about the same time, arrives first.
	keepaliveOrLost := []error{ErrKeepaliveTimeout, ErrConnectionLost}
	garbage := []byte("GET / HTTP/1.1\r\n\r\n") // 'G' has RSV1 set: a protocol error

	type tc struct {
		name string
		// fault is applied once a little data has gone both ways.
		fault func(l *faultproxy.Link)
		// writer is "client" or "server" for a Conn that writes while the
		// fault is in effect.
		writer string
		// msgSize is the size of each Write, and opts.MaxMessageSize.
		msgSize int
		// closer is "client" or "server" for a Conn that the test closes
		// right after the fault.
		closer string
		// observe is how long Conns that must survive are driven.
		observe time.Duration
		// flows is set when data must go through despite the fault.
		flows bool
		// bound, if set, replaces faultEndBound.
		bound          time.Duration
		client, server faultOutcome
	}
	cases := []tc{
		{
			name:   "FreezeClientToServer",
			fault:  func(l *faultproxy.Link) { l.Freeze(c2s) },
			client: faultOutcome{ends: keepaliveOrLost, close: closedAlready},
			server: faultOutcome{ends: keepalive, close: closedAlready},
		},
		{
			name:   "FreezeServerToClient",
			fault:  func(l *faultproxy.Link) { l.Freeze(s2c) },
			client: faultOutcome{ends: keepalive, close: closedAlready},
			server: faultOutcome{ends: keepaliveOrLost, close: closedAlready},
		},
		{
			name:   "FreezeBoth",
			fault:  func(l *faultproxy.Link) { l.Freeze(c2s); l.Freeze(s2c) },
			client: faultOutcome{ends: keepalive, close: closedAlready},
			server: faultOutcome{ends: keepalive, close: closedAlready},
		},
		{
			// The client writes into a connection frozen both ways: no
			// keepalive ping goes out while data waits for the socket, so
			// it lives until the application closes it, and Close gives up
			// after the close timeout. Its Writes keep their deadlines and
			// accept a bounded amount of data.
			name:   "FreezeBothClientWriting",
			fault:  func(l *faultproxy.Link) { l.Freeze(c2s); l.Freeze(s2c) },
			writer: "client", observe: 1500 * time.Millisecond,
			client: faultOutcome{close: []error{ErrCloseTimeout}},
			server: faultOutcome{ends: keepalive, close: closedAlready},
		},
		{
			name:   "FreezeBothServerWriting",
			fault:  func(l *faultproxy.Link) { l.Freeze(c2s); l.Freeze(s2c) },
			writer: "server", observe: 1500 * time.Millisecond,
			client: faultOutcome{ends: keepalive, close: closedAlready},
			server: faultOutcome{close: []error{ErrCloseTimeout}},
		},
		{
			// The writer's outgoing direction is frozen; the peer's
			// keepalive ends the peer. The writer's read pump is then stuck
			// writing the pong it owes: coder/websocket writes it with a 5s
			// timeout, and the Conn ends when that passes (or when the
			// peer's FIN is read).
			name:   "FreezeClientToServerClientWriting",
			fault:  func(l *faultproxy.Link) { l.Freeze(c2s) },
			writer: "client", bound: faultEndBound + 5*time.Second,
			client: faultOutcome{ends: lost, close: closedAlready},
			server: faultOutcome{ends: keepalive, close: closedAlready},
		},
		{
			name:   "ResetMidStream",
			fault:  func(l *faultproxy.Link) { l.Reset() },
			writer: "client",
			client: faultOutcome{ends: lost, close: closedAlready},
			server: faultOutcome{ends: lost, close: closedAlready},
		},
		{
			// The client's TCP connection is closed with a FIN and no close
			// frame; the server's stays open but silent.
			name:   "ClientTCPClosedWithoutCloseFrame",
			fault:  func(l *faultproxy.Link) { l.CloseSide(s2c) },
			client: faultOutcome{ends: lost, close: closedAlready},
			server: faultOutcome{ends: keepalive, close: closedAlready},
		},
		{
			name:   "ServerTCPClosedWithoutCloseFrame",
			fault:  func(l *faultproxy.Link) { l.CloseSide(c2s) },
			client: faultOutcome{ends: keepalive, close: closedAlready},
			server: faultOutcome{ends: lost, close: closedAlready},
		},
		{
			// 1000 bytes into the client's next 32 KiB message, the proxy
			// closes both sides: the server reads the part that arrived,
			// then the error.
			name:    "FrameTruncatedClientToServer",
			fault:   func(l *faultproxy.Link) { l.Truncate(c2s, 1000) },
			writer:  "client",
			msgSize: 32 << 10,
			client:  faultOutcome{ends: lost, close: closedAlready},
			server:  faultOutcome{ends: lost, close: closedAlready},
		},
		{
			name:    "FrameTruncatedServerToClient",
			fault:   func(l *faultproxy.Link) { l.Truncate(s2c, 1000) },
			writer:  "server",
			msgSize: 32 << 10,
			client:  faultOutcome{ends: lost, close: closedAlready},
			server:  faultOutcome{ends: lost, close: closedAlready},
		},
		{
			// Garbage where a frame header is due: the receiver fails the
			// connection with status 1002, which the sender reads.
			name:   "GarbageClientToServer",
			fault:  func(l *faultproxy.Link) { l.Inject(c2s, garbage) },
			client: faultOutcome{ends: []error{ErrPeerClosed}, peerCode: websocket.StatusProtocolError, close: closedAlready},
			server: faultOutcome{ends: lost, close: closedAlready},
		},
		{
			name:   "GarbageServerToClient",
			fault:  func(l *faultproxy.Link) { l.Inject(s2c, garbage) },
			client: faultOutcome{ends: lost, close: closedAlready},
			server: faultOutcome{ends: []error{ErrPeerClosed}, peerCode: websocket.StatusProtocolError, close: closedAlready},
		},
		{
			// A link of 1 byte per millisecond carries a stream of small
			// messages. A pong from the writer would wait behind megabytes
			// in the socket buffers, and coder/websocket drops a
			// connection whose pong is not written within 5s: the data that
			// keeps arriving must count as a sign of life, for longer than
			// those 5s. Nothing fails, every byte that arrives is right,
			// and the writer's Close gives up on the data still queued
			// after the close timeout.
			name:    "DripClientToServer",
			fault:   func(l *faultproxy.Link) { l.Drip(c2s, time.Millisecond) },
			writer:  "client",
			msgSize: 100,
			observe: 6 * time.Second, flows: true,
			client: faultOutcome{close: writerCloseOutcome},
			server: faultOutcome{close: []error{nil, ErrCloseTimeout, ErrConnectionLost}},
		},
		{
			name:    "DripServerToClient",
			fault:   func(l *faultproxy.Link) { l.Drip(s2c, time.Millisecond) },
			writer:  "server",
			msgSize: 100,
			observe: 6 * time.Second, flows: true,
			client: faultOutcome{close: []error{nil, ErrCloseTimeout, ErrConnectionLost}},
			server: faultOutcome{close: writerCloseOutcome},
		},
		{
			// The same with messages of 32 KiB, 32s each on this link.
			name:    "DripClientToServerLargeMessages",
			fault:   func(l *faultproxy.Link) { l.Drip(c2s, time.Millisecond) },
			writer:  "client",
			msgSize: 32 << 10,
			observe: 6 * time.Second,
			client:  faultOutcome{close: writerCloseOutcome},
			server:  faultOutcome{close: []error{nil, ErrCloseTimeout, ErrConnectionLost}},
		},
		{
			// The client closes; the server's answer never arrives.
			name:   "PeerNeverAnswersClientsClose",
			fault:  func(l *faultproxy.Link) { l.Freeze(s2c) },
			closer: "client",
			client: faultOutcome{close: []error{ErrCloseTimeout}},
			server: faultOutcome{ends: []error{io.EOF}, close: closedAlready},
		},
		{
			name:   "PeerNeverAnswersServersClose",
			fault:  func(l *faultproxy.Link) { l.Freeze(c2s) },
			closer: "server",
			client: faultOutcome{ends: []error{io.EOF}, close: closedAlready},
			server: faultOutcome{close: []error{ErrCloseTimeout}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := faultOptions
			msgSize := tc.msgSize
			if msgSize == 0 {
				msgSize = 8 << 10
			} else {
				opts.MaxMessageSize = msgSize
			}
			client, server, link := newProxiedPair(t, opts)
			ends := map[string]*streamEnd{
				"client": {name: "client", c: client, wseed: seedC2S, rseed: seedS2C},
				"server": {name: "server", c: server, wseed: seedS2C, rseed: seedC2S},
			}
			outcome := map[string]faultOutcome{"client": tc.client, "server": tc.server}

			// The link works before the fault.
			ends["client"].write(t, 1000)
			ends["server"].readN(t, 1000)
			ends["server"].write(t, 1000)
			ends["client"].readN(t, 1000)

			tc.fault(link)
			start := time.Now()
			closeErrs := make(chan error, 1)
			if tc.closer != "" {
				go func() { closeErrs <- ends[tc.closer].c.Close() }()
			}

			stop := make(chan struct{})
			results := make(map[string]faultResult)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for name, e := range ends {
				if name == tc.closer {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := e.drive(t, tc.writer == name, msgSize, stop)
					mu.Lock()
					results[name] = r
					mu.Unlock()
				}()
			}
			bound := faultEndBound
			switch {
			case tc.observe > 0:
				bound = tc.observe
			case tc.bound > 0:
				bound = tc.bound
			}
			timer := time.AfterFunc(bound, func() { close(stop) })
			waitGroup(t, &wg)
			timer.Stop()
			elapsed := time.Since(start)

			for name, e := range ends {
				want := outcome[name]
				if name == tc.closer {
					continue
				}
				r := results[name]
				for _, late := range r.late {
					t.Errorf("%s: %s, the deadline was %v", name, late, faultDeadline)
				}
				if len(want.ends) == 0 {
					if r.readErr != nil || r.writeErr != nil {
						t.Errorf("%s: failed under the fault: Read: %v; Write: %v", name, r.readErr, r.writeErr)
					}
				} else {
					if r.readErr == nil {
						t.Errorf("%s: Read still had no error after %v, want one of %v", name, elapsed, want.ends)
					} else if !errorIn(r.readErr, want.ends) {
						t.Errorf("%s: Read: %v, want one of %v", name, r.readErr, want.ends)
					} else if want.peerCode != 0 && websocket.CloseStatus(r.readErr) != want.peerCode {
						t.Errorf("%s: Read: %v, want the peer's status %v", name, r.readErr, want.peerCode)
					}
					// Write reports the same end; a peer's close frame
					// ends writing even when Read saw io.EOF.
					_, werr := e.c.Write([]byte{0})
					if !errorIn(werr, append(want.ends, ErrPeerClosed)) {
						t.Errorf("%s: Write after the end: %v, want one of %v", name, werr, want.ends)
					}
					if r.writeErr != nil && !errorIn(r.writeErr, append(want.ends, ErrPeerClosed)) {
						t.Errorf("%s: Write ended with %v, want one of %v", name, r.writeErr, want.ends)
					}
				}
				t.Logf("%s: after %v: Read: %v; Write: %v (%d KiB queued under the fault)",
					name, elapsed.Round(time.Millisecond), r.readErr, r.writeErr, r.queued>>10)
			}

			// Both close at once, as an application would when its
			// connection fails; the closer's Close is already running.
			closeStart := time.Now()
			var cwg sync.WaitGroup
			for name, e := range ends {
				cwg.Add(1)
				go func() {
					defer cwg.Done()
					var err error
					if name == tc.closer {
						select {
						case err = <-closeErrs:
						case <-time.After(testTimeout):
							err = fmt.Errorf("Close did not return within %v", testTimeout)
						}
					} else {
						err = e.c.Close()
					}
					d := time.Since(closeStart)
					if name == tc.closer {
						d = time.Since(start)
					}
					if want := outcome[name].close; !errorIn(err, want) {
						t.Errorf("%s: Close: %v, want one of %v", name, err, want)
					}
					if d > opts.CloseTimeout+faultSlack {
						t.Errorf("%s: Close took %v, the close timeout is %v", name, d, opts.CloseTimeout)
					}
					t.Logf("%s: Close: %v", name, err)
				}()
			}
			waitGroup(t, &cwg)

			if tc.writer != "" {
				w := ends[tc.writer]
				peer := ends["client"]
				if tc.writer == "client" {
					peer = ends["server"]
				}
				if peer.read > w.written {
					t.Errorf("the %s read %d bytes, the %s wrote %d", peer.name, peer.read, w.name, w.written)
				}
				if tc.flows && peer.read <= 1000 {
					t.Errorf("no byte went through the slow link in %v", tc.observe)
				}
			}
		})
	}
}
