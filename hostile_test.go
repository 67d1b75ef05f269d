//go:build !js

package wsstream

// Hostile peers: after a real HTTP upgrade, written by hand on a plain TCP
// connection, the peer sends raw frames that break RFC 6455 or try to
// exhaust the Conn. Each test asserts what the Conn does: no panic, memory
// bounded by its buffers, the close status RFC 6455 asks for on the wire,
// and the cause in Read's error. docs/reliability.md lists the results.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// reaches a timeout does so quickly.
var hostileOptions = Options{CloseTimeout: time.Second}

// TestHostileFrames sends one protocol violation (or a close frame) after
// a little valid data and checks what the Conn answers on the wire and
// what Read reports.
func TestHostileFrames(t *testing.T) {
	// noClose is the status of a connection that ended without a close
	// frame.
	const noClose websocket.StatusCode = -1
	type tc struct {
		name string
		// bytes is what the raw peer sends; mask is the key it must use.
		bytes func(mask *[4]byte) []byte
		// only restricts the case to one side.
		only string
		// data is what Read returns before the error, if not "valid".
		data string
		// status is the close status the Conn sends back.
		status websocket.StatusCode
		// readErr is what Read's error matches, after the valid data;
		// io.EOF means a bare io.EOF.
		readErr error
		// peerCode is the close status Read's error carries, if any.
		peerCode websocket.StatusCode
	}
	frame := func(fin bool, rsv, op byte, payload []byte) func(*[4]byte) []byte {
		return func(mask *[4]byte) []byte { return appendFrame(nil, fin, rsv, op, mask, payload) }
	}
	closeCode := func(code uint16) func(*[4]byte) []byte {
		return frame(true, 0, opClose, closePayload(code, "bye"))
	}
	cases := []tc{
		{name: "RSV1WithoutExtension", bytes: frame(true, rsv1, opBinary, []byte("x")), status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "RSV2", bytes: frame(true, rsv2, opBinary, []byte("x")), status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "RSV3OnPing", bytes: frame(true, rsv3, opPing, nil), status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "ReservedDataOpcode3", bytes: frame(true, 0, 0x3, []byte("x")), status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "ReservedControlOpcode11", bytes: frame(true, 0, 0xB, nil), status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "Ping126Bytes", bytes: frame(true, 0, opPing, make([]byte, 126)), status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "Close126Bytes", bytes: frame(true, 0, opClose, closePayload(1000, string(make([]byte, 124)))), status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "PingClaiming2^32Bytes", bytes: func(mask *[4]byte) []byte {
			return appendFrameHeader(nil, true, 0, opPing, mask, 1<<32)
		}, status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "FragmentedPing", bytes: frame(false, 0, opPing, []byte("p")), status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "ContinuationWithoutStart", bytes: frame(true, 0, opCont, []byte("x")), status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "NewMessageInsideFragmentedOne", data: "valida", bytes: func(mask *[4]byte) []byte {
			b := appendFrame(nil, false, 0, opBinary, mask, []byte("a"))
			return appendFrame(b, true, 0, opBinary, mask, []byte("b"))
		}, status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "PayloadLength2^63", bytes: func(mask *[4]byte) []byte {
			// RFC 6455 section 5.2: the most significant bit of a 64-bit
			// length MUST be 0. coder/websocket fails the connection
			// without a close frame.
			return appendFrameHeader(nil, true, 0, opBinary, mask, 1<<63)
		}, status: noClose, readErr: ErrConnectionLost},
		{name: "UnmaskedFromClient", only: "Acceptor", bytes: func(*[4]byte) []byte {
			return appendFrame(nil, true, 0, opBinary, nil, []byte("x"))
		}, status: noClose, readErr: ErrConnectionLost},
		{name: "CloseOneBytePayload", bytes: frame(true, 0, opClose, []byte{3}), status: websocket.StatusProtocolError, readErr: ErrConnectionLost},
		{name: "TextMessage", bytes: frame(true, 0, opText, []byte("text")), status: websocket.StatusUnsupportedData, readErr: ErrTextMessage},
		// Valid close frames, for comparison: the Conn echoes the status.
		{name: "CloseEmpty", bytes: frame(true, 0, opClose, nil), status: websocket.StatusNoStatusRcvd, readErr: ErrPeerClosed, peerCode: websocket.StatusNoStatusRcvd},
		{name: "Close1000", bytes: closeCode(1000), status: websocket.StatusNormalClosure, readErr: io.EOF},
		{name: "Close3000", bytes: closeCode(3000), status: 3000, readErr: ErrPeerClosed, peerCode: 3000},
		{name: "Close4999", bytes: closeCode(4999), status: 4999, readErr: ErrPeerClosed, peerCode: 4999},
	}
	// Close codes a peer must never send (RFC 6455 section 7.4).
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535} {
		cases = append(cases, tc{
			name: fmt.Sprintf("CloseCode%d", code), bytes: closeCode(code),
			status: websocket.StatusProtocolError, readErr: ErrConnectionLost,
		})
	}
	for _, tc := range cases {
		for _, side := range hostileSides {
			if tc.only != "" && tc.only != side {
				continue
			}
			t.Run(tc.name+"/"+side, func(t *testing.T) {
				t.Parallel()
				p, c := newRawPeer(t, side, hostileOptions)
				valid := p.frame(true, 0, opBinary, []byte("valid"))
				p.send(t, append(valid, tc.bytes(p.mask())...))

				code, reason := p.closeStatus(t)
				if code != tc.status {
					t.Errorf("the Conn answered with close status %v (%q), want %v", code, reason, tc.status)
				}
				got, err := readUntilErr(t, c)
				want := "valid"
				if tc.data != "" {
					want = tc.data
				}
				if string(got) != want {
					t.Errorf("Read returned %q before the error, want %q", got, want)
				}
				switch {
				case tc.readErr == io.EOF:
					if err != io.EOF {
						t.Errorf("Read: %v, want a bare io.EOF", err)
					}
				case !errors.Is(err, tc.readErr):
					t.Errorf("Read: %v, want an error wrapping %v", err, tc.readErr)
				case tc.peerCode != 0 && websocket.CloseStatus(err) != tc.peerCode:
					t.Errorf("Read: %v, want the peer's status %v", err, tc.peerCode)
				}
				t.Logf("wire: close status %v %q; Read: %v", code, reason, err)
				if _, err := c.Write([]byte("x")); err == nil {
					t.Error("Write after the connection ended succeeded")
				}
				if err := c.Close(); err != nil {
					t.Errorf("Close after the connection ended: %v", err)
				}
			})
		}
	}
}

// TestHostilePingFlood sends 100,000 pings in a row, each with a payload
// of the maximal 125 bytes, and reads the pongs: every ping is answered,
// in order, and the stream still works afterwards.
func TestHostilePingFlood(t *testing.T) {
	const pings = 100_000
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			p, c := newRawPeer(t, side, hostileOptions)
			payload := func(i int) []byte {
				b := bytes.Repeat([]byte{byte(i)}, 125)
				binary.BigEndian.PutUint32(b, uint32(i))
				return b
			}
			writeErr := make(chan error, 1)
			go func() {
				var b []byte
				for i := range pings {
					b = appendFrame(b, true, 0, opPing, p.mask(), payload(i))
					if len(b) > 64<<10 || i == pings-1 {
						if _, err := p.conn.Write(b); err != nil {
							writeErr <- err
							return
						}
						b = b[:0]
					}
				}
				_, err := p.conn.Write(p.frame(true, 0, opBinary, []byte("after the flood")))
				writeErr <- err
			}()
			// Slow under the race detector: coder/websocket arms two timers
			// per control frame.
			p.conn.SetReadDeadline(time.Now().Add(3 * testTimeout))
			for i := range pings {
				f, err := readWireFrame(p.br)
				if err != nil {
					t.Fatalf("pong %d: %v", i, err)
				}
				if f.op != opPong || !bytes.Equal(f.payload, payload(i)) {
					t.Fatalf("frame %d: opcode %#x, payload %x; want the pong of ping %d", i, f.op, f.payload[:min(8, len(f.payload))], i)
				}
			}
			if err := recv(t, writeErr); err != nil {
				t.Fatalf("raw peer: %v", err)
			}
			got := make([]byte, len("after the flood"))
			c.SetReadDeadline(time.Now().Add(testTimeout))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "after the flood" {
				t.Fatalf("Read after the flood: %q, %v", got, err)
			}
		})
	}
}

// TestHostilePingFloodUnread floods pings and never reads the pongs. The
// pongs fill the socket buffers; coder/websocket gives each pong 5s to be
// written, then drops the connection. The flooder is stopped, not served
// forever. (A Conn made by Dial then reads and discards what the server
// still sends for up to CloseTimeout, waiting for it to close TCP.)
func TestHostilePingFloodUnread(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for coder/websocket's 5s control frame timeout")
	}
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			p, c := newRawPeer(t, side, hostileOptions)
			var b []byte
			for range 1000 {
				b = appendFrame(b, true, 0, opPing, p.mask(), make([]byte, 125))
			}
			start := time.Now()
			p.conn.SetWriteDeadline(start.Add(testTimeout))
			var err error
			for err == nil {
				_, err = p.conn.Write(b)
			}
			// Writes fail once the Conn dropped the connection.
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the Conn still accepted pings after %v", testTimeout)
			}
			_, rerr := readUntilErr(t, c)
			if !errors.Is(rerr, ErrConnectionLost) {
				t.Fatalf("Read: %v, want ErrConnectionLost", rerr)
			}
			t.Logf("dropped after %v; raw write: %v; Read: %v", time.Since(start).Round(time.Millisecond), err, rerr)
		})
	}
}

// TestHostileOneByteFragments sends one message as 100,000 fragments of
// one byte each: every byte arrives, in order.
func TestHostileOneByteFragments(t *testing.T) {
	const n = 100_000
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			p, c := newRawPeer(t, side, hostileOptions)
			want := make([]byte, n)
			fillPattern(want, 1, 0)
			var b []byte
			for i := range n {
				op := opCont
				if i == 0 {
					op = opBinary
				}
				b = appendFrame(b, i == n-1, 0, op, p.mask(), want[i:i+1])
			}
			b = appendFrame(b, true, 0, opBinary, p.mask(), []byte("!"))
			go p.conn.Write(b) // fails only when the test is over
			got := make([]byte, n+1)
			c.SetReadDeadline(time.Now().Add(testTimeout))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !bytes.Equal(got[:n], want) || got[n] != '!' {
				t.Fatal("the bytes read differ from the fragments sent")
			}
		})
	}
}

// TestHostileEndlessMessage sends one frame announcing 2^63-1 bytes, the
// largest length RFC 6455 allows, and streams its payload as fast as TCP
// takes it into a Conn that nobody reads yet. The Conn has no message
// size limit: it streams the payload through its read buffer, so the
// sender must be held back by TCP flow control and memory stay bounded.
// Then a slow reader (small reads) takes 8 MiB while the sender goes on,
// checking every byte. Close cannot complete the handshake (the peer is
// in the middle of a frame) and gives up after the close timeout.
func TestHostileEndlessMessage(t *testing.T) {
	const readTotal = 8 << 20
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, hostileOptions)
			p.send(t, appendFrameHeader(nil, false, 0, opBinary, p.mask(), math.MaxInt64))

			var sent uint64
			chunk := make([]byte, 256<<10)
			// write sends the next chunk of the payload. It reports false
			// when the write made no progress for a while: there is no
			// signal for "TCP's window is closed".
			write := func() (bool, error) {
				fillPattern(chunk, 2, int64(sent))
				if p.client {
					maskBytes(chunk, &hostileMaskKey, sent)
				}
				p.conn.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
				n, err := p.conn.Write(chunk)
				sent += uint64(n)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					return false, nil
				}
				return err == nil, err
			}

			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for {
				ok, err := write()
				if err != nil {
					t.Fatalf("raw peer: %v", err)
				}
				if !ok {
					break
				}
				if sent > 1<<30 {
					t.Fatalf("the peer sent %d MiB into a Conn nobody reads: no backpressure", sent>>20)
				}
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 8<<20 {
				t.Errorf("heap grew by %d KiB while the peer was held back", grown>>10)
			}
			t.Logf("the peer was held back after %d KiB", sent>>10)

			stop := make(chan struct{})
			writerDone := make(chan error, 1)
			go func() {
				for {
					select {
					case <-stop:
						writerDone <- nil
						return
					default:
					}
					if _, err := write(); err != nil {
						writerDone <- err
						return
					}
				}
			}()
			got := make([]byte, 1000)
			want := make([]byte, len(got))
			c.SetReadDeadline(time.Now().Add(testTimeout))
			for off := int64(0); off < readTotal; {
				n, err := c.Read(got)
				if err != nil {
					t.Fatalf("Read at offset %d: %v", off, err)
				}
				fillPattern(want[:n], 2, off)
				if !bytes.Equal(got[:n], want[:n]) {
					t.Fatalf("bytes at offset %d differ", off)
				}
				off += int64(n)
			}
			close(stop)
			if err := recv(t, writerDone); err != nil {
				t.Fatalf("raw peer: %v", err)
			}

			start := time.Now()
			err := c.Close()
			if !errors.Is(err, ErrCloseTimeout) {
				t.Errorf("Close: %v, want ErrCloseTimeout", err)
			}
			if d := time.Since(start); d > hostileOptions.CloseTimeout+2*time.Second {
				t.Errorf("Close took %v, the close timeout is %v", d, hostileOptions.CloseTimeout)
			}
			if code, _ := p.closeStatus(t); code != websocket.StatusNormalClosure {
				t.Errorf("the Conn's close frame has status %v, want 1000", code)
			}
		})
	}
}

// TestHostileTruncatedFrame sends half of a frame's payload, then ends
// the TCP connection. Read must return only bytes the peer sent (a
// prefix of the payload, unmasked), then an error wrapping
// ErrConnectionLost.
func TestHostileTruncatedFrame(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, hostileOptions)
			payload := make([]byte, 1000)
			fillPattern(payload, 3, 0)
			b := p.frame(true, 0, opBinary, payload)
			p.send(t, b[:len(b)-len(payload)/2])
			p.conn.(*net.TCPConn).CloseWrite()
			got, err := readUntilErr(t, c)
			if !errors.Is(err, ErrConnectionLost) {
				t.Errorf("Read: %v, want ErrConnectionLost", err)
			}
			if !bytes.HasPrefix(payload, got) {
				i := 0
				for got[i] == payload[i] {
					i++
				}
				t.Errorf("Read returned %d bytes that differ from the payload sent from byte %d on (%x, want %x)",
					len(got), i, got[i:min(i+8, len(got))], payload[i:i+8])
			}
		})
	}
}

// TestHostileMaskedFrameFromServer documents a deviation of
// coder/websocket from RFC 6455 section 5.1, which says a client MUST
// close the connection when it receives a masked frame: a Conn made by
// Dial accepts a masked data frame from the server and does not unmask
// it. The test asserts that the stream stays in step (the frame's length
// is honoured) and records what is read; if coder/websocket starts
// rejecting such frames, it fails and docs/reliability.md must change.
func TestHostileMaskedFrameFromServer(t *testing.T) {
	p, c := newRawPeer(t, "Dialer", hostileOptions)
	b := appendFrame(nil, true, 0, opBinary, &hostileMaskKey, []byte("abcd"))
	b = appendFrame(b, true, 0, opBinary, nil, []byte("next"))
	p.send(t, b)
	got := make([]byte, 8)
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("Read: %v", err)
	}
	masked := []byte("abcd")
	maskBytes(masked, &hostileMaskKey, 0)
	if !bytes.Equal(got, append(masked, "next"...)) {
		t.Fatalf("read %q; want the masked bytes as they were on the wire, then %q", got, "next")
	}
}
