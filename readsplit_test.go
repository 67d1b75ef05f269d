//go:build !js

package wsstream

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"
)

// TestSplitReadTakesAMessageInOneRead: once a Read has decoded a large
// frame, a Read whose buffer takes the next, alike, gets its whole payload
// at once (one readv, where the system has it: header into the inbox,
// payload straight into the buffer), not the part that came with the
// header and then the rest. Whatever else follows (a ping, longer headers,
// shorter payloads, several frames in one read, an empty frame), the
// bytes arrive whole and in order, and the ping is answered.
func TestSplitReadTakesAMessageInOneRead(t *testing.T) {
	if !rawReadvSupported {
		t.Skip("no readv here: a Read never splits its reads")
	}
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, Options{})
			buf := make([]byte, 96<<10)
			seed := uint32(len(side))
			off := int64(0)
			const size = 20000
			later := 0 // Reads the messages after the first took
			for i := range 5 {
				payload := make([]byte, size)
				fillPattern(payload, seed, off)
				done := make(chan int, 1)
				go func() {
					reads := 0
					for n := 0; n < size; reads++ {
						k, err := c.Read(buf[n:])
						if err != nil {
							t.Errorf("Read: %v", err)
							break
						}
						n += k
					}
					done <- reads
				}()
				waitReadLoop(t, c, false) // the Read waits for the socket
				p.send(t, p.frame(true, 0, opBinary, payload))
				reads := recv(t, done)
				if !bytes.Equal(buf[:size], payload) {
					t.Fatalf("message %d: wrong bytes", i)
				}
				if i > 0 {
					later += reads
				}
				off += size
			}
			if later > 5 { // 8 when every message takes two reads
				t.Errorf("4 messages of %d bytes, each like the one before, took %d Reads into a %d-byte buffer; want one each (one more at most)", size, later, len(buf))
			}

			// Every way the bet can lose. A burst is one write, read
			// whole before the next is sent.
			var burst, want []byte
			add := func(size int) {
				payload := make([]byte, size)
				fillPattern(payload, seed, off)
				off += int64(size)
				burst = append(burst, p.frame(true, 0, opBinary, payload)...)
				want = append(want, payload...)
			}
			flush := func(what string) {
				t.Helper()
				p.send(t, burst)
				got := make([]byte, 0, len(want))
				c.SetReadDeadline(time.Now().Add(testTimeout))
				for len(got) < len(want) {
					n, err := c.Read(buf)
					if err != nil {
						t.Fatalf("%s: Read after %d of %d bytes: %v", what, len(got), len(want), err)
					}
					got = append(got, buf[:n]...)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: wrong bytes", what)
				}
				burst, want = burst[:0], want[:0]
			}
			add(size)
			burst = append(burst, p.frame(true, 0, opPing, []byte("split"))...)
			add(70000) // a longer header
			add(70000)
			add(60000) // a shorter header, the payload longer than what is read
			flush("a ping, a longer header, a shorter one")
			add(size)
			add(6000) // a shorter payload: the read takes the next frame too
			add(7000)
			add(0)
			add(9000)
			add(size)
			flush("shorter payloads, an empty frame")
			p.expectPong(t, "split") // the ping among split reads
		})
	}
}

// TestSplitReadRandomStreams: frames of sizes on both sides of every
// header length and of splitFrom, empty frames and pings, sent in writes
// cut at random places, read with buffers of random sizes, arrive whole
// and in order, whether each split read's bet wins or loses.
func TestSplitReadRandomStreams(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, Options{})
			rng := rand.New(rand.NewPCG(3, uint64(len(side))))
			checkSplitStream(t, p, c, func(n int) int { return rng.IntN(n) }, 300)
		})
	}
}

// FuzzSplitRead is TestSplitReadRandomStreams with the fuzzer's bytes for
// the frames' sizes, the pings, the cuts between writes and the Reads'
// buffer sizes (once they run out, the largest of each), a frame for
// every byte, up to 60.
func FuzzSplitRead(f *testing.F) {
	f.Add(false, []byte{1, 5, 5, 5, 0, 9, 3, 7, 7, 2})
	f.Add(true, []byte{7, 7, 7, 10, 10, 4, 0, 0, 6, 5, 9, 1})
	f.Fuzz(func(t *testing.T, server bool, choices []byte) {
		side := hostileSides[btoi(server)]
		p, c := newRawPeer(t, side, fuzzOptions)
		// The raw peer drops what the Conn sends (pongs, its close
		// frame), so that the Conn never waits for it.
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			io.Copy(io.Discard, p.conn)
		}()
		next := func(n int) int {
			if len(choices) == 0 {
				return n - 1 // the largest frames, writes and buffers: fast
			}
			k := int(choices[0]) % n
			choices = choices[1:]
			return k
		}
		checkSplitStream(t, p, c, next, min(len(choices), 20))
		c.Close()
		p.conn.(*net.TCPConn).SetLinger(0) // no TIME_WAIT: a run makes many connections
		p.conn.Close()
		recv(t, drained)
	})
}

// checkSplitStream sends frames frames from raw peer p to c, each chosen
// with choose(n), which returns a number below n, and checks that c's
// Reads return their payloads whole and in order.
func checkSplitStream(t *testing.T, p *rawPeer, c *Conn, choose func(n int) int, frames int) {
	t.Helper()
	sizes := []int{0, 1, 125, 126, 4095, 4096, 5000, 20000, 65535, 65536, 70000}
	bufs := []int{100, 4096, 20000, 96 << 10}
	var wire, want []byte
	seed := uint32(frames)
	for range frames {
		if choose(10) == 0 {
			wire = append(wire, p.frame(true, 0, opPing, []byte("x"))...)
			continue
		}
		size := sizes[choose(len(sizes))]
		if choose(2) == 0 { // runs of alike frames, where the bet wins
			size = 20000
		}
		payload := make([]byte, size)
		fillPattern(payload, seed, int64(len(want)))
		wire = append(wire, p.frame(true, 0, opBinary, payload)...)
		want = append(want, payload...)
	}
	cuts := make([]int, 0, 16)
	for rest := len(wire); rest > 0; {
		k := min(rest, 1+choose(40000))
		cuts = append(cuts, k)
		rest -= k
	}
	reads := make([]int, 32)
	for i := range reads {
		reads[i] = bufs[choose(len(bufs))]
	}
	sent := make(chan error, 1)
	go func() {
		rest := wire
		for _, k := range cuts {
			p.conn.SetWriteDeadline(time.Now().Add(testTimeout))
			if _, err := p.conn.Write(rest[:k]); err != nil {
				sent <- err
				return
			}
			rest = rest[k:]
		}
		sent <- nil
	}()
	got := make([]byte, 0, len(want))
	buf := make([]byte, 96<<10)
	c.SetReadDeadline(time.Now().Add(testTimeout))
	for i := 0; len(got) < len(want); i++ {
		n, err := c.Read(buf[:reads[i%len(reads)]])
		if err != nil {
			t.Fatalf("Read after %d of %d bytes: %v", len(got), len(want), err)
		}
		got = append(got, buf[:n]...)
	}
	if err := recv(t, sent); err != nil {
		t.Fatalf("raw peer: write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%d bytes: wrong from byte %d on", len(want), firstDiff(got, want))
	}
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestSplitReadWaitEndsLikeAnyRead: a Read that waits for the socket in a
// split read (the frame before was large) ends as any waiting Read does:
// at its deadline with a timeout, leaving the Conn usable; with the data
// when it comes; and at Close, promptly.
func TestSplitReadWaitEndsLikeAnyRead(t *testing.T) {
	for _, side := range hostileSides {
		t.Run(side, func(t *testing.T) {
			p, c := newRawPeer(t, side, Options{})
			buf := make([]byte, 64<<10)
			large := func() []byte {
				payload := make([]byte, 20000)
				fillPattern(payload, 9, 0)
				return payload
			}
			readAll := func(want []byte) {
				t.Helper()
				c.SetReadDeadline(time.Now().Add(testTimeout))
				got := 0
				for got < len(want) {
					n, err := c.Read(buf[got:len(want)])
					if err != nil {
						t.Fatalf("Read after %d of %d bytes: %v", got, len(want), err)
					}
					got += n
				}
				if !bytes.Equal(buf[:got], want) {
					t.Fatal("wrong bytes")
				}
				c.SetReadDeadline(time.Time{})
			}
			p.send(t, p.frame(true, 0, opBinary, large()))
			readAll(large()) // the next Read at a frame's start is a split read

			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			start := time.Now()
			_, err := c.Read(buf)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("split read past its deadline: %v, want a timeout", err)
			}
			if waited := time.Since(start); waited > testTimeout/2 {
				t.Fatalf("split read returned %v after its deadline", waited)
			}
			c.SetReadDeadline(time.Time{})

			type result struct {
				n   int
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := c.Read(buf)
				if err == nil && !bytes.Equal(buf[:n], large()[:n]) {
					err = errors.New("wrong bytes")
				}
				done <- result{n, err}
			}()
			waitReadLoop(t, c, false) // the Read waits for the socket
			p.send(t, p.frame(true, 0, opBinary, large()))
			r := recv(t, done)
			if r.err != nil {
				t.Fatalf("split read after a timed-out one: %v", r.err)
			}
			readAll(large()[r.n:])

			go func() { _, err := c.Read(buf); done <- result{0, err} }()
			waitReadLoop(t, c, false)
			if err := p.closeLocally(t, c); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if r := recv(t, done); !errors.Is(r.err, net.ErrClosed) {
				t.Fatalf("a split read waiting at Close: %v; want net.ErrClosed", r.err)
			}
		})
	}
}
