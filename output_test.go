//go:build !js

package wsstream

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = recv(t, accepted)
	if b == nil {
		t.Fatal("Accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// newTestOutput returns an output writing to a, whose peer b does not
// read until the test says so.
func newTestOutput(t *testing.T) (*output, net.Conn) {
	a, b := tcpPair(t)
	o := new(output)
	o.init(a)
	if o.raw == nil {
		t.Skip("no raw socket writes on this system")
	}
	t.Cleanup(func() { a.Close(); o.waitIdle(time.After(testTimeout)) })
	return o, b
}

// TestOutputNeverBlocksAndKeepsOrder: against a peer that does not read,
// writes return at once until the queue is full (then the flusher has a
// backlog), and every byte arrives in order once the peer reads.
func TestOutputNeverBlocksAndKeepsOrder(t *testing.T) {
	o, peer := newTestOutput(t)
	var want bytes.Buffer
	chunk := make([]byte, 1000)
	for i := 0; !o.busy() || i < 100; i++ {
		fillPattern(chunk, 7, int64(want.Len()))
		done := make(chan error, 1)
		go func() { _, err := o.write(chunk); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		case <-time.After(testTimeout):
			t.Fatalf("write %d blocked with %d bytes written", i, want.Len())
		}
		want.Write(chunk)
		if want.Len() > 64<<20 {
			t.Fatal("64 MiB written without the output ever queueing")
		}
	}
	if !o.backlogged() {
		t.Error("a queue waiting for the flusher does not count as backlogged")
	}
	got := make([]byte, want.Len())
	peer.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatalf("peer read: %v", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the peer read the bytes out of order")
	}
	if !o.waitIdle(time.After(testTimeout)) {
		t.Fatal("the flusher did not exit once its queue was written")
	}
}

// TestOutputPairKeepsOrder: a header and payload written with one writev
// each (handOnPairLocked), to a peer that does not read until the socket
// refuses some, arrive whole and in order; and whatever part of a pair
// the socket took (none, part of the header, the header and part of the
// payload), the flusher writes exactly the rest.
func TestOutputPairKeepsOrder(t *testing.T) {
	if !rawWritevSupported {
		t.Skip("no writev here: sendNow copies the payload behind its header")
	}
	o, peer := newTestOutput(t)
	var want bytes.Buffer
	p := make([]byte, 5000)
	for i := 0; !o.busy(); i++ {
		h := []byte{0x82, 126, byte(i >> 8), byte(i)}
		fillPattern(p, 3, int64(want.Len()))
		o.mu.Lock()
		err := o.handOnPairLocked(h, p)
		o.mu.Unlock()
		if err != nil {
			t.Fatalf("pair %d: %v", i, err)
		}
		want.Write(h)
		want.Write(p)
		if want.Len() > 64<<20 {
			t.Fatal("64 MiB written without the socket ever refusing")
		}
	}
	got := make([]byte, want.Len())
	peer.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatalf("peer read: %v", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the peer read the pairs out of order")
	}

	h, whole := []byte{1, 2, 3, 4}, make([]byte, 4+3000)
	fillPattern(whole, 5, 0)
	copy(whole, h)
	for _, took := range []int{0, 2, len(h), len(h) + 1, len(whole) - 1} {
		o, peer := newTestOutput(t)
		o.mu.Lock()
		err := o.handedLocked(h, whole[len(h):], took, nil)
		o.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(whole)-took)
		peer.SetReadDeadline(time.Now().Add(testTimeout))
		if _, err := io.ReadFull(peer, got); err != nil || !bytes.Equal(got, whole[took:]) {
			t.Fatalf("the socket took %d of %d bytes: the flusher wrote % x..., want % x... (%v)",
				took, len(whole), got[:min(8, len(got))], whole[took:took+min(8, len(got))], err)
		}
		if !o.waitIdle(time.After(testTimeout)) {
			t.Fatal("the flusher did not exit once its queue was written")
		}
	}
}

// TestOutputCorkGathers: corked writes reach the socket only at uncork,
// in order, after what was written before.
func TestOutputCorkGathers(t *testing.T) {
	o, peer := newTestOutput(t)
	o.write([]byte("a"))
	o.cork()
	o.write([]byte("b"))
	o.write([]byte("c"))
	peer.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 8)
	n, _ := peer.Read(buf)
	if string(buf[:n]) != "a" {
		t.Fatalf("before uncork the peer read %q, want only %q", buf[:n], "a")
	}
	if err := o.uncork(); err != nil {
		t.Fatal(err)
	}
	peer.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(peer, buf[:2]); err != nil || string(buf[:2]) != "bc" {
		t.Fatalf("after uncork the peer read %q, %v; want %q", buf[:2], err, "bc")
	}
}

// TestOutputDrainIsBounded: drain writes out what it can within its
// timeout and returns even when the peer never reads.
func TestOutputDrainIsBounded(t *testing.T) {
	o, _ := newTestOutput(t)
	chunk := make([]byte, 64<<10)
	for !o.busy() {
		o.write(chunk)
	}
	start := time.Now()
	o.drain(100 * time.Millisecond)
	if took := time.Since(start); took > testTimeout/2 {
		t.Fatalf("drain took %v with a 100ms timeout", took)
	}
	if o.busy() {
		t.Error("the flusher still runs after drain")
	}
}

// TestOutputDrainWaitsForAWriteInProgress: bytes gathered before Close
// are written out even when another write holds the output's lock at the
// moment the transport closes. drain gave up then, and a server that
// closed while it wrote cut its stream short of its close frame (one
// Close in about a thousand in TestPeerCloseWhileWriting).
func TestOutputDrainWaitsForAWriteInProgress(t *testing.T) {
	o, peer := newTestOutput(t)
	want := []byte("gathered before the close")
	o.cork()
	if _, err := o.write(want); err != nil {
		t.Fatal(err)
	}
	o.mu.Lock()                                      // a write in progress...
	time.AfterFunc(10*time.Millisecond, o.mu.Unlock) // ...for a moment
	o.drain(testTimeout)
	peer.SetReadDeadline(time.Now().Add(testTimeout))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(peer, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("peer read %q, %v; want %q", got, err, want)
	}
}

// TestOutputWaitIdleWakesEveryWaiter: Close's flush and the transport's
// drain can wait for the flusher at the same time; its exit wakes both.
// (A one-token notification woke one, and the other waited forever: a
// Close that hung in nettest under load.)
func TestOutputWaitIdleWakesEveryWaiter(t *testing.T) {
	o, peer := newTestOutput(t)
	chunk := make([]byte, 64<<10)
	var want int
	for !o.busy() {
		o.write(chunk)
		want += len(chunk)
	}
	const waiters = 4
	idle := make(chan bool, waiters)
	for range waiters {
		go func() { idle <- o.waitIdle(nil) }()
	}
	peer.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(peer, make([]byte, want)); err != nil {
		t.Fatalf("peer read: %v", err)
	}
	for i := range waiters {
		if !recv(t, idle) {
			t.Fatalf("waiter %d: waitIdle(nil) reported a flusher still running", i)
		}
	}
}
