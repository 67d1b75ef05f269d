//go:build !js

package wsstream

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultBacklog is the number of upgraded Conns a [Listener] holds for
// [Listener.Accept] when ListenerOptions.Backlog is zero.
const DefaultBacklog = 128

// ListenerOptions configure a [Listener]. A nil *ListenerOptions is
// valid.
type ListenerOptions struct {
	// AcceptOptions configure each upgrade, as for [Accept].
	AcceptOptions

	// Backlog is how many upgraded Conns may wait for Listener.Accept;
	// zero means [DefaultBacklog]. Upgrades beyond it get HTTP 503.
	Backlog int

	// OnUpgradeError, if not nil, is called once for every request the
	// Listener answered without handing a Conn to the queue: err matches
	// [ErrBacklogFull] (503), [net.ErrClosed] (503 after Close),
	// [ErrHijackUnsupported] (501: middleware hides the connection), or
	// is the error [Accept] returned for a request that is not a valid
	// upgrade (426, 400, 403, 405, ...). r is the request; the response
	// has been written. It is called from the request's handler
	// goroutine after the backlog slot is given back, so it may be
	// called concurrently and should return quickly. Nil means failed
	// upgrades are not reported (the client still gets the HTTP status).
	OnUpgradeError func(r *http.Request, err error)

	// timeouts, when not nil, replaces the HTTP server timeouts of
	// Listen and Serve (tests only).
	timeouts *serverTimeouts
}

// Listener is a [net.Listener] whose connections are WebSocket upgrades.
// It is also an [http.Handler]: every request it serves is upgraded with
// [Accept] and the Conn is queued for [Listener.Accept]. Use [NewListener]
// to mount it on a mux or server of your own, or [Listen] or [Serve] to
// have it run its own HTTP server. Its methods are safe for concurrent
// use. Each Conn it returns knows the request it was upgraded from: see
// [Conn.Request].
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
	// with the default applied; onError is OnUpgradeError.
	opts    AcceptOptions
	backlog int
	onError func(*http.Request, error)
	// closeWait bounds how long Close waits for upgrades in progress:
	// the Options.CloseTimeout of opts, with its default.
	closeWait time.Duration
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

	mu sync.Mutex // guards slots, closed and upgrading
	// slots counts the requests between taking a slot and Accept taking
	// their Conn from connCh (or the upgrade failing): upgrades in
	// progress plus Conns queued. It never exceeds backlog.
	slots int
	// closed is set when Close begins. No request takes a slot after,
	// and no Conn is queued after: one upgraded later is closed by its
	// own ServeHTTP.
	closed bool
	// upgrading counts the ServeHTTP calls between taking a slot and
	// queueing (or closing) their Conn. upgradedCh is closed when closed
	// is set and upgrading is zero: Close waits for it, within closeWait.
	upgrading  int
	upgradedCh chan struct{}

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
//   - The bounds on connections that are not upgraded are your server's.
//     Without ReadTimeout, a connection that sends an upgrade request
//     announcing a body it never sends is answered 400 but then held by
//     net/http, which waits for the body to discard it; without
//     IdleTimeout (or ReadTimeout), a keep-alive connection that got a
//     426 stays open. [Serve] shows bounds that suit an endpoint that
//     only upgrades.
//   - Middleware may set response headers before calling ServeHTTP: they
//     are sent with the 101 response. To refuse a client (401, 403),
//     answer in the middleware and do not call ServeHTTP; it then takes
//     no backlog slot.
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
	closeWait := o.Options.CloseTimeout
	if closeWait <= 0 {
		closeWait = DefaultCloseTimeout
	}
	return &Listener{
		opts:       o.AcceptOptions,
		backlog:    backlog,
		onError:    o.OnUpgradeError,
		closeWait:  closeWait,
		addr:       addr,
		connCh:     make(chan *Conn, backlog),
		closeCh:    make(chan struct{}),
		doneCh:     make(chan struct{}),
		upgradedCh: make(chan struct{}),
	}
}

// ServeHTTP upgrades r to a WebSocket with [Accept] and queues the Conn
// for [Listener.Accept]. It returns once the Conn is queued; the Conn
// outlives the request.
//
// When the backlog is full or the Listener is closed, it answers 503
// without upgrading. When the upgrade fails, Accept has already answered
// with an HTTP error (426 for a request that is not a WebSocket upgrade,
// 400 for one that announces a body, 501 when w cannot hijack). Each of
// these is reported to ListenerOptions.OnUpgradeError. Every answer but
// 101 and 426 carries "Connection: close": the server closes the
// connection after it (after discarding what it can of an announced
// body, within the server's ReadTimeout). A Conn upgraded
// after Close began is closed with status 1001 (going away) before
// ServeHTTP returns.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A refusal ends the connection. Without this, net/http would first
	// wait to discard a body the request announced (and a hostile client
	// never sends) before writing the answer. An upgrade's 101, and the
	// 426 of coder/websocket, set Connection themselves.
	w.Header().Set("Connection", "close")
	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		http.Error(w, "wsstream: listener closed", http.StatusServiceUnavailable)
		l.report(r, l.closedError())
		return
	case l.slots >= l.backlog:
		l.mu.Unlock()
		http.Error(w, ErrBacklogFull.Error(), http.StatusServiceUnavailable)
		l.report(r, ErrBacklogFull)
		return
	}
	l.slots++
	l.upgrading++
	l.mu.Unlock()

	c, err := Accept(w, r, &l.opts)

	l.mu.Lock()
	l.upgrading--
	if l.closed && l.upgrading == 0 {
		close(l.upgradedCh)
	}
	switch {
	case err != nil:
		l.slots--
		l.mu.Unlock()
		l.report(r, err)
	case l.closed:
		l.slots--
		l.mu.Unlock()
		closeGoingAway(c)
	default:
		l.connCh <- c // never blocks: see connCh
		l.mu.Unlock()
	}
}

// report passes a failed upgrade to OnUpgradeError.
func (l *Listener) report(r *http.Request, err error) {
	if l.onError != nil {
		l.onError(r, err)
	}
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

// Addr returns the listener's address: the *net.TCPAddr the server of
// [Listen] listens on, the Addr of the net.Listener given to [Serve], or,
// for [NewListener], a placeholder whose Network is "websocket" and whose
// String is "websocket/handler".
func (l *Listener) Addr() net.Addr { return l.addr }

// handlerAddr is the Addr of a Listener made by NewListener, which has no
// socket of its own.
type handlerAddr struct{}

func (handlerAddr) Network() string { return "websocket" }
func (handlerAddr) String() string  { return "websocket/handler" }
