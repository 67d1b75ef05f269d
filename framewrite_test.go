//go:build !js

package wsstream

import (
	"bufio"
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestWrittenFramesBetweenPongs has a raw peer ping a Conn over and over
// while the Conn writes messages of every header size: the Conn frames its
// messages itself and coder/websocket writes the pongs, and the peer must
// read whole, well-formed frames only (binary, final, masked by a client
// and not by a server), the data in order and every pong with its ping's
// payload.
func TestWrittenFramesBetweenPongs(t *testing.T) {
	// One size for each header form (7-bit, 16-bit and 64-bit lengths).
	sizes := []int{1, 125, 126, 1000, 65535, 70000}
	const rounds, pings = 10, 200
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, Options{MaxMessageSize: 1 << 17})
			var want []byte
			for range rounds {
				for i, n := range sizes {
					want = append(want, bytes.Repeat([]byte{byte('a' + i)}, n)...)
				}
			}
			pingErr, writeErr := make(chan error, 1), make(chan error, 1)
			go func() {
				for i := range pings {
					if _, err := p.conn.Write(p.frame(true, 0, opPing, fmt.Appendf(nil, "ping %d", i))); err != nil {
						pingErr <- err
						return
					}
				}
				pingErr <- nil
			}()
			go func() {
				for range rounds {
					for i, n := range sizes {
						if _, err := c.Write(bytes.Repeat([]byte{byte('a' + i)}, n)); err != nil {
							writeErr <- err
							return
						}
					}
				}
				writeErr <- nil
			}()
			p.conn.SetReadDeadline(time.Now().Add(testTimeout))
			var got []byte
			pongs := 0
			for pongs < pings || len(got) < len(want) {
				f, err := readWireFrame(p.br)
				if err != nil {
					t.Fatalf("raw peer: after %d pongs and %d bytes: %v", pongs, len(got), err)
				}
				if f.masked == p.client || !f.fin || f.rsv != 0 {
					t.Fatalf("raw peer: frame masked %v, fin %v, rsv %#x", f.masked, f.fin, f.rsv)
				}
				switch f.op {
				case opBinary:
					got = append(got, f.payload...)
				case opPong:
					if w := fmt.Sprintf("ping %d", pongs); string(f.payload) != w {
						t.Fatalf("raw peer: pong %q, want %q", f.payload, w)
					}
					pongs++
				default:
					t.Fatalf("raw peer: frame with opcode %d", f.op)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("raw peer: the data differs (%d bytes)", len(got))
			}
			if err := recv(t, pingErr); err != nil {
				t.Fatalf("raw peer: ping: %v", err)
			}
			if err := recv(t, writeErr); err != nil {
				t.Fatalf("Write: %v", err)
			}
		})
	}
}

// TestSendFrameWaitsForCodersFrame writes half a frame the way
// coder/websocket may (in pieces), then has the Conn send a message: it
// must not go in the middle of coder's frame, nor after coder's close
// frame, and must go once coder's frame is whole.
func TestSendFrameWaitsForCodersFrame(t *testing.T) {
	nc, peer := tcpPair(t)
	var o output
	o.init(nc)
	o.startFrames(false)

	pong := appendFrame(nil, true, 0, opPong, nil, bytes.Repeat([]byte{'p'}, 300))
	for _, cut := range []int{1, 2, 3, 4, len(pong) - 1} {
		if _, err := o.write(pong[:cut]); err != nil {
			t.Fatal(err)
		}
		if sent, _ := o.sendFrame([]byte("data"), false); sent {
			t.Fatalf("a frame was sent %d bytes into coder's frame", cut)
		}
		if _, err := o.write(pong[cut:]); err != nil {
			t.Fatal(err)
		}
		if sent, err := o.sendFrame([]byte("data"), false); !sent || err != nil {
			t.Fatalf("after coder's frame: sendFrame = %v, %v; want sent", sent, err)
		}
	}
	closeFrame := appendFrame(nil, true, 0, opClose, nil, closePayload(1000, ""))
	if _, err := o.write(closeFrame); err != nil {
		t.Fatal(err)
	}
	if sent, _ := o.sendFrame([]byte("late"), false); sent {
		t.Fatal("a frame was sent after coder's close frame")
	}

	peer.SetReadDeadline(time.Now().Add(testTimeout))
	br := bufio.NewReader(peer)
	for i := range 5 {
		for _, want := range []byte{opPong, opBinary} {
			f, err := readWireFrame(br)
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			if f.op != want || (want == opPong && len(f.payload) != 300) || (want == opBinary && string(f.payload) != "data") {
				t.Fatalf("round %d: frame with opcode %d and %d bytes; want opcode %d", i, f.op, len(f.payload), want)
			}
		}
	}
	if f, err := readWireFrame(br); err != nil || f.op != opClose {
		t.Fatalf("last frame: opcode %d, %v; want the close frame", f.op, err)
	}
}
