package wsstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream/internal/registry"
)

// Conn is a [net.Conn] over a WebSocket: a byte stream with net.Conn
// deadlines and a close handshake. Its methods are safe for concurrent
// use.
//
// Data written is sent as binary messages of at most
// Options.MaxMessageSize bytes; the payload of every binary message
// received (and of text messages, with Options.AcceptText) is read as one
// stream. Message boundaries carry no meaning.
//
// One goroutine per Conn, the read loop, reads the WebSocket for the
// Conn's whole life: it answers pings and completes the close handshake
// even when the application does not call Read. Over plain TCP (a Conn
// from Dial or Accept over a *net.TCPConn or *net.UnixConn, without TLS),
// a Read that finds nothing buffered reads the socket and decodes binary
// frames itself, and the read loop steps aside while Reads do so and for
// 10 to 160 ms after, and for the first 10 ms of the Conn's life (frames
// that come while nobody reads, pings among them, wait for it so long);
// and a Write frames its data itself and sends it from
// its own goroutine when the socket takes it at once. A second goroutine,
// the writer, exists only while written data waits for the socket, and
// for 100 µs after, so that a stream of small writes reuses it. A third
// exists only while a ping (keepalive's or [Conn.Ping]'s) waits for its
// pong.
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
// connection fails. Deadlines do not affect Close or CloseNow.
type Conn struct {
	// Set when the Conn is made, immutable after.
	ws messageConn
	// tr is the connection below ws (TCP, or TLS over TCP), or nil for a
	// Conn made by New.
	tr *transport
	// ctx is passed to every call into ws. It is the Conn's own: never a
	// caller's, never expiring. It is cancelled only by abort, and only
	// for a Conn made by New (cancel is nil otherwise), which has no other
	// way to interrupt coder/websocket.
	ctx          context.Context
	cancel       context.CancelFunc
	opts         Options
	laddr, raddr net.Addr
	// halfClose is set when both ends agreed on the half-close extension.
	halfClose bool
	// req is the request Accept was given (not a copy: see Request), for
	// Conns made by Accept; nil otherwise.
	req *http.Request

	readDeadline  deadline
	writeDeadline deadline

	recv   *recvBuffer // the receive half
	send   *sendQueue  // the send half
	end    *ending     // why the Conn ended, once it has
	events *registry.Registry[Event]

	// writing is held by the Write in progress (or CloseWrite), so that
	// concurrent Writes do not interleave.
	writing slot
	// lastInline is when a Write last finished sending from its own
	// goroutine, or handed a small write to the writer, in Unix
	// nanoseconds; see startSending.
	lastInline atomic.Int64
	// readSinceSend is set when Read returned data after that send: the
	// next write answers what was read, and is not coalesced.
	readSinceSend atomic.Bool

	stateMu sync.Mutex // guards state
	state   connState
	// closing is set when a local Close or CloseNow begins. Read and
	// Write fail with net.ErrClosed from then on.
	closing latch
	// aborted is set by abort, once.
	aborted   latch
	abortOnce sync.Once
	// finished is set when the Conn has finished: the WebSocket is
	// closed and every goroutine of the Conn has exited.
	finished latch

	// Keepalive. kaTimer runs keepalive every KeepaliveInterval; first,
	// for a Conn that starts resting (startResting), it ends the first
	// period, while firstPeriod is set.
	kaMu        sync.Mutex // guards kaTimer and kaStopped
	kaTimer     *time.Timer
	firstPeriod atomic.Bool
	kaStopped   bool           // finish stopped keepalive for good
	kaRunning   sync.WaitGroup // running keepalive callbacks
	// recvAt is when data last arrived, in Unix nanoseconds, for a Conn
	// without a transport (which notes every byte itself).
	recvAt atomic.Int64

	pingMu sync.Mutex // guards ping
	// ping is the ping waiting for its pong, if any; see startPing.
	ping *pingCall
	// pingers counts ping goroutines.
	pingers sync.WaitGroup
}

// Lock order: no two locks of a Conn or of its halves are ever held
// together, and none is held while calling into the WebSocket or waiting
// on a channel.

type connState int

const (
	stateOpen     connState = iota
	stateClosing            // a local Close or CloseNow is running
	stateFinished           // the peer or the transport ended the Conn, or it failed
)

// messageConn is what a Conn needs of the WebSocket below it. A
// *websocket.Conn provides it.
type messageConn interface {
	Reader(ctx context.Context) (websocket.MessageType, io.Reader, error)
	Write(ctx context.Context, typ websocket.MessageType, p []byte) error
	Close(code websocket.StatusCode, reason string) error
	CloseNow() error
	Ping(ctx context.Context) error
	Subprotocol() string
}

func newConn(ws messageConn, tr *transport, o Options, ctx context.Context, cancel context.CancelFunc, laddr, raddr net.Addr) *Conn {
	return &Conn{
		halfClose:     o.HalfClose && ws.Subprotocol() == halfCloseProtocol,
		ws:            ws,
		tr:            tr,
		ctx:           ctx,
		cancel:        cancel,
		opts:          o,
		laddr:         laddr,
		raddr:         raddr,
		readDeadline:  makeDeadline(),
		writeDeadline: makeDeadline(),
		recv:          newRecvBuffer(o.ReadBufferSize),
		send:          newSendQueue(o.MaxMessageSize, o.WriteBufferSize),
		end:           newEnding(),
		events:        registry.New(cloneEvent),
	}
}

// start runs the read loop and keepalive. Where Reads decode the frames
// themselves, the read loop starts resting (see startResting), and
// keepalive's timer first ends that rest.
func (c *Conn) start() {
	first := c.opts.KeepaliveInterval
	if c.startResting() {
		c.firstPeriod.Store(true)
		first = firstRest
		if ka := c.opts.KeepaliveInterval; ka > 0 {
			first = min(first, ka)
		}
	} else {
		go c.readLoop()
	}
	if first > 0 {
		c.kaMu.Lock()
		c.kaTimer = time.AfterFunc(first, c.tick)
		c.kaMu.Unlock()
	}
}

// tick is the Conn's timer: keepalive, after the end of the first period
// for a Conn that starts resting.
func (c *Conn) tick() {
	if !c.firstPeriod.CompareAndSwap(true, false) {
		c.keepalive()
		return
	}
	c.kaMu.Lock()
	if c.kaStopped {
		c.kaMu.Unlock()
		return // the Conn has finished
	}
	c.kaRunning.Add(1)
	c.kaMu.Unlock()
	defer c.kaRunning.Done()

	c.endFirstPeriod()
	ka := c.opts.KeepaliveInterval
	switch {
	case ka <= 0:
		c.kaMu.Lock()
		c.kaTimer = nil // never needed again
		c.kaMu.Unlock()
	case ka <= firstRest:
		c.keepalive()
	default:
		c.kaMu.Lock()
		if !c.kaStopped {
			c.kaTimer.Reset(ka - firstRest)
		}
		c.kaMu.Unlock()
	}
}

// offStack runs f, a handshake and the making of a Conn, on a goroutine of
// its own, and returns when it has (a panic in f panics again here):
// their deep call chains, and the allocations in them (which may help the
// garbage collector), would grow the calling goroutine's stack to 8 KiB,
// which it keeps for as long as it then serves the Conn, blocked in Read.
// The short-lived goroutine takes the growth and gives it back.
func offStack(f func()) {
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		f()
	}()
	if p := <-done; p != nil {
		panic(p)
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
func (c *Conn) Subprotocol() string {
	if c.halfClose {
		return ""
	}
	return c.ws.Subprotocol()
}

// SetDeadline sets the read and write deadlines, as
// [Conn.SetReadDeadline] and [Conn.SetWriteDeadline] do.
func (c *Conn) SetDeadline(t time.Time) error {
	c.readDeadline.set(t)
	c.writeDeadline.set(t)
	c.interruptRead()
	return nil
}

// SetReadDeadline sets the time after which Read fails with a timeout. A
// zero t means no deadline; a t in the past makes pending and future Reads
// fail at once, even when data is buffered. A Read blocked when the
// deadline is moved uses the new deadline. It never affects the WebSocket
// below: the Conn stays usable. After Close it has no effect and returns
// nil.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readDeadline.set(t)
	c.interruptRead()
	return nil
}

// SetWriteDeadline sets the time after which Write fails with a timeout.
// A zero t means no deadline; a t in the past makes pending and future
// Writes fail at once, before any of their data is queued. A Write that
// times out returns how many bytes it queued; those bytes are sent, whole
// and in order, so the stream stays intact. After Close it has no effect
// and returns nil.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.set(t)
	return nil
}

// unknownAddr is the address of a Conn made by New without addresses.
type unknownAddr struct{}

func (unknownAddr) Network() string { return "websocket" }
func (unknownAddr) String() string  { return "websocket/unknown-addr" }
