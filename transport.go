//go:build !js

package wsstream

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// transport is the connection below the WebSocket of a Conn made by Dial
// or Accept: TCP, or TLS over TCP. coder/websocket reads and writes it
// through its buffers and closes it at the end of the close handshake.
//
// While writeLoop sends messages, the transport is corked: what
// coder/websocket flushes is gathered and written with one system call
// per corkSize bytes, instead of one per 4 KiB of coder's buffer (through
// which it masks a client's frames) plus one per frame header. Frames
// that the pump writes meanwhile (pongs, a close frame) queue behind, in
// order.
type transport struct {
	net.Conn
	// closeTimeout bounds writing out corked bytes in Close.
	closeTimeout time.Duration

	wmu     sync.Mutex // guards corked, pending and werr; held while writing to Conn
	corked  bool
	pending *[]byte // bytes gathered while corked; from the pool, nil otherwise
	werr    error   // the first write error; every later write fails with it

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

	// readAt is when Read last returned bytes, in Unix nanoseconds.
	readAt atomic.Int64
}

// Read reads from the connection, noting when bytes arrive: any byte
// from the peer is a sign of life for keepalive.
func (t *transport) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.readAt.Store(time.Now().UnixNano())
	}
	return n, err
}

// corkSize is how many corked bytes are gathered before they are written:
// two messages of DefaultMaxMessageSize with their headers fit.
const corkSize = 2*DefaultMaxMessageSize + 64

func newTransport(nc net.Conn, closeTimeout time.Duration) *transport {
	return &transport{Conn: nc, closeTimeout: closeTimeout}
}

// setLinger makes Close wait up to d for the peer to close first.
func (t *transport) setLinger(d time.Duration) {
	t.mu.Lock()
	t.linger = d
	t.mu.Unlock()
}

// Write writes p, or gathers it while the transport is corked.
func (t *transport) Write(p []byte) (int, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.werr != nil {
		return 0, t.werr
	}
	if t.corked {
		if len(*t.pending)+len(p) > corkSize {
			if err := t.flushLocked(); err != nil {
				return 0, err
			}
		}
		if len(p) < corkSize {
			*t.pending = append(*t.pending, p...)
			return len(p), nil
		}
	}
	n, err := t.Conn.Write(p)
	t.werr = err
	return n, err
}

// cork starts gathering writes.
func (t *transport) cork() {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.corked = true
	if t.pending == nil {
		t.pending = getBuf(corkSize)
		*t.pending = (*t.pending)[:0]
	}
}

// uncork writes what was gathered and stops gathering. It returns the
// first write error of the connection.
func (t *transport) uncork() error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.flushLocked()
	t.corked = false
	if t.pending != nil {
		putBuf(t.pending)
		t.pending = nil
	}
	return t.werr
}

// flushLocked writes the gathered bytes. t.wmu must be held.
func (t *transport) flushLocked() error {
	if t.pending != nil && len(*t.pending) > 0 && t.werr == nil {
		_, t.werr = t.Conn.Write(*t.pending)
		*t.pending = (*t.pending)[:0]
	}
	return t.werr
}

// Close closes the connection. It first writes out corked bytes (a close
// frame coder/websocket wrote just before closing, say), within the close
// timeout, unless a write is in progress: then the socket is stuck (that
// is why coder/websocket gives up) and Close must not wait for it. With a
// linger (a client), it then waits up to linger for the server to close
// its side, as RFC 6455 section 7.1.1 asks, discarding whatever arrives.
// An abort ends that wait at once.
func (t *transport) Close() error {
	t.mu.Lock()
	t.closeCalled = true
	linger := t.linger
	t.mu.Unlock()
	if t.wmu.TryLock() {
		if t.pending != nil && len(*t.pending) > 0 {
			t.Conn.SetWriteDeadline(time.Now().Add(t.closeTimeout))
			t.flushLocked()
		}
		t.wmu.Unlock()
	}
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
