package wsstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream/internal/registry"
)

// Defaults for the zero values of [Options].
const (
	// DefaultCloseTimeout bounds Close: flushing written data, the close
	// handshake and, on the client, waiting for the server to close TCP.
	DefaultCloseTimeout = 5 * time.Second
	// DefaultReadBufferSize is how many received bytes a Conn holds for
	// Read before it stops reading the socket.
	DefaultReadBufferSize = 64 << 10
	// DefaultMaxMessageSize is the largest message a Write sends. It is
	// the default read limit of coder/websocket, so plain WebSocket peers
	// using that library accept every message.
	DefaultMaxMessageSize = 32 << 10
	// DefaultWriteBufferSize is how many bytes Write accepts before they
	// are on the socket; further Writes wait for room.
	DefaultWriteBufferSize = 2 * DefaultMaxMessageSize
	// DefaultKeepaliveInterval is how long a Conn waits after the peer
	// last sent anything before it pings it.
	DefaultKeepaliveInterval = 30 * time.Second
	// DefaultKeepaliveTimeout is how long a keepalive ping waits for the
	// pong before the Conn is dropped.
	DefaultKeepaliveTimeout = 15 * time.Second
)

// Options configure a [Conn]. The zero value is valid: every zero field
// takes its default.
type Options struct {
	// AcceptText makes the payload of text messages stream data, like the
	// payload of binary messages. By default a text message is refused:
	// the Conn closes with status 1003 (unsupported data) and Read
	// returns an error wrapping [ErrTextMessage] after the data received
	// before it.
	AcceptText bool

	// CloseTimeout bounds Close (default [DefaultCloseTimeout]): writing
	// out the data already accepted by Write, the close handshake and, on
	// the client, waiting for the server to close TCP. When it passes the
	// TCP connection is dropped. It also bounds how long a client waits
	// for the server to close TCP after the peer started the handshake.
	CloseTimeout time.Duration

	// ReadBufferSize is how many received bytes the Conn holds until Read
	// takes them (default [DefaultReadBufferSize]). When it is full the
	// read pump stops reading the socket, so a peer that sends faster than
	// the application reads is slowed down by TCP flow control. The buffer
	// is taken from a pool when data arrives and returned when Read has
	// drained it: an idle Conn holds none.
	//
	// coder/websocket reads frame payloads with io.ReadFull, so the bytes
	// of a frame still arriving become readable in pieces of up to
	// ReadBufferSize bytes, or at the end of the frame, whichever comes
	// first. Peers that send whole frames, as WebSocket libraries do, never
	// notice.
	ReadBufferSize int

	// WriteBufferSize is how many bytes Write accepts before they are on
	// the socket (default [DefaultWriteBufferSize]); a Write that finds it
	// full waits, within its deadline, for room. It is taken from a pool
	// while there is data to send and returned afterwards.
	WriteBufferSize int

	// MaxMessageSize is the largest binary message a Write sends (default
	// [DefaultMaxMessageSize]). Larger writes are split; small writes made
	// while earlier ones are still waiting for the socket are coalesced.
	// Set it no higher than the peer's message read limit.
	MaxMessageSize int

	// KeepaliveInterval is how long the Conn waits after the peer last
	// sent anything before it pings it (default
	// [DefaultKeepaliveInterval]; negative disables keepalive). When
	// neither the pong nor anything else arrives within KeepaliveTimeout,
	// the Conn is dropped: Read and Write fail with an error wrapping
	// [ErrKeepaliveTimeout], and subscribers get an [ErrorEvent]. A peer
	// that vanished behind a NAT or proxy is so noticed within
	// KeepaliveInterval + KeepaliveTimeout of its last byte, and proxies
	// that drop idle connections (nginx's proxy_read_timeout defaults to
	// 60s) see traffic both ways. No ping is sent while written data waits
	// for the socket: a peer that does not read would not answer, dead or
	// merely slow, and TCP itself notices a dead one then.
	KeepaliveInterval time.Duration

	// KeepaliveTimeout is how long a keepalive ping waits for its pong
	// (default [DefaultKeepaliveTimeout]).
	KeepaliveTimeout time.Duration

	// LocalAddr and RemoteAddr are what [Conn.LocalAddr] and
	// [Conn.RemoteAddr] return for a Conn made by [New], which cannot see
	// the TCP connection below the WebSocket. Dial and Accept ignore them
	// and report the real TCP addresses.
	LocalAddr, RemoteAddr net.Addr
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.CloseTimeout <= 0 {
		r.CloseTimeout = DefaultCloseTimeout
	}
	if r.ReadBufferSize <= 0 {
		r.ReadBufferSize = DefaultReadBufferSize
	}
	if r.MaxMessageSize <= 0 {
		r.MaxMessageSize = DefaultMaxMessageSize
	}
	if r.WriteBufferSize <= 0 {
		r.WriteBufferSize = DefaultWriteBufferSize
	}
	if r.KeepaliveInterval == 0 {
		r.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if r.KeepaliveTimeout <= 0 {
		r.KeepaliveTimeout = DefaultKeepaliveTimeout
	}
	return r
}

// Conn is a [net.Conn] over a WebSocket: a byte stream with net.Conn
// deadlines and a close handshake. Its methods are safe for concurrent
// use.
//
// Data written is sent as binary messages of at most
// Options.MaxMessageSize bytes; the payload of every binary message
// received (and of text messages, with Options.AcceptText) is read as one
// stream. Message boundaries carry no meaning.
//
// One goroutine per Conn, the read pump, reads the WebSocket for the
// Conn's whole life: it answers pings and completes the close handshake
// even when the application does not call Read. A second goroutine writes
// to the socket only while written data is waiting for it, and a third
// exists only while a keepalive ping waits for its pong.
//
// What the byte stream cannot carry (pings, the peer's close code and
// reason, refused text messages, errors from below) is reported to
// subscribers: see [Conn.Subscribe].
//
// Deadlines behave as on a TCP connection: a Read or Write whose deadline
// passes returns an error that is a [net.Error] with Timeout() == true
// and matches [os.ErrDeadlineExceeded], and the Conn stays usable once
// the deadline is moved. A Write returns once its data is queued for the
// socket, as a TCP Write returns once its data is in the kernel's buffer:
// every byte it reports as written is sent, in order, unless the
// connection fails.
type Conn struct {
	ws *websocket.Conn
	// tcp is the TCP connection below ws, or nil for a Conn made by New.
	tcp *tcpConn
	// ctx is passed to every call into ws. It is never cancelled when tcp
	// is set, so coder/websocket arms no timer per frame; a Conn made by
	// New cancels it to abort a stuck close.
	ctx    context.Context
	cancel context.CancelFunc

	opts         Options
	laddr, raddr net.Addr

	readDeadline  deadline
	writeDeadline deadline

	// closingCh is closed when a local Close begins. Read and Write fail
	// with net.ErrClosed from then on.
	closingCh chan struct{}
	// pumpDoneCh is closed when the read pump has returned.
	pumpDoneCh chan struct{}
	// doneCh is closed when the Conn has finished: the WebSocket is
	// closed and every goroutine of the Conn has exited.
	doneCh chan struct{}

	stateMu sync.Mutex // guards state
	state   connState

	// The read side. The pump fills rbuf, a ring buffer, and Read drains
	// it. The pump reads from the socket into the free region without the
	// lock: filling marks that region as the pump's.
	readMu  sync.Mutex // guards rbufp, rbuf, rstart, rlen, filling, rerr, cause, failure, peerClose
	rbufp   *[]byte    // rbuf's pool handle; nil with rbuf
	rbuf    []byte     // nil while empty and not being filled
	rstart  int        // offset of the first unread byte
	rlen    int        // unread bytes
	filling bool       // the pump is reading into rbuf's free region
	// rerr is what Read returns once rbuf is drained: set once, when the
	// pump stops.
	rerr error
	// cause is why the Conn ended, for Write and events; nil while open or
	// after a clean local close.
	cause error
	// failure, when set, is why the Conn dropped the connection itself (a
	// keepalive timeout); it becomes the cause.
	failure error
	// peerClose is the peer's close frame, once seen.
	peerClose *websocket.CloseError
	// readableCh (buffer 1) tells a waiting Read that data arrived.
	readableCh chan struct{}
	// readEndCh is closed when rerr is set.
	readEndCh chan struct{}
	// spaceCh (buffer 1) tells the pump that Read freed buffer space.
	spaceCh chan struct{}

	// writeCallCh (buffer 1) is held by the Write in progress, so that
	// concurrent Writes do not interleave.
	writeCallCh chan struct{}

	// The write side. Write copies data into wq; writeLoop, started on
	// demand, sends it.
	writeMu sync.Mutex // guards wq, wqBytes, writing, werr
	// wq holds the buffers waiting for the socket, oldest first. Each is
	// sent as one message; only the last one grows.
	wq      []*[]byte
	wqBytes int  // bytes in wq plus the buffer being sent
	writing bool // a writeLoop goroutine is running
	// werr is the error that stopped writing; sticky.
	werr error
	// writeSpaceCh (buffer 1) tells the waiting Write that room was freed.
	writeSpaceCh chan struct{}
	// flushedCh (buffer 1) tells Close that writeLoop emptied wq and
	// exited.
	flushedCh chan struct{}
	// writeWakeCh (buffer 1) tells a lingering writeLoop that wq has data.
	writeWakeCh chan struct{}
	// lingerTimer bounds how long writeLoop waits for more data before it
	// exits; only writeLoop uses it.
	lingerTimer *time.Timer
	// writers counts running writeLoop goroutines.
	writers sync.WaitGroup

	// writeLoopFn is c.writeLoop, bound once so that starting the writer
	// does not allocate.
	writeLoopFn func()

	// events are reported to subscribers; see observe.go.
	events *registry.Registry[Event]

	// Keepalive. kaTimer runs keepalive every KeepaliveInterval.
	kaMu      sync.Mutex // guards kaTimer and kaStopped
	kaTimer   *time.Timer
	kaStopped bool // finish stopped keepalive for good
	// kaRunning counts running keepalive callbacks.
	kaRunning sync.WaitGroup
	// recvAt is when data last arrived, in Unix nanoseconds, for a Conn
	// without a tcpConn (which notes every byte itself); see lastReceived.
	recvAt atomic.Int64
}

// Lock order: writeMu, then readMu (writeErrLocked); stateMu and kaMu are
// never held with another lock. No lock is held while calling into the
// WebSocket or waiting on a channel.

type connState int

const (
	stateOpen     connState = iota
	stateClosing            // a local Close is running
	stateFinished           // the peer or the transport ended the Conn, or it failed
)

// New returns a Conn that owns ws and starts its read pump. opts may be
// nil.
//
// ws must be fresh: no Reader, Read, CloseRead or NetConn call on it, now
// or later; the Conn is its only user. It applies these caveats, which
// Dial and Accept avoid:
//   - LocalAddr and RemoteAddr return Options.LocalAddr and
//     Options.RemoteAddr, or a placeholder address when they are nil.
//   - The Conn cannot reach the TCP connection below ws. It aborts a stuck
//     close by cancelling the context of its reads and writes, which costs
//     coder/websocket a timer per frame; a close can take up to
//     coder/websocket's own limits (5s for each half of the handshake)
//     when the socket is stuck outside a read or write.
//   - A client Conn does not wait for the server to close TCP.
//   - Pings and pongs are answered but not reported as events:
//     coder/websocket reports them only to the callbacks ws was made
//     with. For the same reason keepalive counts only data as a sign of
//     life, and pings when the peer sent no data for a whole interval.
func New(ws *websocket.Conn, opts *Options) *Conn {
	o := opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	laddr, raddr := o.LocalAddr, o.RemoteAddr
	if laddr == nil {
		laddr = unknownAddr{}
	}
	if raddr == nil {
		raddr = unknownAddr{}
	}
	c := newConn(ws, nil, o, ctx, cancel, laddr, raddr)
	c.start()
	return c
}

func newConn(ws *websocket.Conn, tcp *tcpConn, o Options, ctx context.Context, cancel context.CancelFunc, laddr, raddr net.Addr) *Conn {
	ws.SetReadLimit(-1) // the pump streams messages of any size through rbuf
	c := &Conn{
		ws:            ws,
		tcp:           tcp,
		ctx:           ctx,
		cancel:        cancel,
		opts:          o,
		laddr:         laddr,
		raddr:         raddr,
		readDeadline:  makeDeadline(),
		writeDeadline: makeDeadline(),
		closingCh:     make(chan struct{}),
		pumpDoneCh:    make(chan struct{}),
		doneCh:        make(chan struct{}),
		readableCh:    make(chan struct{}, 1),
		readEndCh:     make(chan struct{}),
		spaceCh:       make(chan struct{}, 1),
		writeCallCh:   make(chan struct{}, 1),
		writeSpaceCh:  make(chan struct{}, 1),
		flushedCh:     make(chan struct{}, 1),
		writeWakeCh:   make(chan struct{}, 1),
		events:        registry.New(cloneEvent),
	}
	c.writeLoopFn = c.writeLoop
	return c
}

// start runs the read pump and keepalive.
func (c *Conn) start() {
	go c.pump()
	if c.opts.KeepaliveInterval > 0 {
		c.kaMu.Lock()
		c.kaTimer = time.AfterFunc(c.opts.KeepaliveInterval, c.keepalive)
		c.kaMu.Unlock()
	}
}

// LocalAddr returns the local address of the TCP connection below the
// WebSocket (see [New] for Conns made by New).
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the remote address of the TCP connection below the
// WebSocket (see [New] for Conns made by New).
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// Subprotocol returns the WebSocket subprotocol negotiated in the
// handshake, or "".
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

// SetDeadline sets the read and write deadlines, as
// [Conn.SetReadDeadline] and [Conn.SetWriteDeadline] do.
func (c *Conn) SetDeadline(t time.Time) error {
	c.readDeadline.set(t)
	c.writeDeadline.set(t)
	return nil
}

// SetReadDeadline sets the time after which Read fails with a timeout. A
// zero t means no deadline; a t in the past makes pending and future Reads
// fail at once, even when data is buffered. A Read blocked when the
// deadline is moved uses the new deadline. It never affects the WebSocket
// below: the Conn stays usable.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readDeadline.set(t)
	return nil
}

// SetWriteDeadline sets the time after which Write fails with a timeout.
// A zero t means no deadline; a t in the past makes pending and future
// Writes fail at once, before any of their data is queued. A Write that
// times out returns how many bytes it queued; those bytes are sent, whole
// and in order, so the stream stays intact.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.set(t)
	return nil
}

// Read reads up to len(p) received bytes. It blocks until at least one
// byte is available, the read deadline passes, or the Conn ends. It never
// returns 0, nil for a non-empty p.
//
// After the peer closed the WebSocket, Read returns the data still
// buffered, then io.EOF if the peer's status was 1000 (normal closure) or
// 1001 (going away), and otherwise an error wrapping [ErrPeerClosed] and
// the peer's [websocket.CloseError]. If the connection failed without a
// close handshake, the error wraps [ErrConnectionLost]. After a local
// Close, Read returns [net.ErrClosed].
func (c *Conn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	for {
		if isClosed(c.closingCh) {
			c.readMu.Unlock()
			return 0, net.ErrClosed
		}
		if c.readDeadline.passed() {
			c.readMu.Unlock()
			return 0, errDeadline
		}
		if c.rlen > 0 && len(p) > 0 {
			n := c.takeLocked(p)
			more := c.rlen > 0
			c.readMu.Unlock()
			notify(c.spaceCh)
			if more {
				notify(c.readableCh) // wake the next waiting Read
			}
			return n, nil
		}
		if c.rerr != nil {
			err := c.rerr
			c.readMu.Unlock()
			return 0, err
		}
		if len(p) == 0 {
			c.readMu.Unlock()
			return 0, nil
		}
		c.readMu.Unlock()
		select {
		case <-c.readableCh:
		case <-c.readEndCh:
		case <-c.readDeadline.wait():
		case <-c.closingCh:
		}
		c.readMu.Lock()
	}
}

// takeLocked moves buffered bytes into p. c.readMu must be held.
func (c *Conn) takeLocked(p []byte) int {
	n := 0
	for n < len(p) && c.rlen > 0 {
		end := min(c.rstart+c.rlen, len(c.rbuf))
		k := copy(p[n:], c.rbuf[c.rstart:end])
		n += k
		c.rstart += k
		c.rlen -= k
		if c.rstart == len(c.rbuf) {
			c.rstart = 0
		}
	}
	c.releaseReadBufLocked()
	return n
}

// releaseReadBufLocked returns rbuf to its pool once it is empty and the
// pump is not filling it, so that an idle Conn holds no buffer. c.readMu
// must be held.
func (c *Conn) releaseReadBufLocked() {
	if c.rlen == 0 && !c.filling && c.rbufp != nil {
		putBuf(c.rbufp)
		c.rbufp, c.rbuf = nil, nil
		c.rstart = 0
	}
}

// reserve returns the region of rbuf the pump reads into next. It waits
// while the buffer is full. Once a local Close has begun nobody reads
// rbuf any more, so the whole buffer is handed out and commit discards
// what lands in it: the pump must keep reading to see the peer's close
// frame.
func (c *Conn) reserve() []byte {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for {
		discard := isClosed(c.closingCh)
		if discard {
			c.rstart, c.rlen = 0, 0
		}
		if c.rbufp == nil {
			c.rbufp = getBuf(c.opts.ReadBufferSize)
			c.rbuf = *c.rbufp
			c.rstart = 0
		}
		if c.rlen < len(c.rbuf) {
			if c.rlen == 0 {
				c.rstart = 0
			}
			w := c.rstart + c.rlen
			end := len(c.rbuf)
			if w >= len(c.rbuf) {
				w -= len(c.rbuf)
				end = c.rstart
			}
			c.filling = true
			return c.rbuf[w:end]
		}
		c.readMu.Unlock()
		select {
		case <-c.spaceCh:
		case <-c.closingCh:
		}
		c.readMu.Lock()
	}
}

// commit makes n bytes read into the region returned by reserve readable.
func (c *Conn) commit(n int) {
	c.readMu.Lock()
	c.filling = false
	if isClosed(c.closingCh) {
		n = 0
		c.rlen = 0
	}
	c.rlen += n
	c.releaseReadBufLocked()
	c.readMu.Unlock()
	if n > 0 {
		if c.tcp == nil {
			c.recvAt.Store(time.Now().UnixNano())
		}
		notify(c.readableCh)
	}
}

// textReason is the reason of the close frame that refuses a text
// message.
const textReason = "wsstream: text messages are not supported on this stream"

// pump is the read pump: the only reader of the WebSocket, for the whole
// life of the Conn.
func (c *Conn) pump() {
	err := c.readMessages()

	// Claim the end of the Conn before Read can report it, so that a Close
	// called after Read failed waits for the end instead of starting a
	// handshake on a dead connection.
	c.stateMu.Lock()
	local := c.state != stateOpen
	if !local {
		c.state = stateFinished
	}
	c.stateMu.Unlock()

	peer, cause := c.endRead(err)
	close(c.pumpDoneCh)
	if local {
		// A local Close is running; it finishes the Conn.
		return
	}

	ev := ClosedEvent{Initiator: InitiatorNone, Code: websocket.StatusAbnormalClosure, Err: cause}
	switch {
	case errors.Is(cause, ErrTextMessage):
		ev.Initiator, ev.Code, ev.Reason = InitiatorLocal, websocket.StatusUnsupportedData, textReason
		ev.Handshake = c.closeWebSocket(ev.Code, ev.Reason, time.Now().Add(c.opts.CloseTimeout)) == nil
	case peer != nil:
		// coder/websocket answered the peer's close frame.
		ev.Initiator, ev.Code, ev.Reason, ev.Handshake = InitiatorPeer, peer.Code, peer.Reason, true
		if normalClosure(peer.Code) {
			ev.Err = nil
		}
		c.abort()
	default:
		c.abort()
	}
	c.finish(ev)
}

// normalClosure reports whether code ends a stream like a TCP FIN.
func normalClosure(code websocket.StatusCode) bool {
	return code == websocket.StatusNormalClosure || code == websocket.StatusGoingAway
}

// readMessages copies the payload of every data message into rbuf until
// reading fails. It returns why.
func (c *Conn) readMessages() error {
	for {
		typ, r, err := c.ws.Reader(c.ctx)
		if err != nil {
			return err
		}
		if typ == websocket.MessageText && !c.opts.AcceptText {
			return ErrTextMessage
		}
		for {
			n, err := r.Read(c.reserve())
			if err != nil && err != io.EOF {
				// coder/websocket returns the payload bytes it read
				// before a failure without unmasking them: drop them.
				n = 0
			}
			c.commit(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
	}
}

// endRead records why reading stopped, wakes every Read and reports the
// peer's close frame or the error. It returns the peer's close frame, if
// that is what stopped reading, and the cause of the end (nil for a local
// close).
func (c *Conn) endRead(err error) (*websocket.CloseError, error) {
	var ce websocket.CloseError
	peer := errors.As(err, &ce)
	if peer {
		c.notePeerClose(ce)
	}

	c.readMu.Lock()
	failure := c.failure
	c.readMu.Unlock()
	var rerr, cause error
	switch {
	case isClosed(c.closingCh):
		rerr = net.ErrClosed
	case peer:
		// The peer's close frame was read: the handshake took place,
		// whatever keepalive concluded meanwhile.
		cause = peerClosedError(ce)
		rerr = cause
		if normalClosure(ce.Code) {
			rerr = io.EOF
		}
	case failure != nil:
		rerr, cause = failure, failure
	case errors.Is(err, ErrTextMessage):
		rerr, cause = err, err
	default:
		cause = connectionLostError(err)
		rerr = cause
	}

	// Writes fail before Read reports the end: an application that saw
	// Read fail must not see a Write succeed.
	if cause != nil {
		c.writeMu.Lock()
		if c.werr == nil {
			c.werr = cause
		}
		c.writeMu.Unlock()
	}
	c.readMu.Lock()
	c.rerr, c.cause = rerr, cause
	c.readMu.Unlock()
	close(c.readEndCh)
	if cause != nil && !peer {
		c.publish(ErrorEvent{Err: cause})
	}
	if peer {
		return &ce, cause
	}
	return nil, cause
}

// notePeerClose records the peer's close frame and reports it, once.
func (c *Conn) notePeerClose(ce websocket.CloseError) {
	c.readMu.Lock()
	seen := c.peerClose != nil
	if !seen {
		c.peerClose = &ce
	}
	c.readMu.Unlock()
	if !seen {
		c.publish(CloseEvent{Code: ce.Code, Reason: ce.Reason})
	}
}

// keepalive runs KeepaliveInterval after the peer last sent anything. It
// pings the peer and drops the connection when neither the pong nor
// anything else arrives within KeepaliveTimeout, so a dead peer is noticed
// within KeepaliveInterval + KeepaliveTimeout of its last byte.
//
// Any byte from the peer is a sign of life: on a slow link the pong may
// wait behind data the peer is sending. While written data waits for the
// socket, the peer is not reading and would not see a ping either:
// keepalive then leaves detection to TCP, so that a peer that only reads
// slowly is not taken for a dead one.
func (c *Conn) keepalive() {
	c.kaMu.Lock()
	if c.kaStopped {
		c.kaMu.Unlock()
		return
	}
	c.kaRunning.Add(1)
	c.kaMu.Unlock()
	defer c.kaRunning.Done()

	next := c.opts.KeepaliveInterval
	if idle := time.Since(c.lastReceived()); idle < next {
		// The peer spoke during the interval: check again one interval
		// after it last did.
		next -= idle
	} else if !c.sending() {
		sent := time.Now()
		ctx, cancel := context.WithTimeout(c.ctx, c.opts.KeepaliveTimeout)
		err := c.ws.Ping(ctx)
		timedOut := ctx.Err() != nil
		cancel()
		if err != nil && !timedOut {
			// The connection is closing or failed: the pump reports why.
			return
		}
		// Bytes that arrived while the pong was awaited prove the peer
		// alive: its pong may be queued behind the data it is sending.
		if err != nil && !c.sending() && !c.lastReceived().After(sent) {
			c.stateMu.Lock()
			open := c.state == stateOpen
			c.stateMu.Unlock()
			if open {
				c.fail(fmt.Errorf("%w: no pong within %v", ErrKeepaliveTimeout, c.opts.KeepaliveTimeout))
			}
			return
		}
	}

	c.kaMu.Lock()
	if !c.kaStopped {
		c.kaTimer.Reset(next)
	}
	c.kaMu.Unlock()
}

// lastReceived is when something last arrived from the peer: any byte on
// the TCP connection of a Conn made by Dial or Accept, even part of a
// frame, or data for a Conn made by New. It is the zero time before
// anything arrived.
func (c *Conn) lastReceived() time.Time {
	last := c.recvAt.Load()
	if c.tcp != nil {
		last = c.tcp.readAt.Load()
	}
	if last == 0 {
		return time.Time{}
	}
	return time.Unix(0, last)
}

// sending reports whether written data is waiting for the socket.
func (c *Conn) sending() bool {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.writing
}

// fail drops the connection because of err, which Read, Write and the
// events report.
func (c *Conn) fail(err error) {
	c.readMu.Lock()
	if c.failure == nil {
		c.failure = err
	}
	c.readMu.Unlock()
	c.abort()
}

// Ping sends a ping to the peer and waits for its pong, returning the
// round-trip time. The peer's read pump (or any WebSocket peer that reads)
// answers even when its application does not read.
//
// Caveat, from coder/websocket: if ctx ends while the ping frame itself is
// still being written, because the socket is blocked by a peer that does
// not read, the connection is dropped.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	err := c.ws.Ping(ctx)
	if err == nil {
		return time.Since(start), nil
	}
	if isClosed(c.closingCh) {
		return 0, net.ErrClosed
	}
	if ctx.Err() != nil {
		return 0, fmt.Errorf("wsstream: ping: %w", ctx.Err())
	}
	c.readMu.Lock()
	cause := c.cause
	c.readMu.Unlock()
	if cause != nil {
		return 0, cause
	}
	return 0, connectionLostError(err)
}

// Write writes p to the Conn. It returns once all of p is queued for the
// socket, or with an error saying why not, together with how many bytes
// were queued; those are sent, whole and in order. It blocks while the
// write buffer (Options.WriteBufferSize) is full, until the write deadline
// passes or the Conn ends. Concurrent Writes do not interleave.
//
// After a local Close, Write returns [net.ErrClosed]. After the peer
// closed the WebSocket, it returns an error wrapping [ErrPeerClosed]; after
// the connection failed, an error wrapping [ErrConnectionLost].
func (c *Conn) Write(p []byte) (int, error) {
	select {
	case c.writeCallCh <- struct{}{}:
	case <-c.closingCh:
		return 0, net.ErrClosed
	case <-c.writeDeadline.wait():
		return 0, errDeadline
	}
	defer func() { <-c.writeCallCh }()

	n := 0
	c.writeMu.Lock()
	for {
		if isClosed(c.closingCh) {
			c.writeMu.Unlock()
			return n, net.ErrClosed
		}
		if c.werr != nil {
			err := c.writeErrLocked()
			c.writeMu.Unlock()
			return n, err
		}
		if c.writeDeadline.passed() {
			c.writeMu.Unlock()
			return n, errDeadline
		}
		if n == len(p) {
			c.writeMu.Unlock()
			return n, nil
		}
		if room := c.opts.WriteBufferSize - c.wqBytes; room > 0 {
			n += c.enqueueLocked(p[n:min(len(p), n+room)])
			if !c.writing {
				c.writing = true
				c.writers.Add(1)
				go c.writeLoopFn()
			} else {
				notify(c.writeWakeCh)
			}
			continue
		}
		c.writeMu.Unlock()
		select {
		case <-c.writeSpaceCh:
		case <-c.writeDeadline.wait():
		case <-c.closingCh:
		}
		c.writeMu.Lock()
	}
}

// enqueueLocked copies p into wq, filling the last buffer first.
// c.writeMu must be held.
func (c *Conn) enqueueLocked(p []byte) int {
	n := 0
	for n < len(p) {
		var b *[]byte
		if k := len(c.wq); k > 0 && len(*c.wq[k-1]) < c.opts.MaxMessageSize {
			b = c.wq[k-1]
		} else {
			b = getBuf(c.opts.MaxMessageSize)
			*b = (*b)[:0]
			c.wq = append(c.wq, b)
		}
		k := min(len(p)-n, c.opts.MaxMessageSize-len(*b))
		*b = append(*b, p[n:n+k]...)
		n += k
	}
	c.wqBytes += n
	return n
}

// writeErrLocked says why writing failed. c.writeMu must be held.
func (c *Conn) writeErrLocked() error {
	c.readMu.Lock()
	cause := c.cause
	c.readMu.Unlock()
	if cause != nil {
		return cause
	}
	if isClosed(c.closingCh) {
		return net.ErrClosed
	}
	return c.werr
}

// writeLoop sends the buffers in wq, one message each, until wq has stayed
// empty for writerLinger or a write fails. It runs only while there is
// data to send, and briefly after.
func (c *Conn) writeLoop() {
	defer c.writers.Done()
	c.writeMu.Lock()
	corked := false
	for len(c.wq) > 0 && c.werr == nil || c.lingerLocked() {
		b := c.wq[0]
		copy(c.wq, c.wq[1:])
		c.wq[len(c.wq)-1] = nil
		c.wq = c.wq[:len(c.wq)-1]
		c.writeMu.Unlock()

		if c.tcp != nil && !corked {
			c.tcp.cork()
			corked = true
		}
		err := c.ws.Write(c.ctx, websocket.MessageBinary, *b)

		c.writeMu.Lock()
		c.wqBytes -= len(*b)
		putBuf(b)
		if corked && (len(c.wq) == 0 || err != nil || c.werr != nil) {
			// The loop is about to end: write out what was gathered
			// before the queue looks empty to Close.
			c.writeMu.Unlock()
			if uerr := c.tcp.uncork(); err == nil {
				err = uerr
			}
			corked = false
			c.writeMu.Lock()
		}
		if err != nil && c.werr == nil {
			c.werr = connectionLostError(err)
		}
		notify(c.writeSpaceCh)
	}
	if c.werr != nil {
		for i, b := range c.wq {
			c.wqBytes -= len(*b)
			putBuf(b)
			c.wq[i] = nil
		}
		c.wq = c.wq[:0]
	}
	c.writing = false
	c.writeMu.Unlock()
	notify(c.flushedCh)
	notify(c.writeSpaceCh)
}

// writerLinger is how long writeLoop waits for more data before it exits:
// about a few round trips on a fast network, so that a request-response
// exchange reuses one writer instead of starting one per message.
const writerLinger = 100 * time.Microsecond

// lingerLocked waits up to writerLinger for Write to queue more data and
// reports whether it did. c.writeMu must be held; it is released while
// waiting.
func (c *Conn) lingerLocked() bool {
	if c.werr != nil || isClosed(c.closingCh) {
		return false
	}
	c.writeMu.Unlock()
	if c.lingerTimer == nil {
		c.lingerTimer = time.NewTimer(writerLinger)
	} else {
		c.lingerTimer.Reset(writerLinger)
	}
	select {
	case <-c.writeWakeCh:
	case <-c.lingerTimer.C:
	case <-c.closingCh:
	}
	c.lingerTimer.Stop()
	c.writeMu.Lock()
	return len(c.wq) > 0 && c.werr == nil
}

// Close closes the Conn with status 1000 (normal closure). See
// [Conn.CloseWithStatus].
func (c *Conn) Close() error {
	return c.CloseWithStatus(websocket.StatusNormalClosure, "")
}

// unknownAddr is the address of a Conn made by New without addresses.
type unknownAddr struct{}

func (unknownAddr) Network() string { return "websocket" }
func (unknownAddr) String() string  { return "websocket/unknown-addr" }

// bufPools holds one *sync.Pool of *[]byte per buffer size.
var bufPools sync.Map

// getBuf returns a buffer of length size from the pool for that size.
func getBuf(size int) *[]byte {
	if p, ok := bufPools.Load(size); ok {
		if b, ok := p.(*sync.Pool).Get().(*[]byte); ok {
			*b = (*b)[:size]
			return b
		}
	}
	b := make([]byte, size)
	return &b
}

// putBuf returns b to the pool for its capacity.
func putBuf(b *[]byte) {
	p, ok := bufPools.Load(cap(*b))
	if !ok {
		p, _ = bufPools.LoadOrStore(cap(*b), new(sync.Pool))
	}
	p.(*sync.Pool).Put(b)
}
