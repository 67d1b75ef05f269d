//go:build !js

package wsstream

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// DefaultBacklog is the number of upgraded Conns a [Listener] holds for
// [Listener.Accept] when ListenerOptions.Backlog is zero.
const DefaultBacklog = 128

// listenReadHeaderTimeout bounds how long the server of [Listen] waits for
// the headers of a request.
const listenReadHeaderTimeout = 10 * time.Second

// ListenerOptions configure a [Listener]. A nil *ListenerOptions is
// valid.
type ListenerOptions struct {
	// AcceptOptions configure each upgrade, as for [Accept].
	AcceptOptions

	// Backlog is how many upgraded Conns may wait for Listener.Accept;
	// zero means [DefaultBacklog]. Upgrades beyond it get HTTP 503.
	Backlog int
}

// Listener is a [net.Listener] whose connections are WebSocket upgrades.
// It is also an [http.Handler]: every request it serves is upgraded with
// [Accept] and the Conn is queued for [Listener.Accept]. Use [NewListener]
// to mount it on a mux or server of your own, or [Listen] to have it run
// its own HTTP server. Its methods are safe for concurrent use.
//
// The queue is bounded by ListenerOptions.Backlog (default
// [DefaultBacklog]). A request takes a slot before it is upgraded and
// gives it back when Accept returns its Conn or the upgrade fails, so
// upgrades in progress count against the backlog too. A request that
// finds no free slot, or arrives after Close, is answered with HTTP 503
// (Service Unavailable) and is not upgraded; this check comes first, so
// while the backlog is full every request gets 503. Otherwise, requests
// that are not WebSocket upgrades get coder/websocket's answer: 426
// (Upgrade Required) for a plain request without the upgrade headers, 405
// for an upgrade that is not a GET, 400 for a malformed handshake, and
// 403 for a cross-origin request that AcceptOptions.OriginPatterns does
// not allow.
//
// A Conn returned by Accept is the caller's: closing the Listener does
// not close it. Conns upgraded but not yet returned by Accept when the
// Listener closes are closed with status 1001 (going away).
type Listener struct {
	// opts is the caller's AcceptOptions, copied; backlog is the Backlog
	// with the default applied.
	opts    AcceptOptions
	backlog int
	// addr is what Addr returns.
	addr net.Addr

	// connCh holds the upgraded Conns waiting for Accept. Its capacity is
	// backlog and a Conn is only sent by a request holding a slot, so a
	// send never blocks.
	connCh chan *Conn
	// closeCh is closed when Close begins.
	closeCh chan struct{}
	// doneCh is closed when Close has finished.
	doneCh chan struct{}

	mu sync.Mutex // guards slots and closed, and orders handlers.Add before Close's Wait
	// slots counts the requests between taking a slot and Accept taking
	// their Conn from connCh (or the upgrade failing): upgrades in
	// progress plus Conns queued. It never exceeds backlog.
	slots int
	// closed is set when Close begins. No request takes a slot after.
	closed bool

	// handlers counts the ServeHTTP calls that hold a slot. Close waits
	// for them: after it, none can queue a Conn.
	handlers sync.WaitGroup

	// srv is the HTTP server of Listen; nil for NewListener.
	srv *http.Server
	// serveDoneCh is closed when srv.Serve has returned.
	serveDoneCh chan struct{}
}

var (
	_ net.Listener = (*Listener)(nil)
	_ http.Handler = (*Listener)(nil)
)

// NewListener returns a Listener to be mounted as an [http.Handler] on a
// mux or server of your own, at whatever path and behind whatever
// middleware you choose. opts may be nil; it is copied, but the slices
// inside it (Subprotocols, OriginPatterns) must not be modified
// afterwards.
//
// Caveats:
//   - Addr returns a placeholder, not a TCP address: its Network is
//     "websocket" and its String "websocket/handler". The Conns' own
//     LocalAddr and RemoteAddr are the real TCP addresses.
//   - The ResponseWriter must support hijacking: HTTP/1.1 only (HTTP/2
//     requests cannot be upgraded), and middleware that wraps it must
//     pass Hijack through (or provide Unwrap, as http.ResponseController
//     expects). http.TimeoutHandler does not.
//   - As with [Accept], the request's context must not be used once the
//     request is upgraded; the Conn does not depend on it. Middleware
//     that cancels the request context does not affect the Conn.
//   - Origin checks are those of AcceptOptions: a cross-origin upgrade is
//     refused with 403 unless OriginPatterns allows it (or
//     InsecureSkipVerify is set).
//   - Close stops upgrades and closes queued Conns, but the server the
//     Listener is mounted on is yours to shut down.
func NewListener(opts *ListenerOptions) *Listener {
	return newListener(opts, handlerAddr{})
}

func newListener(opts *ListenerOptions, addr net.Addr) *Listener {
	var o ListenerOptions
	if opts != nil {
		o = *opts
	}
	backlog := o.Backlog
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	return &Listener{
		opts:    o.AcceptOptions,
		backlog: backlog,
		addr:    addr,
		connCh:  make(chan *Conn, backlog),
		closeCh: make(chan struct{}),
		doneCh:  make(chan struct{}),
	}
}

// Listen listens on the TCP address addr (as net.Listen("tcp", addr)
// does: ":0" picks a free port) and serves HTTP there with a Listener as
// the handler for every path: any request that is a WebSocket upgrade
// becomes a Conn for [Listener.Accept]. opts may be nil; see
// [NewListener] for how it is used and for the caveats that apply
// to the handler.
//
// Addr returns the *net.TCPAddr the server listens on. The server is a
// plain http.Server without TLS that allows 10 seconds for a request's
// headers; for TLS or other settings, mount [NewListener] on a server of
// your own.
//
// Close shuts the server down: it stops listening, drops HTTP
// connections that have not been upgraded (requests in progress
// included), waits for the server's goroutines, and closes queued Conns.
func Listen(addr string, opts *ListenerOptions) (*Listener, error) {
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := newListener(opts, tcp.Addr())
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: listenReadHeaderTimeout,
	}
	l.serveDoneCh = make(chan struct{})
	go func() {
		defer close(l.serveDoneCh)
		l.srv.Serve(tcp) // returns http.ErrServerClosed after Close
	}()
	return l, nil
}

// ServeHTTP upgrades r to a WebSocket with [Accept] and queues the Conn
// for [Listener.Accept]. It returns once the Conn is queued; the Conn
// outlives the request.
//
// When the backlog is full or the Listener is closed, it answers 503
// without upgrading. When the upgrade fails, Accept has already answered
// with an HTTP error (426 for a request that is not a WebSocket upgrade).
// A Conn upgraded while Close runs is closed with status 1001 (going
// away) before ServeHTTP returns.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		http.Error(w, "wsstream: listener closed", http.StatusServiceUnavailable)
		return
	case l.slots >= l.backlog:
		l.mu.Unlock()
		http.Error(w, "wsstream: listener backlog full", http.StatusServiceUnavailable)
		return
	}
	l.slots++
	l.handlers.Add(1)
	l.mu.Unlock()
	defer l.handlers.Done()

	c, err := Accept(w, r, &l.opts)
	if err != nil {
		l.releaseSlot()
		return
	}

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.releaseSlot()
		closeGoingAway(c)
		return
	}
	l.connCh <- c // never blocks: see connCh
	l.mu.Unlock()
}

// releaseSlot gives a backlog slot back.
func (l *Listener) releaseSlot() {
	l.mu.Lock()
	l.slots--
	l.mu.Unlock()
}

// Accept waits for the next upgraded Conn and returns it; it implements
// [net.Listener], so the result is a *Conn as a net.Conn. Conns are
// returned in the order their upgrades completed.
//
// After Close, Accept returns an error matching [net.ErrClosed] (a
// *net.OpError). A Conn taken from the queue by an Accept that races with
// Close is closed with status 1001 and not returned.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case <-l.closeCh:
		return nil, l.closedError()
	default:
	}
	select {
	case c := <-l.connCh:
		l.releaseSlot()
		if isClosed(l.closeCh) {
			closeGoingAway(c)
			return nil, l.closedError()
		}
		return c, nil
	case <-l.closeCh:
		return nil, l.closedError()
	}
}

func (l *Listener) closedError() error {
	return &net.OpError{Op: "accept", Net: l.addr.Network(), Addr: l.addr, Err: net.ErrClosed}
}

// Close closes the Listener. Blocked and future Accepts return an error
// matching [net.ErrClosed]; requests are answered 503. For a Listener made
// by Listen, the HTTP server stops (see [Listen]) and Close waits for its
// Serve to return.
//
// Close waits for upgrades in progress, then closes every Conn still
// queued, and those upgraded meanwhile, with status 1001 (going away),
// concurrently, each bounded by its Options.CloseTimeout. Conns already
// returned by Accept stay open: they are the caller's to close.
//
// Close returns an error only when shutting the server of Listen down
// failed. It is idempotent: a later call waits for the first to finish
// and returns nil.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.doneCh
		return nil
	}
	l.closed = true
	close(l.closeCh)
	l.mu.Unlock()

	var err error
	if l.srv != nil {
		// Close, not Shutdown: Shutdown waits for connections that have
		// not sent a request yet, for up to five seconds each.
		err = l.srv.Close()
		<-l.serveDoneCh
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	}

	// Every ServeHTTP that holds a slot has queued its Conn or closed it
	// once this returns; no other can start.
	l.handlers.Wait()

	var wg sync.WaitGroup
drain:
	for {
		select {
		case c := <-l.connCh:
			l.releaseSlot()
			wg.Go(func() { closeGoingAway(c) })
		default:
			break drain
		}
	}
	wg.Wait()

	close(l.doneCh)
	return err
}

// closeGoingAway closes a Conn that never reached the application.
func closeGoingAway(c *Conn) {
	c.CloseWithStatus(websocket.StatusGoingAway, "wsstream: listener closed")
}

// Addr returns the listener's address: the *net.TCPAddr the server of
// [Listen] listens on, or, for [NewListener], a placeholder whose Network
// is "websocket" and whose String is "websocket/handler".
func (l *Listener) Addr() net.Addr { return l.addr }

// handlerAddr is the Addr of a Listener made by NewListener, which has no
// socket of its own.
type handlerAddr struct{}

func (handlerAddr) Network() string { return "websocket" }
func (handlerAddr) String() string  { return "websocket/handler" }
