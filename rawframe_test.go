//go:build !js

package wsstream

// The raw-frame toolkit: frames encoded and decoded by hand, and a raw
// peer that did the HTTP upgrade itself, so tests can send a Conn bytes
// that no WebSocket library would.

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
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

// wsAcceptKey is the Sec-WebSocket-Accept for key.
func wsAcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
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
	res := recv(t, resc)
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
