package wsstream

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// DialOptions configure [Dial]: every option of coder/websocket's Dial,
// plus the options of the stream. A nil *DialOptions is valid.
type DialOptions struct {
	// DialOptions are passed to websocket.Dial. OnPingReceived and
	// OnPongReceived are called as usual, from the read pump: they must
	// not block.
	//
	// When HTTPClient is nil or its Transport is an *http.Transport (or
	// nil), Dial uses a copy of that transport whose DialContext is
	// wrapped, so that the Conn sees the TCP connection: it reports its
	// real addresses, can drop it when a close times out, and waits for
	// the server to close it. With any other RoundTripper the Conn has
	// the caveats of one made by [New].
	//
	// With such a transport, its Proxy func chooses the proxy as in
	// net/http (DefaultTransport's honours HTTP_PROXY, HTTPS_PROXY and
	// NO_PROXY), and Dial always tunnels: CONNECT through an http:// or
	// https:// proxy, for ws:// and wss:// alike, or SOCKS5 through a
	// socks5:// or socks5h:// proxy, with the credentials of the proxy
	// URL's user info. The Conn's addresses are then those of its
	// connection to the proxy. A proxy's refusal fails Dial with an
	// error wrapping [ErrProxyRefused].
	websocket.DialOptions

	// Options configure the stream.
	Options
}

// AcceptOptions configure [Accept]: every option of coder/websocket's
// Accept, plus the options of the stream. A nil *AcceptOptions is valid.
type AcceptOptions struct {
	// AcceptOptions are passed to websocket.Accept. As there, a
	// cross-origin upgrade is refused unless OriginPatterns allows it.
	// OnPingReceived and OnPongReceived are called from the read pump:
	// they must not block.
	websocket.AcceptOptions

	// Options configure the stream.
	Options

	// Backlog is used by [Listener] only: how many upgraded Conns may wait
	// for Listener.Accept; zero or negative means [DefaultBacklog].
	// Upgrades beyond it get HTTP 503.
	Backlog int
}

// Dial opens a WebSocket connection to url (ws://, wss://, http:// or
// https://) and returns it as a Conn. ctx bounds the dial and the
// handshake only. The response is the server's handshake response; as
// with websocket.Dial, its body must not be read.
func Dial(ctx context.Context, url string, opts *DialOptions) (*Conn, *http.Response, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	so := o.Options.withDefaults()

	var dialed atomic.Pointer[tcpConn]
	if hc, ok := hookTransport(o.HTTPClient, so.CloseTimeout, &dialed); ok {
		o.HTTPClient = hc
	}
	h := hooks{ping: o.OnPingReceived, pong: o.OnPongReceived}
	o.OnPingReceived, o.OnPongReceived = h.onPing, h.onPong
	ws, resp, err := websocket.Dial(ctx, url, &o.DialOptions)
	if err != nil {
		return nil, resp, err
	}

	h.c = newConnOver(ws, dialed.Load(), so)
	h.c.start()
	return h.c, resp, nil
}

// Accept upgrades an HTTP request to a WebSocket and returns it as a
// Conn. On failure it has written an HTTP error response. As with
// websocket.Accept, r's context must not be used once Accept returns.
func Accept(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	var o AcceptOptions
	if opts != nil {
		o = *opts
	}
	so := o.Options.withDefaults()

	hw := &hijackWriter{ResponseWriter: w, closeTimeout: so.CloseTimeout}
	h := hooks{ping: o.OnPingReceived, pong: o.OnPongReceived}
	o.OnPingReceived, o.OnPongReceived = h.onPing, h.onPong
	ws, err := websocket.Accept(hw, r, &o.AcceptOptions)
	if err != nil {
		return nil, err
	}
	h.c = newConnOver(ws, hw.tcp, so)
	h.c.start()
	return h.c, nil
}

// hooks are the ping and pong callbacks Dial and Accept give
// coder/websocket: they report events, then call the user's callbacks. coder/websocket calls them from the read pump, which
// starts after c is set.
type hooks struct {
	c    *Conn
	ping func(context.Context, []byte) bool
	pong func(context.Context, []byte)
}

func (h *hooks) onPing(ctx context.Context, p []byte) bool {
	if h.ping != nil && !h.ping(ctx, p) {
		return false
	}
	h.c.publish(PingEvent{Data: p})
	return true
}

func (h *hooks) onPong(ctx context.Context, p []byte) {
	h.c.publish(PongEvent{Data: p})
	if h.pong != nil {
		h.pong(ctx, p)
	}
}

// newConnOver returns a Conn over ws, seeing the TCP connection tcp
// below it, or with the caveats of New when tcp is nil.
func newConnOver(ws *websocket.Conn, tcp *tcpConn, o Options) *Conn {
	if tcp == nil {
		ctx, cancel := context.WithCancel(context.Background())
		return newConn(ws, nil, o, ctx, cancel, unknownAddr{}, unknownAddr{})
	}
	return newConn(ws, tcp, o, context.Background(), nil, tcp.LocalAddr(), tcp.RemoteAddr())
}

// hookTransport returns a copy of hc whose transport records the TCP
// connection it dials in dialed. It reports false when hc's transport is
// not an *http.Transport.
func hookTransport(hc *http.Client, linger time.Duration, dialed *atomic.Pointer[tcpConn]) (*http.Client, bool) {
	if hc == nil {
		hc = http.DefaultClient
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	base, ok := rt.(*http.Transport)
	if !ok {
		return nil, false
	}
	// A transport of its own also guarantees a fresh connection: the
	// handshake never reuses an idle keep-alive connection.
	tr := base.Clone()
	// Through a proxy, always tunnel (proxy.go); tr's dialers then open
	// the tunnel.
	tunnelThroughProxy(tr)
	wrap := func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := newTCPConn(nc, linger, linger)
			dialed.Store(tc)
			return tc, nil
		}
	}
	switch {
	case tr.DialContext != nil:
		tr.DialContext = wrap(tr.DialContext)
	case tr.Dial != nil: // the deprecated hook, if it is the one set
		d := tr.Dial
		tr.DialContext = wrap(func(_ context.Context, network, addr string) (net.Conn, error) { return d(network, addr) })
	default:
		var d net.Dialer
		tr.DialContext = wrap(d.DialContext)
	}
	if tr.DialTLSContext != nil {
		tr.DialTLSContext = wrap(tr.DialTLSContext)
	}
	c := *hc
	c.Transport = tr
	return &c, true
}

// serverBufferSize is the size of the bufio buffers of a Conn made by
// Accept.
const serverBufferSize = 512

// hijackWriter lets Accept see the TCP connection that coder/websocket
// hijacks from the HTTP server.
type hijackWriter struct {
	http.ResponseWriter
	closeTimeout time.Duration
	tcp          *tcpConn
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		nc.Close()
		return nil, nil, err
	}
	w.tcp = newTCPConn(nc, 0, w.closeTimeout)
	// net/http's 4 KiB buffers stay with coder/websocket for the life of
	// the connection. Small ones do: frames are corked below the writer,
	// and payloads are read straight into the Conn's buffer, past the
	// reader, which mostly holds frame headers.
	if brw.Reader.Buffered() == 0 {
		brw.Reader = bufio.NewReaderSize(w.tcp, serverBufferSize)
	}
	brw.Writer = bufio.NewWriterSize(w.tcp, serverBufferSize)
	return w.tcp, brw, nil
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WriteHeaderNow forwards to writers that need it to send the 101
// response before the hijack (gin's); coder/websocket calls it when
// present.
func (w *hijackWriter) WriteHeaderNow() {
	if hw, ok := w.ResponseWriter.(interface{ WriteHeaderNow() }); ok {
		hw.WriteHeaderNow()
	}
}

// tcpConn is the TCP connection below a Conn made by Dial or Accept.
// coder/websocket reads and writes it through its buffers and closes it
// at the end of the close handshake.
//
// While writeLoop sends messages, the tcpConn is corked: what
// coder/websocket flushes is gathered and written with one system call
// per corkSize bytes, instead of one per 4 KiB of coder's buffer (through
// which it masks a client's frames) plus one per frame header. Frames
// that the pump writes meanwhile (pongs, a close frame) queue behind, in
// order.
type tcpConn struct {
	net.Conn
	// linger is how long Close waits for the peer to close first; zero on
	// the server side, which closes at once.
	linger time.Duration
	// closeTimeout bounds writing out corked bytes in Close.
	closeTimeout time.Duration

	wmu     sync.Mutex // guards corked, pending and werr; held while writing to Conn
	corked  bool
	pending *[]byte // bytes gathered while corked; from the pool, nil otherwise
	werr    error   // the first write error; every later write fails with it

	mu sync.Mutex // guards closeCalled and abortedFirst
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
func (t *tcpConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.readAt.Store(time.Now().UnixNano())
	}
	return n, err
}

// corkSize is how many corked bytes are gathered before they are written:
// two messages of DefaultMaxMessageSize with their headers fit.
const corkSize = 2*DefaultMaxMessageSize + 64

func newTCPConn(nc net.Conn, linger, closeTimeout time.Duration) *tcpConn {
	return &tcpConn{Conn: nc, linger: linger, closeTimeout: closeTimeout}
}

// Write writes p, or gathers it while the tcpConn is corked.
func (t *tcpConn) Write(p []byte) (int, error) {
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
func (t *tcpConn) cork() {
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
func (t *tcpConn) uncork() error {
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
func (t *tcpConn) flushLocked() error {
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
func (t *tcpConn) Close() error {
	t.mu.Lock()
	t.closeCalled = true
	t.mu.Unlock()
	if t.wmu.TryLock() {
		if t.pending != nil && len(*t.pending) > 0 {
			t.Conn.SetWriteDeadline(time.Now().Add(t.closeTimeout))
			t.flushLocked()
		}
		t.wmu.Unlock()
	}
	if t.linger > 0 {
		t.Conn.SetReadDeadline(time.Now().Add(t.linger))
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
func (t *tcpConn) abort() {
	t.mu.Lock()
	if !t.closeCalled {
		t.abortedFirst = true
	}
	t.mu.Unlock()
	t.closeNow()
}

// interrupted reports whether abort cut the WebSocket close short.
func (t *tcpConn) interrupted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.abortedFirst
}

func (t *tcpConn) closeNow() {
	t.closeOnce.Do(func() { t.closeErr = t.Conn.Close() })
}
