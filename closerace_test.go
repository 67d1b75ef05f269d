//go:build !js

package wsstream

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestPeerCloseWhileWriting has a raw peer send data and then close while
// the Conn writes as fast as it can, and reads (or, in the Unread
// variant, does not): the peer reads whole frames up to the Conn's close
// frame, and nothing after it (RFC 6455 section 5.5.1), and a reading Conn
// reads every byte, then io.EOF. (A Close that came while a Write held the
// output's lock once gave up on what was gathered: about one Accept-side
// Close in a thousand ended in the middle of a frame, short of the close
// frame.)
func TestPeerCloseWhileWriting(t *testing.T) {
	for _, side := range hostileSides {
		for _, reading := range []bool{false, true} {
			name := side + "/Unread"
			if reading {
				name = side + "/Reading"
			}
			t.Run(name, func(t *testing.T) {
				for round := range 100 {
					peerClosesWhileConnWrites(t, side, reading, round)
				}
			})
		}
	}
}

func peerClosesWhileConnWrites(t *testing.T, side string, reading bool, round int) {
	p, c := newRawPeer(t, side, Options{})
	defer p.conn.Close()
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		b := bytes.Repeat([]byte{'w'}, 300)
		for {
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}()
	readDone := make(chan []byte, 1)
	var want []byte
	if reading {
		go func() {
			got, _ := io.ReadAll(c)
			readDone <- got
		}()
		for i := range 50 {
			d := bytes.Repeat([]byte{byte('a' + i%26)}, 100+i)
			want = append(want, d...)
			p.send(t, p.frame(true, 0, opBinary, d))
		}
	}
	p.send(t, p.frame(true, 0, opClose, closePayload(1000, "")))
	p.conn.SetReadDeadline(time.Now().Add(testTimeout))
	for closed := false; ; {
		f, err := readWireFrame(p.br)
		if err != nil {
			if !closed {
				t.Fatalf("round %d: raw peer: %v before the close frame", round, err)
			}
			break // the Conn closed the connection after its close frame
		}
		if closed {
			t.Fatalf("round %d: raw peer: frame with opcode %d after the close frame", round, f.op)
		}
		if f.masked == p.client || !f.fin || f.rsv != 0 {
			t.Fatalf("round %d: raw peer: frame masked %v, fin %v, rsv %#x", round, f.masked, f.fin, f.rsv)
		}
		if f.op == opClose {
			// As a server would (and a client may), end the TCP
			// connection; read on until the Conn closes its side.
			closed = true
			p.conn.(*net.TCPConn).CloseWrite()
		}
	}
	if reading {
		if got := recv(t, readDone); !bytes.Equal(got, want) {
			t.Fatalf("round %d: Conn read %d bytes, want %d", round, len(got), len(want))
		}
	}
	recv(t, writeDone)
}

// TestCloseWhileWriting closes a Conn while another goroutine writes to
// it as fast as it can: every byte of the Writes that returned before
// Close was called reaches the peer, then io.EOF.
func TestCloseWhileWriting(t *testing.T) {
	for _, dir := range []string{"DialerWrites", "AcceptorWrites"} {
		t.Run(dir, func(t *testing.T) {
			for round := range 60 {
				client, server := newPair(t, pairOptions{})
				requireWrittenBeforeCloseArrives(t, round, dir, client, server)
			}
		})
	}
}

// TestCloseWhileWritingOverTLS is TestCloseWhileWriting over wss://,
// where a client's transport is below TLS and a server's above it.
func TestCloseWhileWritingOverTLS(t *testing.T) {
	l, _, clientTLS := serveTLS(t)
	dopts := &DialOptions{}
	dopts.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}}
	for _, dir := range []string{"DialerWrites", "AcceptorWrites"} {
		t.Run(dir, func(t *testing.T) {
			for round := range 40 {
				client, server := dialListener(t, l, "wss", dopts)
				requireWrittenBeforeCloseArrives(t, round, dir, client, server)
			}
		})
	}
}

// requireWrittenBeforeCloseArrives writes from one end of a pair (the
// client for DialerWrites) until round × 3000 bytes are written, closes
// it while the writing goes on, and checks that the other end read at
// least what was written before Close and no more than was written.
func requireWrittenBeforeCloseArrives(t *testing.T, round int, dir string, client, server *Conn) {
	t.Helper()
	w, r := client, server
	if dir == "AcceptorWrites" {
		w, r = server, client
	}
	defer r.Close()
	var written atomic.Int64
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		b := bytes.Repeat([]byte{'w'}, 1000)
		for {
			n, err := w.Write(b)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	readDone := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, r)
		readDone <- n
	}()
	for written.Load() < int64(round)*3000 && !isClosed(writeDone) {
		runtime.Gosched() // let the writer write (a Write that fails ends the wait)
	}
	before := written.Load()
	if err := w.Close(); err != nil {
		t.Fatalf("round %d: Close: %v", round, err)
	}
	got := recv(t, readDone)
	recv(t, writeDone)
	if got < before || got > written.Load() {
		t.Fatalf("round %d: the peer read %d bytes; %d were written before Close, %d in all", round, got, before, written.Load())
	}
}
