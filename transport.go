//go:build !js

package wsstream

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// transport is the connection below the WebSocket of a Conn made by Dial
// or Accept: TCP, or TLS over TCP. coder/websocket reads and writes it
// through its buffers and closes it at the end of the close handshake.
// What coder/websocket writes goes through out (output.go).
type transport struct {
	net.Conn
	// closeTimeout bounds writing out pending bytes in Close.
	closeTimeout time.Duration

	// out is the output side: corking, and writes that never block on
	// the socket where the connection allows them.
	out output

	mu sync.Mutex // guards linger, closeCalled and abortedFirst
	// linger is how long Close waits for the peer to close first. It is
	// zero until setLinger is called, once the WebSocket is established on
	// a client: a Close before that (net/http giving up on a handshake)
	// closes at once. It stays zero on the server side, which closes at
	// once.
	linger time.Duration
	// closeCalled is set when coder/websocket calls Close: the WebSocket
	// close handshake is over, one way or another.
	closeCalled bool
	// abortedFirst is set when abort came before Close: the handshake was
	// cut short.
	abortedFirst bool

	closeOnce sync.Once
	closeErr  error

	// in is the input side: see input.
	in input

	// readAt is when bytes last arrived, in Unix nanoseconds.
	readAt atomic.Int64
}

// Read reads from the connection, noting when bytes arrive: any byte
// from the peer is a sign of life for keepalive.
func (t *transport) Read(p []byte) (int, error) {
	if t.in.raw != nil {
		return t.in.read(p)
	}
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.readAt.Store(time.Now().UnixNano())
	}
	return n, err
}

// newTransport returns the transport over nc, for a client or a server.
func newTransport(nc net.Conn, closeTimeout time.Duration, client bool) *transport {
	t := &transport{Conn: nc, closeTimeout: closeTimeout}
	t.out.init(nc)
	t.in.init(nc, &t.readAt, client)
	return t
}

// startFrames says that the handshake is over: what the transport carries
// from now on is frames, which Reads may decode and the Conn may write
// itself, unless TLS runs above it. That is so on a client's transport
// dialed for wss:// (its first bytes were a TLS ClientHello, not the HTTP
// request); a server's transport is always above TLS, as it carries what
// net/http read the request from.
func (t *transport) startFrames() {
	frames := !t.in.client || t.out.sentHTTP()
	t.in.startFrames(frames)
	if frames {
		t.out.startFrames(t.in.client)
	}
}

// socketOf returns the socket of nc, for the transport's own reads and
// writes, when nc is a TCP or Unix connection of package net, and nil
// otherwise. Any other connection (TLS, or a user's wrapper, even one
// that gives its socket through syscall.Conn) is read and written through
// its own methods only: what they do to the bytes is never bypassed.
func socketOf(nc net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil || !rawWriteSupported {
		return nil
	}
	return raw
}

// setLinger makes Close wait up to d for the peer to close first.
func (t *transport) setLinger(d time.Duration) {
	t.mu.Lock()
	t.linger = d
	t.mu.Unlock()
}

// Close closes the connection. It first writes out pending bytes (a close
// frame coder/websocket wrote just before closing, say) within the close
// timeout, which also ends a write in progress on a stuck socket (see
// output.drain). With a linger (a client), it then waits up to linger for
// the server to close its side, as RFC 6455 section 7.1.1 asks,
// discarding whatever arrives. An abort ends that wait at once.
func (t *transport) Close() error {
	t.mu.Lock()
	t.closeCalled = true
	linger := t.linger
	t.mu.Unlock()
	t.in.close()
	t.out.drain(t.closeTimeout)
	if linger > 0 {
		t.Conn.SetReadDeadline(time.Now().Add(linger))
		var buf [256]byte
		for {
			if _, err := t.Conn.Read(buf[:]); err != nil {
				break
			}
		}
	}
	t.closeNow()
	return t.closeErr
}

// abort closes the connection at once, ending a lingering Close.
func (t *transport) abort() {
	t.mu.Lock()
	if !t.closeCalled {
		t.abortedFirst = true
	}
	t.mu.Unlock()
	t.closeNow()
}

// interrupted reports whether abort cut the WebSocket close short.
func (t *transport) interrupted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.abortedFirst
}

func (t *transport) closeNow() {
	t.closeOnce.Do(func() { t.closeErr = t.Conn.Close() })
}

// Write is how coder/websocket writes: see output.write.
func (t *transport) Write(p []byte) (int, error) { return t.out.write(p) }
