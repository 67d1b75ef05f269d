//go:build !js

package wsstream

// Hostile peers: after a real HTTP upgrade, written by hand on a plain TCP
// connection, the peer sends raw frames that break RFC 6455 or try to
// exhaust the Conn. Each test asserts what the Conn does: no panic, memory
// bounded by its buffers, the close status RFC 6455 asks for on the wire,
// and the cause in Read's error. docs/reliability.md lists the results.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opCont   byte = 0x0
	opText   byte = 0x1
	opBinary byte = 0x2
	opClose  byte = 0x8
	opPing   byte = 0x9
	opPong   byte = 0xA
)

// RSV bits of the first header byte.
const (
	rsv1 byte = 0x40
	rsv2 byte = 0x20
	rsv3 byte = 0x10
)

// hostileMaskKey is the masking key of every frame a raw client sends.
// It is not zero, so a peer that forgets to unmask reads garbage.
var hostileMaskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// appendFrameHeader appends a frame header announcing length payload
// bytes, whatever follows. mask is nil for an unmasked frame.
func appendFrameHeader(b []byte, fin bool, rsv, op byte, mask *[4]byte, length uint64) []byte {
	b0 := rsv | op&0x0f
	if fin {
		b0 |= 0x80
	}
	var m byte
	if mask != nil {
		m = 0x80
	}
	switch {
	case length < 126:
		b = append(b, b0, m|byte(length))
	case length <= math.MaxUint16:
		b = append(b, b0, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(length))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, length)
	}
	if mask != nil {
		b = append(b, mask[:]...)
	}
	return b
}

// appendFrame appends a whole frame, masking payload with mask unless it
// is nil.
func appendFrame(b []byte, fin bool, rsv, op byte, mask *[4]byte, payload []byte) []byte {
	b = appendFrameHeader(b, fin, rsv, op, mask, uint64(len(payload)))
	start := len(b)
	b = append(b, payload...)
	if mask != nil {
		maskBytes(b[start:], mask, 0)
	}
	return b
}

// maskBytes XORs p with the masking key, p starting at payload offset off.
func maskBytes(p []byte, key *[4]byte, off uint64) {
	for i := range p {
		p[i] ^= key[(off+uint64(i))%4]
	}
}

// closePayload is the payload of a close frame with code and reason.
func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// wireFrame is a frame read from the wire by a raw peer, unmasked.
type wireFrame struct {
	fin     bool
	rsv, op byte
	masked  bool
	payload []byte
}

// readWireFrame reads one frame. It refuses payloads over 1 MiB: the
// Conns under test never send one.
func readWireFrame(br *bufio.Reader) (wireFrame, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return wireFrame{}, err
	}
	f := wireFrame{fin: hdr[0]&0x80 != 0, rsv: hdr[0] & 0x70, op: hdr[0] & 0x0f, masked: hdr[1]&0x80 != 0}
	length := uint64(hdr[1] & 0x7f)
	switch length {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return wireFrame{}, err
		}
		length = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return wireFrame{}, err
		}
		length = binary.BigEndian.Uint64(ext[:])
	}
	if length > 1<<20 {
		return wireFrame{}, fmt.Errorf("frame of %d bytes: larger than a Conn sends", length)
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(br, key[:]); err != nil {
			return wireFrame{}, err
		}
	}
	f.payload = make([]byte, length)
	if _, err := io.ReadFull(br, f.payload); err != nil {
		return wireFrame{}, err
	}
	if f.masked {
		maskBytes(f.payload, &key, 0)
	}
	return f, nil
}

// rawPeer is the far end of a Conn: a TCP connection on which the test
// completed the WebSocket handshake by hand and now writes raw bytes.
type rawPeer struct {
	conn net.Conn
	br   *bufio.Reader
	// client is set when the raw peer is the client: its frames must be
	// masked and the Conn's must not.
	client bool
}

// mask returns the masking key the raw peer must use, nil for a server.
func (p *rawPeer) mask() *[4]byte {
	if p.client {
		return &hostileMaskKey
	}
	return nil
}

// frame encodes a well-formed frame as this peer must send it.
func (p *rawPeer) frame(fin bool, rsv, op byte, payload []byte) []byte {
	return appendFrame(nil, fin, rsv, op, p.mask(), payload)
}

// send writes b, failing the test if it cannot within testTimeout.
func (p *rawPeer) send(t testing.TB, b []byte) {
	t.Helper()
	p.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := p.conn.Write(b); err != nil {
		t.Fatalf("raw peer: write: %v", err)
	}
}

// closeStatus reads what the Conn sends until its close frame and
// returns the close frame's status (1005 if it has none) and reason. It
// returns -1 when the connection ends without a close frame. Data, ping
// and pong frames before the close frame are skipped.
func (p *rawPeer) closeStatus(t testing.TB) (websocket.StatusCode, string) {
	t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(testTimeout))
	for {
		f, err := readWireFrame(p.br)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("raw peer: neither a close frame nor the end of the connection within %v", testTimeout)
			}
			return -1, err.Error()
		}
		if f.masked == p.client {
			t.Errorf("raw peer: frame masked: %v; a Conn that is a client must mask, a server must not", f.masked)
		}
		if f.op != opClose {
			continue
		}
		if len(f.payload) < 2 {
			return websocket.StatusNoStatusRcvd, ""
		}
		return websocket.StatusCode(binary.BigEndian.Uint16(f.payload)), string(f.payload[2:])
	}
}

// hostileSides names the two ends a hostile peer can attack: the Conn
// made by Dial, talking to a raw server, and the Conn made by Accept,
// talking to a raw client.
var hostileSides = []string{"Dialer", "Acceptor"}

// newRawPeer returns a Conn of the given side whose peer is raw.
func newRawPeer(t testing.TB, side string, opts Options) (*rawPeer, *Conn) {
	t.Helper()
	if side == "Dialer" {
		return newRawServer(t, &DialOptions{Options: opts})
	}
	return newRawClient(t, &AcceptOptions{Options: opts})
}

// The handshake of RFC 6455 section 1.3's example.
const (
	rawKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	rawAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// newRawClient returns a Conn made by Accept and a raw client that did
// the HTTP upgrade by hand over net.Dial.
func newRawClient(t testing.TB, opts *AcceptOptions) (*rawPeer, *Conn) {
	t.Helper()
	s, accepted := newAcceptServer(t, opts)
	addr := s.Listener.Addr().String()
	nc, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{conn: nc, br: bufio.NewReader(nc), client: true}
	t.Cleanup(func() { nc.Close() })
	p.send(t, []byte("GET / HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: "+rawKey+"\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	nc.SetReadDeadline(time.Now().Add(testTimeout))
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		t.Fatalf("raw client: reading the handshake response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != rawAccept {
		t.Fatalf("raw client: handshake answered %v with Sec-WebSocket-Accept %q", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	var c *Conn
	select {
	case c = <-accepted:
	case <-time.After(testTimeout):
		t.Fatal("Accept did not return")
	}
	t.Cleanup(func() {
		nc.Close()
		c.Close()
	})
	return p, c
}

// newRawServer returns a Conn made by Dial and a raw server that answered
// its upgrade by hand.
func newRawServer(t testing.TB, opts *DialOptions) (*rawPeer, *Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	type result struct {
		p   *rawPeer
		err error
	}
	resc := make(chan result, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			resc <- result{err: err}
			return
		}
		p := &rawPeer{conn: nc, br: bufio.NewReader(nc)}
		nc.SetDeadline(time.Now().Add(testTimeout))
		req, err := http.ReadRequest(p.br)
		if err != nil {
			nc.Close()
			resc <- result{err: err}
			return
		}
		_, err = io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: "+wsAcceptKey(req.Header.Get("Sec-WebSocket-Key"))+"\r\n\r\n")
		nc.SetDeadline(time.Time{})
		resc <- result{p, err}
	}()
	c, _, err := Dial(testContext(t), "ws://"+ln.Addr().String()+"/", opts)
	res := <-resc
	if res.p != nil {
		t.Cleanup(func() { res.p.conn.Close() })
	}
	if err != nil || res.err != nil {
		t.Fatalf("Dial: %v; raw server: %v", err, res.err)
	}
	t.Cleanup(func() {
		res.p.conn.Close()
		c.Close()
	})
	return res.p, c
}

// readUntilErr reads from c until an error and returns it with the data
// read. It fails the test if that takes longer than testTimeout.
func readUntilErr(t testing.TB, c *Conn) ([]byte, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(testTimeout))
	defer c.SetReadDeadline(time.Time{})
	var got []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read: still no error after %v", testTimeout)
			}
			return got, err
		}
	}
}

// hostileOptions keep the Conn's waits short, so that a test that
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
			if err := <-writeErr; err != nil {
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
			if err := <-writerDone; err != nil {
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

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
