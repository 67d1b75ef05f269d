//go:build !js

package wsstream

// Fuzz targets. Run each for a bounded time with, for example:
//
//	go test -run '^$' -fuzz '^FuzzIncomingBytes$' -fuzztime 30s .
//	go test -run '^$' -fuzz '^FuzzStreamIntegrity$' -fuzztime 30s .
//
// Without -fuzz, `go test` runs the seed corpus (the f.Add calls and
// testdata/fuzz/<FuzzName>/) as ordinary tests.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

// fuzzOptions keep every wait of a fuzzed Conn short. Keepalive is off:
// its timers would only slow each execution down.
var fuzzOptions = Options{CloseTimeout: 100 * time.Millisecond, KeepaliveInterval: -1}

// fuzzEndBound is how long a Conn may take to report an error once the
// fuzzed bytes have been sent and the peer's side of TCP is closed: far
// more than it needs, little enough to call a hang a hang.
const fuzzEndBound = 5 * time.Second

// Flags in the first argument of FuzzIncomingBytes.
const (
	fuzzDialer     = 1 << 0 // the bytes go to a Conn made by Dial (from a raw server)
	fuzzAcceptText = 1 << 1 // Options.AcceptText
)

// FuzzIncomingBytes sends arbitrary bytes, after a real handshake, to a
// Conn made by Accept (from a raw client) or by Dial (from a raw server),
// then closes the sending side of TCP. The Conn must not panic, must end
// within fuzzEndBound with an error the package documents, and must hand
// Read only bytes that the peer sent as payload of binary messages
// (unmasked), as computed by fuzzExpected; where that model is certain
// the bytes are complete (a valid close frame or a refused text message
// was reached), exactly those bytes.
func FuzzIncomingBytes(f *testing.F) {
	f.Add(byte(0), appendFrame(nil, true, 0, opBinary, &hostileMaskKey, []byte("hello")))
	f.Add(byte(fuzzDialer), appendFrame(nil, true, 0, opBinary, nil, []byte("hello")))
	f.Add(byte(0), appendFrame(appendFrame(nil, true, 0, opBinary, &hostileMaskKey, []byte("bye")), true, 0, opClose, &hostileMaskKey, closePayload(1000, "")))
	f.Add(byte(fuzzDialer|fuzzAcceptText), appendFrame(nil, true, 0, opText, nil, []byte("text")))

	a := newFuzzAcceptor(f)
	f.Fuzz(func(t *testing.T, flags byte, in []byte) {
		var p *rawPeer
		var c *Conn
		if flags&fuzzDialer != 0 {
			opts := &DialOptions{Options: fuzzOptions}
			opts.AcceptText = flags&fuzzAcceptText != 0
			p, c = newRawServer(t, opts)
		} else {
			p, c = a.connect(t, flags&fuzzAcceptText != 0)
		}
		server := flags&fuzzDialer == 0
		want, complete, endErr := fuzzExpected(in, server, flags&fuzzAcceptText != 0)

		// The raw peer reads and drops what the Conn sends (pongs, its
		// close frame), so that the Conn never waits for it.
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			io.Copy(io.Discard, p.conn)
		}()
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			p.conn.SetWriteDeadline(time.Now().Add(fuzzEndBound))
			p.conn.Write(in) // fails when the Conn drops the connection first
			p.conn.(*net.TCPConn).CloseWrite()
		}()

		start := time.Now()
		var got []byte
		var err error
		buf := make([]byte, 4096)
		c.SetReadDeadline(start.Add(fuzzEndBound))
		for err == nil {
			var n int
			n, err = c.Read(buf)
			got = append(got, buf[:n]...)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read returned no error %v after the bytes were sent (%d bytes read)", fuzzEndBound, len(got))
		}
		if err != io.EOF && !errors.Is(err, ErrConnectionLost) && !errors.Is(err, ErrPeerClosed) && !errors.Is(err, ErrTextMessage) {
			t.Fatalf("Read: %v: not an error the package documents", err)
		}
		if len(got) > len(want) || string(want[:len(got)]) != string(got) {
			t.Fatalf("Read returned %d bytes (%q...) that are not a prefix of the %d payload bytes sent (%q...)",
				len(got), got[:min(len(got), 16)], len(want), want[:min(len(want), 16)])
		}
		if complete {
			if len(got) != len(want) {
				t.Fatalf("Read returned %d bytes, the peer sent %d", len(got), len(want))
			}
			if endErr == io.EOF && err != io.EOF || endErr != io.EOF && !errors.Is(err, endErr) {
				t.Fatalf("Read: %v, want %v", err, endErr)
			}
		}

		cerr := c.Close()
		if cerr != nil && !errors.Is(cerr, ErrCloseTimeout) && !errors.Is(cerr, ErrConnectionLost) && !errors.Is(cerr, ErrTextMessage) {
			t.Fatalf("Close: %v: not an error the package documents", cerr)
		}
		if d := time.Since(start); d > 2*fuzzEndBound {
			t.Fatalf("Read and Close took %v", d)
		}
		// A reset leaves no socket in TIME_WAIT on either side: a fuzzing
		// run makes tens of thousands of connections and would otherwise
		// run out of ports.
		p.conn.(*net.TCPConn).SetLinger(0)
		p.conn.Close()
		recv(t, sent)
		recv(t, drained)
	})
}

// fuzzAcceptor is an Accept server kept for a whole fuzzing run, so that
// an execution costs one TCP connection and one handshake.
type fuzzAcceptor struct {
	addr string
	mu   sync.Mutex // guards text
	text bool       // AcceptText of the next Accept
	// accepted hands each Conn to the execution that connected.
	accepted chan *Conn
}

func newFuzzAcceptor(f *testing.F) *fuzzAcceptor {
	a := &fuzzAcceptor{accepted: make(chan *Conn, 1)}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opts := &AcceptOptions{Options: fuzzOptions}
		a.mu.Lock()
		opts.AcceptText = a.text
		a.mu.Unlock()
		c, err := Accept(w, r, opts)
		if err != nil {
			a.accepted <- nil
			return
		}
		a.accepted <- c
	}))
	f.Cleanup(s.Close)
	a.addr = s.Listener.Addr().String()
	return a
}

// fuzzRequest is the upgrade request of every raw client.
var fuzzRequest = []byte("GET / HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: " + rawKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n")

// connect does the upgrade by hand and returns the raw client and the
// Conn Accept made. Executions run one at a time in a fuzzing process.
func (a *fuzzAcceptor) connect(t *testing.T, text bool) (*rawPeer, *Conn) {
	a.mu.Lock()
	a.text = text
	a.mu.Unlock()
	nc, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{conn: nc, br: bufio.NewReader(nc), client: true}
	nc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := nc.Write(fuzzRequest); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v, %v", resp, err)
	}
	nc.SetDeadline(time.Time{})
	t.Cleanup(func() { nc.Close() })
	c := recv(t, a.accepted)
	if c == nil {
		t.Fatal("Accept failed")
	}
	t.Cleanup(func() { c.Close() })
	// Read what the handshake left in the bufio.Reader from the socket
	// from now on: nothing, as the Conn has sent nothing yet.
	if p.br.Buffered() != 0 {
		t.Fatalf("%d unexpected bytes after the handshake", p.br.Buffered())
	}
	return p, c
}

// fuzzExpected models what a Conn does with the bytes in: it returns the
// payload bytes of the binary messages in it (and of text messages with
// acceptText), unmasked as the Conn does, up to the first frame that ends
// reading. Read may return only a prefix of them: the model is lenient
// where coder/websocket is strict in ways that do not change the bytes
// before. complete reports that reading certainly ends at that point with
// all of them delivered, with an error matching endErr: a valid close
// frame (io.EOF or ErrPeerClosed) or a refused text message.
//
// As coder/websocket does, a client (server == false) does not unmask
// data frames that the server masked; see TestHostileMaskedFrameFromServer.
func fuzzExpected(in []byte, server, acceptText bool) (want []byte, complete bool, endErr error) {
	inMessage := false // a fragmented message is open
	for {
		if len(in) < 2 {
			return want, false, nil
		}
		fin, rsv, op := in[0]&0x80 != 0, in[0]&0x70, in[0]&0x0f
		masked := in[1]&0x80 != 0
		length := uint64(in[1] & 0x7f)
		in = in[2:]
		switch length {
		case 126:
			if len(in) < 2 {
				return want, false, nil
			}
			length, in = uint64(binary.BigEndian.Uint16(in)), in[2:]
		case 127:
			if len(in) < 8 {
				return want, false, nil
			}
			length, in = binary.BigEndian.Uint64(in), in[8:]
		}
		var key [4]byte
		if masked {
			if len(in) < 4 {
				return want, false, nil
			}
			copy(key[:], in)
			in = in[4:]
		}
		if rsv != 0 || server && !masked || length>>63 != 0 {
			return want, false, nil
		}
		payload := in[:min(uint64(len(in)), length)]
		in = in[len(payload):]
		whole := uint64(len(payload)) == length

		switch op {
		case opClose, opPing, opPong:
			if length > 125 || !fin || !whole {
				return want, false, nil
			}
			if op != opClose {
				continue
			}
			p := append([]byte(nil), payload...)
			if masked {
				maskBytes(p, &key, 0)
			}
			if len(p) == 0 {
				return want, true, ErrPeerClosed // status 1005
			}
			if len(p) < 2 || !validCloseCode(binary.BigEndian.Uint16(p)) {
				return want, false, nil
			}
			if code := binary.BigEndian.Uint16(p); code == 1000 || code == 1001 {
				return want, true, io.EOF
			}
			return want, true, ErrPeerClosed
		case opCont, opText, opBinary:
			if op == opCont != inMessage {
				return want, false, nil
			}
			if op == opText && !acceptText {
				return want, true, ErrTextMessage
			}
			inMessage = !fin
			p := append([]byte(nil), payload...)
			if masked && server {
				maskBytes(p, &key, 0)
			}
			want = append(want, p...)
			if !whole {
				return want, false, nil
			}
		default:
			return want, false, nil
		}
	}
}

// validCloseCode reports whether code may be sent in a close frame (RFC
// 6455 section 7.4).
func validCloseCode(code uint16) bool {
	switch {
	case code == 1004 || code == 1005 || code == 1006 || code == 1015:
		return false
	case code >= 1000 && code <= 1014, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// Operations of FuzzStreamIntegrity, one byte each followed by an argument
// byte. Their target end is op&1: 0 for the Conn made by Dial, 1 for the
// one made by Accept.
const (
	fuzzOpWrite         = iota // write 1+arg*arg bytes
	fuzzOpRead                 // read up to 1+arg*arg bytes
	fuzzOpReadDeadline         // set the read deadline: see fuzzDeadline
	fuzzOpWriteDeadline        // set the write deadline
	fuzzOpCount
)

// fuzzDeadline turns an argument byte into a deadline: none, one in the
// past, or up to about 5ms from now.
func fuzzDeadline(arg byte) time.Time {
	switch arg {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(1, 0)
	}
	return time.Now().Add(time.Duration(arg-1) * 20 * time.Microsecond)
}

// fuzzEnd is one Conn of FuzzStreamIntegrity's pair, with its streams'
// positions, kept across executions.
type fuzzEnd struct {
	c              *Conn
	wseed, rseed   uint32
	written, readN int64
}

// FuzzStreamIntegrity runs, on both Conns of one pair at once, sequences
// of writes and reads of arbitrary sizes and changes of their deadlines,
// all derived from the input. Writes, reads and deadline changes of each
// Conn run in three goroutines, so deadlines move under blocked calls.
// Then everything reported written is read back: the bytes that arrive
// must be exactly the bytes that Write reported as written, in order, in
// both directions. The pair lives for the whole fuzzing run, so the
// streams carry on from one execution to the next.
func FuzzStreamIntegrity(f *testing.F) {
	f.Add([]byte{0, 200, 3, 200, 1, 2, 2, 10, 6, 1, 4, 255, 5, 100, 7, 30})
	f.Add([]byte{4, 1, 0, 255, 0, 255, 3, 1, 5, 50, 2, 0, 4, 0})
	f.Add([]byte{1, 255, 1, 255, 1, 255, 0, 255, 0, 255, 3, 255, 2, 255})

	opts := Options{ReadBufferSize: 4 << 10, WriteBufferSize: 8 << 10, MaxMessageSize: 3000}
	client, server := newPair(f, pairOptions{
		dial:   &DialOptions{Options: opts},
		accept: &AcceptOptions{Options: opts},
	})
	ends := [2]*fuzzEnd{
		{c: client, wseed: 21, rseed: 22},
		{c: server, wseed: 22, rseed: 21},
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 256 {
			in = in[:256]
		}
		// ops[end][kind] are the arguments of that end's operations of
		// that kind, in order: writes and reads in one list (their
		// goroutines pick their own kind), deadlines in another.
		var rw, dl [2][][2]byte
		for i := 0; i+1 < len(in); i += 2 {
			op, arg := in[i]%(2*fuzzOpCount), in[i+1]
			end, kind := op&1, op>>1
			if kind == fuzzOpWrite || kind == fuzzOpRead {
				rw[end] = append(rw[end], [2]byte{byte(kind), arg})
			} else {
				dl[end] = append(dl[end], [2]byte{byte(kind), arg})
			}
		}

		var wg sync.WaitGroup
		var mu sync.Mutex // serialises t's error reports with reading state
		for i, e := range ends {
			e.c.SetDeadline(time.Time{})
			wg.Add(3)
			go func() { // writes
				defer wg.Done()
				for _, op := range rw[i] {
					if op[0] != fuzzOpWrite {
						continue
					}
					b := make([]byte, 1+int(op[1])*int(op[1]))
					fillPattern(b, e.wseed, e.written)
					n, err := e.c.Write(b)
					e.written += int64(n)
					if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Errorf("end %d: Write: %v", i, err)
						return
					}
					if err == nil && n != len(b) {
						t.Errorf("end %d: Write returned %d, nil for %d bytes", i, n, len(b))
					}
				}
			}()
			go func() { // reads
				defer wg.Done()
				for _, op := range rw[i] {
					if op[0] != fuzzOpRead {
						continue
					}
					b := make([]byte, 1+int(op[1])*int(op[1]))
					n, err := e.c.Read(b)
					if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Errorf("end %d: Read: %v", i, err)
						return
					}
					if n == 0 && err == nil {
						t.Errorf("end %d: Read returned 0, nil", i)
					}
					mu.Lock()
					fuzzCheck(t, e, b[:n])
					mu.Unlock()
				}
			}()
			go func() { // deadlines
				defer wg.Done()
				for _, op := range dl[i] {
					if op[0] == fuzzOpReadDeadline {
						e.c.SetReadDeadline(fuzzDeadline(op[1]))
					} else {
						e.c.SetWriteDeadline(fuzzDeadline(op[1]))
					}
				}
				// A read or write left blocked without a deadline ends
				// soon, and so do the operations still to come.
				e.c.SetDeadline(time.Now().Add(2 * time.Millisecond))
			}()
		}
		waitGroup(t, &wg)
		if t.Failed() {
			return
		}

		// Everything reported written must now arrive, and nothing else.
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		for i, e := range ends {
			wg.Add(1)
			go func() {
				defer wg.Done()
				peer := ends[1-i]
				e.c.SetReadDeadline(time.Now().Add(testTimeout))
				b := make([]byte, 64<<10)
				for e.readN < peer.written && ctx.Err() == nil {
					n, err := e.c.Read(b[:min(int64(len(b)), peer.written-e.readN)])
					mu.Lock()
					fuzzCheck(t, e, b[:n])
					mu.Unlock()
					if err != nil {
						t.Errorf("end %d: draining: Read: %v after %d of %d bytes", i, err, e.readN, peer.written)
						return
					}
				}
			}()
		}
		waitGroup(t, &wg)
	})
}

// fuzzCheck checks that b continues the stream e has read so far.
func fuzzCheck(t *testing.T, e *fuzzEnd, b []byte) {
	for i, x := range b {
		if want := patternByte(e.rseed, e.readN+int64(i)); x != want {
			t.Errorf("byte %d of the stream: %#x, want %#x", e.readN+int64(i), x, want)
			break
		}
	}
	e.readN += int64(len(b))
}
