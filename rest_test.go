//go:build !js

package wsstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// readLoopRuns reports whether c's read loop has a goroutine: whether one
// is in readLoop with c as its receiver.
func readLoopRuns(c *Conn) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Contains(string(buf[:n]), fmt.Sprintf("wsstream.(*Conn).readLoop(%p", c))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// readLoopGoroutine returns the header and creator lines of c's read
// loop's goroutine ("goroutine N [...]" and "created by ..."), or "" when
// it has none.
func readLoopGoroutine(c *Conn) string {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	for g := range strings.SplitSeq(string(buf[:n]), "\n\n") {
		if !strings.Contains(g, fmt.Sprintf("wsstream.(*Conn).readLoop(%p", c)) {
			continue
		}
		lines := strings.Split(g, "\n")
		head := lines[0]
		for _, l := range lines {
			if strings.HasPrefix(l, "created by ") {
				return head[:strings.Index(head, " [")] + " " + l
			}
		}
	}
	return ""
}

// waitReadLoop waits until c's read loop runs (or rests, for false). There
// is no signal to wait for: the goroutine's exit is the runtime's.
func waitReadLoop(t *testing.T, c *Conn, runs bool) {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); readLoopRuns(c) != runs; {
		if time.Now().After(deadline) {
			t.Fatalf("read loop running: %v after %v; want %v", !runs, testTimeout, runs)
		}
		time.Sleep(time.Millisecond)
	}
}

// expectPong reads the raw peer's next frame, failing the test unless it
// is a pong carrying payload.
func (p *rawPeer) expectPong(t *testing.T, payload string) {
	t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(testTimeout))
	f, err := readWireFrame(p.br)
	if err != nil || f.op != opPong || string(f.payload) != payload {
		t.Fatalf("raw peer: read op %d %q, %v; want the pong %q", f.op, f.payload, err, payload)
	}
}

// closeLocally closes c and plays the raw peer's part of the handshake:
// it expects the Conn's close frame with 1000, answers it, and hangs up
// as a server must. It returns what Close returned.
func (p *rawPeer) closeLocally(t *testing.T, c *Conn) error {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	if code, reason := p.closeStatus(t); code != websocket.StatusNormalClosure {
		t.Fatalf("raw peer: close frame %d %q; want 1000", code, reason)
	}
	p.send(t, p.frame(true, 0, opClose, closePayload(1000, "")))
	p.hangUpAsServer()
	return recv(t, closed)
}

// hangUpAsServer closes the TCP connection after the close handshake when
// the raw peer is the server, as RFC 6455 section 7.1.1 asks of it (a
// client waits for it).
func (p *rawPeer) hangUpAsServer() {
	if !p.client {
		p.conn.Close()
	}
}

// TestReadLoopRestsWhileAReadWaits: while the application's Read waits for
// the socket, the Conn keeps no goroutine of its own (its read loop's
// stack is most of what an idle Conn costs); the read loop comes back
// whenever it has something to do (a ping to answer, the close
// handshake, the idle timer after the Reads stop), so nothing a Conn
// does while nobody reads is lost.
func TestReadLoopRestsWhileAReadWaits(t *testing.T) {
	for _, side := range hostileSides {
		for _, end := range []string{"local Close", "peer's close", "CloseNow"} {
			t.Run(side+"/"+end, func(t *testing.T) {
				p, c := newRawPeer(t, side, Options{})
				type result struct {
					data string
					err  error
				}
				results := make(chan result, 8)
				go func() {
					buf := make([]byte, 64)
					for {
						n, err := c.Read(buf)
						results <- result{string(buf[:n]), err}
						if err != nil {
							return
						}
					}
				}()
				read := func(want string) {
					t.Helper()
					if r := recv(t, results); r.data != want || r.err != nil {
						t.Fatalf("Read: %q, %v; want %q, nil", r.data, r.err, want)
					}
				}

				waitReadLoop(t, c, false)
				p.send(t, p.frame(true, 0, opBinary, []byte("one")))
				read("one")

				// A ping while the read loop rests is answered.
				waitReadLoop(t, c, false)
				p.send(t, p.frame(true, 0, opPing, []byte("are you there")))
				p.expectPong(t, "are you there")
				// The read loop reads the next message through
				// coder/websocket (which read the ping), then rests again.
				p.send(t, p.frame(true, 0, opBinary, []byte("two")))
				read("two")
				waitReadLoop(t, c, false)

				switch end {
				case "local Close":
					if err := p.closeLocally(t, c); err != nil {
						t.Fatalf("Close: %v", err)
					}
					if r := recv(t, results); !errors.Is(r.err, net.ErrClosed) {
						t.Fatalf("Read after Close: %v; want net.ErrClosed", r.err)
					}
				case "peer's close":
					p.send(t, p.frame(true, 0, opClose, closePayload(1000, "")))
					if code, _ := p.closeStatus(t); code != websocket.StatusNormalClosure {
						t.Fatalf("raw peer: close frame %d; want 1000 echoed", code)
					}
					p.hangUpAsServer()
					if r := recv(t, results); r.err != io.EOF {
						t.Fatalf("Read after the peer's close: %v; want io.EOF", r.err)
					}
				case "CloseNow":
					if err := c.CloseNow(); err != nil {
						t.Fatalf("CloseNow: %v", err)
					}
					if r := recv(t, results); !errors.Is(r.err, net.ErrClosed) {
						t.Fatalf("Read after CloseNow: %v; want net.ErrClosed", r.err)
					}
				}
				select {
				case <-c.finished.wait():
				case <-time.After(testTimeout):
					t.Fatal("the Conn did not end")
				}
			})
		}
	}
}

// TestReadLoopComesBackWhenReadsStop: once Reads stop, the read loop takes
// the socket back (within 2 × readIdleMax), so pings are answered while
// nobody reads.
func TestReadLoopComesBackWhenReadsStop(t *testing.T) {
	p, c := newRawPeer(t, "Acceptor", Options{})
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		_, err := c.Read(buf)
		got <- err
	}()
	waitReadLoop(t, c, false)
	p.send(t, p.frame(true, 0, opBinary, []byte("x")))
	if err := recv(t, got); err != nil {
		t.Fatalf("Read: %v", err)
	}
	waitReadLoop(t, c, true) // nobody reads: the idle timer wakes it
	p.send(t, p.frame(true, 0, opPing, []byte("still there")))
	p.expectPong(t, "still there")
}

// TestReadLoopWaitsOnAFreshGoroutine: once the read loop has read (its
// stack has grown, and a parked goroutine's stack never shrinks back), it
// waits for the socket on a goroutine of its own making, fresh, rather
// than keep the grown one while the Conn idles; and that goroutine waits,
// rather than hand over again.
func TestReadLoopWaitsOnAFreshGoroutine(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, Options{})
			// Nobody reads: the read loop starts once the Conn's first
			// period is over.
			waitReadLoop(t, c, true)
			if g := readLoopGoroutine(c); !strings.Contains(g, "created by github.com/wsstream/wsstream.(*Conn).wakeLoop") {
				t.Fatalf("read loop at first: %q; want the one the first period's end started", g)
			}
			// Nobody reads: the read loop decodes the frame into the
			// buffer, and would then wait.
			p.send(t, p.frame(true, 0, opBinary, bytes.Repeat([]byte("x"), 3000)))
			var g string
			for deadline := time.Now().Add(testTimeout); ; {
				g = readLoopGoroutine(c)
				if strings.Contains(g, "created by github.com/wsstream/wsstream.(*Conn).readLoop") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("read loop after reading a frame: %q; want one made by readLoop", g)
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // time to hand over again, if it did
			if again := readLoopGoroutine(c); again != g {
				t.Fatalf("read loop waiting: %q, then %q; want it to wait", g, again)
			}
			buf := make([]byte, 4000)
			if n, err := io.ReadFull(c, buf[:3000]); n != 3000 || err != nil {
				t.Fatalf("Read: %d, %v", n, err)
			}
		})
	}
}

// TestFirstReadFindsTheSocketFree: a Conn starts with its read loop
// resting, so that the application's first Read, which most often comes
// at once, takes the socket without interrupting the read loop's wait and
// waiting for it: it makes none of the channels such a wait needs (which
// an idle Conn would keep for its life). An attempt where the first period
// may have ended before the Read (a slow machine) is tried again.
func TestFirstReadFindsTheSocketFree(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			for attempt := 0; ; attempt++ {
				p, c := newRawPeer(t, side, Options{})
				made := time.Now()
				p.send(t, p.frame(true, 0, opBinary, []byte("first")))
				buf := make([]byte, 8)
				n, err := c.Read(buf)
				if err != nil || string(buf[:n]) != "first" {
					t.Fatalf("Read: %q, %v", buf[:n], err)
				}
				waited := c.direct().token.freed.made() != nil || c.closing.made() != nil || c.end.published.made() != nil
				loop := readLoopRuns(c)
				if time.Since(made) >= firstRest {
					if attempt == 20 {
						t.Fatalf("no attempt read within %v of Dial or Accept", firstRest)
					}
					continue
				}
				if waited {
					t.Fatal("the first Read waited for the token")
				}
				if loop {
					t.Fatal("the read loop runs while the first Read took the socket")
				}
				return
			}
		})
	}
}
