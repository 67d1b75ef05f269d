//go:build !js

package wsstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

func TestParseHead(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	for _, tc := range []struct {
		mask   *[4]byte
		length uint64
	}{
		{nil, 0}, {nil, 125}, {nil, 126}, {nil, 65535}, {nil, 65536}, {nil, 1 << 40},
		{&key, 0}, {&key, 125}, {&key, 126}, {&key, 1 << 40},
	} {
		b := appendFrameHeader(nil, true, 0, opBinary, tc.mask, tc.length)
		for i := range len(b) {
			if _, ok := parseHead(b[:i]); ok {
				t.Fatalf("length %d: parsed a header from %d of its %d bytes", tc.length, i, len(b))
			}
		}
		h, ok := parseHead(append(b, 0xff)) // and a byte of payload after
		if !ok || h.size != len(b) || h.payload != int64(tc.length) || !h.fin || h.rsv != 0 ||
			h.opcode != opcodeBinary || h.masked != (tc.mask != nil) {
			t.Fatalf("length %d, masked %v: parsed %+v from % x", tc.length, tc.mask != nil, h, b)
		}
		if tc.mask != nil && h.key != 0x04030201 {
			t.Fatalf("key %#x, want 0x04030201", h.key)
		}
	}
	b := appendFrameHeader(nil, false, rsv1, opText, nil, 1<<63)
	if h, ok := parseHead(b); !ok || h.payload >= 0 || h.fin || h.rsv != 4 || h.opcode != 1 {
		t.Fatalf("parsed %+v from % x: want a negative length, rsv 4, opcode 1, no fin", h, b)
	}
}

// TestReadDecodesFramesInPieces sends a stream in pieces as small as a
// byte, with pings and fragmented messages among the binary frames, to a
// Conn blocked in Read: every byte arrives, in order, as soon as it is
// sent, and every ping is answered while the application reads.
func TestReadDecodesFramesInPieces(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, Options{})
			rng := rand.New(rand.NewPCG(3, 4))
			var stream, wire []byte
			type mark struct{ wireEnd, streamEnd int }
			var marks []mark // where the stream is whole again
			add := func(frame []byte, payload []byte) {
				wire = append(wire, frame...)
				stream = append(stream, payload...)
				marks = append(marks, mark{len(wire), len(stream)})
			}
			pings := 0
			for i := range 60 {
				data := randBytes(rng, []int{1, 5, 125, 126, 300, 4000, 20000}[i%7])
				switch i % 5 {
				case 3: // fragmented, with a ping inside
					add(p.frame(false, 0, opBinary, data[:len(data)/2]), data[:len(data)/2])
					add(p.frame(true, 0, opPing, []byte{byte(i)}), nil)
					pings++
					add(p.frame(true, 0, opCont, data[len(data)/2:]), data[len(data)/2:])
				case 4:
					add(p.frame(true, 0, opPing, []byte{byte(i)}), nil)
					pings++
					add(p.frame(true, 0, opBinary, data), data)
				default:
					add(p.frame(true, 0, opBinary, data), data)
				}
			}

			got := make(chan int, len(stream))
			readErr := make(chan error, 1)
			go func() {
				buf := make([]byte, 1000)
				var all []byte
				for len(all) < len(stream) {
					c.SetReadDeadline(time.Now().Add(testTimeout))
					n, err := c.Read(buf)
					all = append(all, buf[:n]...)
					if err != nil {
						readErr <- err
						return
					}
					got <- len(all)
				}
				if !bytes.Equal(all, stream) {
					readErr <- errors.New("the bytes read differ from the bytes sent")
					return
				}
				readErr <- nil
			}()
			pongs := make(chan error, 1)
			go func() {
				p.conn.SetReadDeadline(time.Now().Add(testTimeout))
				for n := 0; n < pings; {
					f, err := readWireFrame(p.br)
					if err != nil {
						pongs <- err
						return
					}
					if f.op == opPong {
						n++
					}
				}
				pongs <- nil
			}()

			have := 0
			for off, m := 0, 0; off < len(wire); {
				n := min(len(wire)-off, 1+rng.IntN(3000))
				switch rng.IntN(4) {
				case 0:
					n = 1
				case 1: // up to the end of a frame, and no further
					n = marks[m].wireEnd - off
				}
				p.send(t, wire[off:off+n])
				off += n
				// Once the stream is whole up to a frame's end, the Read
				// must deliver all of it without more bytes coming.
				for m < len(marks) && marks[m].wireEnd <= off {
					m++
				}
				for m > 0 && have < marks[m-1].streamEnd {
					select {
					case have = <-got:
					case err := <-readErr:
						if err != nil {
							t.Fatalf("Read: %v", err)
						}
						have = len(stream)
						readErr <- nil // for the check below
					case <-time.After(testTimeout):
						t.Fatalf("Read returned %d bytes; %d were sent in whole frames", have, marks[m-1].streamEnd)
					}
				}
			}
			if err := recv(t, readErr); err != nil {
				t.Fatal(err)
			}
			if err := recv(t, pongs); err != nil {
				t.Fatalf("raw peer: waiting for %d pongs: %v", pings, err)
			}
		})
	}
}

// TestPingAnsweredAfterReadsStop checks that the read loop takes the
// socket back from Read: after the application read and then stopped
// reading, a ping is still answered.
func TestPingAnsweredAfterReadsStop(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, Options{})
			p.send(t, p.frame(true, 0, opBinary, []byte("hi")))
			buf := make([]byte, 2)
			c.SetReadDeadline(time.Now().Add(testTimeout))
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			p.send(t, p.frame(true, 0, opPing, []byte("after")))
			p.expectPong(t, "after")
		})
	}
}

// TestSetReadDeadlineWakesWaitingRead moves the deadline of a Read that
// waits for the socket with none: it returns at the new deadline.
func TestSetReadDeadlineWakesWaitingRead(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			_, c := newRawPeer(t, side, Options{})
			errc := make(chan error, 1)
			started := make(chan struct{})
			go func() {
				close(started)
				_, err := c.Read(make([]byte, 1))
				errc <- err
			}()
			<-started
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			if err := recv(t, errc); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read: %v, want a timeout", err)
			}
			// And the Conn is still usable: clearing the deadline lets
			// a Read wait again.
			c.SetReadDeadline(time.Time{})
			go func() {
				_, err := c.Read(make([]byte, 1))
				errc <- err
			}()
			c.CloseNow()
			if err := recv(t, errc); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
			}
		})
	}
}

// TestDialFramesWithTheResponse has a server send its first frames in the
// same write as the 101 response: none of them is lost in net/http's
// buffer, whether the response's lines end in CRLF or in LF alone.
func TestDialFramesWithTheResponse(t *testing.T) {
	for _, eol := range []string{"\r\n", "\n"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(testTimeout))
			br := bufio.NewReader(nc)
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			b := []byte("HTTP/1.1 101 Switching Protocols" + eol + "Upgrade: websocket" + eol + "Connection: Upgrade" + eol +
				"Sec-WebSocket-Accept: " + wsAcceptKey(req.Header.Get("Sec-WebSocket-Key")) + eol + eol)
			b = appendFrame(b, true, 0, opBinary, nil, []byte("first "))
			b = appendFrame(b, true, 0, opBinary, nil, []byte("second"))
			nc.Write(b)
			io.Copy(io.Discard, br) // until the client closes
		}()
		c, _, err := Dial(testContext(t), "ws://"+ln.Addr().String()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 12)
		c.SetReadDeadline(time.Now().Add(testTimeout))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "first second" {
			t.Errorf("line ends %q: read %q, %v; want %q", eol, buf, err, "first second")
		}
		c.CloseNow()
		recv(t, done)
	}
}

// TestAcceptFramesWithTheRequest has a client send a frame right behind
// its upgrade request: net/http reads it with the request, and the Conn
// still reads it first.
func TestAcceptFramesWithTheRequest(t *testing.T) {
	s, accepted := newAcceptServer(t, nil)
	nc, err := net.DialTimeout("tcp", s.Listener.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b := []byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + rawKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
	b = appendFrame(b, true, 0, opBinary, &hostileMaskKey, []byte("early"))
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	c := recv(t, accepted)
	defer c.CloseNow()
	if !c.tr.in.decode {
		// A client that writes as soon as the 101 is out often has its
		// first byte taken by net/http's background read: that must not
		// cost the Conn its decoding Reads.
		t.Error("the Conn does not decode frames: the bytes behind the request stayed in net/http's buffer")
	}
	buf := make([]byte, 10)
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(c, buf[:5]); err != nil || string(buf[:5]) != "early" {
		t.Fatalf("read %q, %v; want %q", buf[:5], err, "early")
	}
	if _, err := nc.Write(appendFrame(nil, true, 0, opBinary, &hostileMaskKey, []byte("later"))); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf[5:]); err != nil || string(buf) != "earlylater" {
		t.Fatalf("read %q, %v; want %q", buf, err, "earlylater")
	}
}

// TestCloseInTheMiddleOfAFrame closes a Conn whose Read has decoded half
// of a frame: the rest of the frame is read past, and the close handshake
// completes.
func TestCloseInTheMiddleOfAFrame(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, Options{})
			frame := p.frame(true, 0, opBinary, bytes.Repeat([]byte("x"), 10000))
			p.send(t, frame[:5000])
			c.SetReadDeadline(time.Now().Add(testTimeout))
			if _, err := io.ReadFull(c, make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
			closed := make(chan error, 1)
			go func() { closed <- c.Close() }()
			if code, _ := p.closeStatus(t); code != 1000 {
				t.Fatalf("raw peer: close status %v, want 1000", code)
			}
			p.send(t, append(frame[5000:], p.frame(true, 0, opClose, closePayload(1000, ""))...))
			p.conn.(*net.TCPConn).CloseWrite() // a client waits for the server's end of TCP
			if err := recv(t, closed); err != nil {
				t.Fatalf("Close: %v, want nil: the handshake completes", err)
			}
		})
	}
}

// unstartedConn returns a Conn made by Accept's path over a real TCP
// connection whose read loop does not run, and the peer's end, for
// tests that drive the decoder by hand.
func unstartedConn(t *testing.T, o Options) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	tr := newTransport(nc, time.Second, false)
	t.Cleanup(tr.abort)
	tr.in.startFrames(true)
	c := newConn(nil, tr, o, context.Background(), nil, nc.LocalAddr(), nc.RemoteAddr())
	if c.direct() == nil {
		t.Fatal("no decoding over plain TCP")
	}
	return c, peer
}

// TestReadWithFullBufferDoesNotWait has a Read take the socket when the
// receive buffer is full (the read loop filled it while the Read waited
// for the socket) and a frame waits in the inbox: the Read returns to take
// what is buffered instead of waiting for the socket.
func TestReadWithFullBufferDoesNotWait(t *testing.T) {
	c, _ := unstartedConn(t, Options{ReadBufferSize: 1024})
	region := c.recv.reserve(nil)
	c.recv.commit(len(region))
	in := c.direct()
	frame := appendFrame(nil, true, 0, opBinary, &hostileMaskKey, []byte("more"))
	if !in.preload(len(frame), bufio.NewReader(bytes.NewReader(frame))) {
		t.Fatal("preload refused the frame")
	}
	requireReadDirectReturns(t, c, "the receive buffer full")
}

// TestLoopDecodeHandsOverToCoder gives the read loop the socket when a
// Read has just made it coder's turn (a Read that read the end of the
// stream, say, released the token while the read loop waited for it):
// the read loop hands over at once instead of waiting, or spinning on a
// wait that stops at once.
func TestLoopDecodeHandsOverToCoder(t *testing.T) {
	c, _ := unstartedConn(t, Options{ReadBufferSize: 1024})
	in := c.direct()
	in.coderTurn.Store(true)
	in.acquire()
	done := make(chan error, 1)
	go func() {
		done <- c.loopDecode(in, func() (time.Time, bool) { return time.Time{}, in.coderTurn.Load() })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("loopDecode: %v, want nil: coder's turn", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("loopDecode did not hand over to coder within 2s") // and spins on
	}
	in.release()
}

// TestReadAfterCoderTurnWithoutData has a Read wait while coder reads a
// message that carries no byte (an empty fragmented one): when decoding
// resumes, the read loop decodes what comes next for that Read, which
// waits for it and not for the socket. The idle timer is set to an hour,
// so only that hands the data on.
func TestReadAfterCoderTurnWithoutData(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, Options{})
			c.tr.in.idle = time.Hour
			p.send(t, p.frame(true, 0, opBinary, []byte("a")))
			buf := make([]byte, 1)
			c.SetReadDeadline(time.Now().Add(testTimeout))
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			got := make(chan error, 1)
			go func() {
				_, err := io.ReadFull(c, buf)
				got <- err
			}()
			// Coder's turn: an empty message in two fragments.
			p.send(t, append(p.frame(false, 0, opBinary, nil), p.frame(true, 0, opCont, nil)...))
			// Then a frame the read loop decodes once coder is done.
			p.send(t, p.frame(true, 0, opBinary, []byte("b")))
			if err := recv(t, got); err != nil || buf[0] != 'b' {
				t.Fatalf("Read: %q, %v; want %q", buf, err, "b")
			}
		})
	}
}

// TestReadTakesWhatArrivedBeforeTheToken has the read loop make bytes
// readable after a Read found the buffer empty and before it got the
// token: the Read returns to take them instead of waiting for the socket
// (where it waited until the next bytes from the peer: keepalive's, 30 s
// later, in a benchmark).
func TestReadTakesWhatArrivedBeforeTheToken(t *testing.T) {
	c, _ := unstartedConn(t, Options{ReadBufferSize: 1024})
	region := c.recv.reserve(nil)
	copy(region, "echo")
	c.recv.commit(4)
	c.recv.readWake.ensure() // made after the commit: no notification waits
	requireReadDirectReturns(t, c, "bytes readable")
}

// requireReadDirectReturns runs readDirect on c, whose peer sends
// nothing, and fails unless it returns true (look at the buffer again)
// within 2s instead of waiting for the socket with what state says.
func requireReadDirectReturns(t *testing.T, c *Conn, state string) {
	t.Helper()
	done := make(chan bool, 1)
	go func() {
		_, again := c.readDirect(make([]byte, 16), c.recv.readWake.made())
		done <- again
	}()
	select {
	case again := <-done:
		if !again {
			t.Fatal("readDirect: false, want true: there is something to take")
		}
	case <-time.After(2 * time.Second):
		c.interruptRead()
		c.tr.abort()
		<-done
		t.Fatalf("readDirect waited for the socket with %s", state)
	}
}

// TestPreloadMoreThanTheInbox moves more bytes than the inbox holds, as a
// server with a larger buffer than net/http's would leave: all of them.
func TestPreloadMoreThanTheInbox(t *testing.T) {
	c, _ := unstartedConn(t, Options{})
	in := c.direct()
	data := bytes.Repeat([]byte("0123456789abcdef"), inboxSize/16+100)
	br := bufio.NewReaderSize(bytes.NewReader(data), len(data))
	br.Peek(len(data))
	in.acquire()
	defer in.release()
	if !in.preload(len(data), br) {
		t.Fatal("preload refused")
	}
	if !bytes.Equal(in.pending(), data) {
		t.Fatalf("inbox holds %d bytes, want the %d preloaded", len(in.pending()), len(data))
	}
}

// TestIdleTimerBacksOffWhileReadsGoOn drives the idle timer's callback by
// hand: each time it finds that Reads came (or one holds on), its period
// doubles, never past readIdleMax (which bounds how long after the last
// Read the read loop takes the socket back); a period without Reads lets
// the read loop take the socket and starts again at readIdle.
func TestIdleTimerBacksOffWhileReadsGoOn(t *testing.T) {
	c, _ := unstartedConn(t, Options{})
	in := c.direct()
	in.readers.Add(1)
	c.readDone(in) // the first Read out makes the timer
	in.idleMu.Lock()
	in.idleTimer.Stop() // from here the test fires it
	in.idleMu.Unlock()
	in.loopMay.Store(false)
	// period stops the timer the callback may have set again (20 ms or
	// more ahead), and returns the period.
	period := func() time.Duration {
		in.idleMu.Lock()
		defer in.idleMu.Unlock()
		in.idleTimer.Stop()
		return in.idleWait
	}
	want := readIdle
	for i := range 6 {
		if i%2 == 0 {
			in.readRounds.Add(1) // Reads came and went
		} else {
			in.readers.Add(1) // a Read holds on
		}
		c.loopMayDrive(in)
		if i%2 == 1 {
			in.readers.Add(-1)
		}
		want = min(2*want, readIdleMax)
		if got := period(); got != want || in.loopMay.Load() {
			t.Fatalf("after %d periods with Reads: period %v, loopMay %v; want %v, false", i+1, got, in.loopMay.Load(), want)
		}
	}
	c.loopMayDrive(in) // a period without Reads
	if got := period(); got != readIdle || !in.loopMay.Load() {
		t.Fatalf("after a period without Reads: period %v, loopMay %v; want %v, true", got, in.loopMay.Load(), readIdle)
	}
}
