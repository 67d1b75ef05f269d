//go:build !js

package wsstream

import (
	"bytes"
	"testing"
)

// TestReadTakesPayloadStraightIntoItsBuffer: a Read whose buffer takes a
// frame's payload gets it without the receive buffer (one copy fewer, and
// no ring taken from its pool), masked or not, whether the payload came
// with the header or after it: with a receive buffer of 1 KiB, a 70,000
// byte message takes a few Reads, not one per KiB. A Read with a small
// buffer takes what its buffer holds and leaves the rest, in order, for
// the next.
func TestReadTakesPayloadStraightIntoItsBuffer(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			const ring = 1024
			p, c := newRawPeer(t, side, Options{ReadBufferSize: ring})
			buf := make([]byte, 128<<10)
			seed := uint32(len(side))
			off := int64(0)
			for _, size := range []int{1, 125, 126, 20000, 70000} {
				payload := make([]byte, size)
				fillPattern(payload, seed, off)
				// A Read waits for the socket (the read loop rests) before
				// the message is sent: the message is this Read's to decode.
				type result struct {
					reads int
					err   error
				}
				done := make(chan result, 1)
				go func() {
					reads := 0
					for n := 0; n < size; reads++ {
						k, err := c.Read(buf[n:size])
						if err != nil {
							done <- result{reads, err}
							return
						}
						n += k
					}
					done <- result{reads, nil}
				}()
				waitReadLoop(t, c, false)
				p.send(t, p.frame(true, 0, opBinary, payload))
				r := recv(t, done)
				if r.err != nil {
					t.Fatalf("Read of a %d-byte message: %v", size, r.err)
				}
				reads := r.reads
				if !bytes.Equal(buf[:size], payload) {
					t.Fatalf("a %d-byte message read into a large buffer: wrong bytes", size)
				}
				if most := 2 + size/inboxSize; reads > most {
					t.Fatalf("a %d-byte message took %d Reads into a large buffer; want at most %d (its payload passed through the %d-byte receive buffer)", size, reads, most, ring)
				}
				off += int64(size)
			}

			// A small buffer: the rest of the frame waits, in order.
			payload := make([]byte, 50000)
			fillPattern(payload, seed, off)
			p.send(t, p.frame(true, 0, opBinary, payload))
			got := make([]byte, 0, len(payload))
			small := make([]byte, 100)
			for len(got) < len(payload) {
				n, err := c.Read(small)
				if err != nil {
					t.Fatalf("Read after %d bytes: %v", len(got), err)
				}
				got = append(got, small[:n]...)
			}
			if !bytes.Equal(got, payload) {
				t.Fatal("a 50000-byte message read 100 bytes at a time: wrong bytes")
			}
		})
	}
}
