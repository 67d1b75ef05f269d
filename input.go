//go:build !js

package wsstream

import (
	"errors"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// input is the transport's read side when it has a socket of its own
// (TCP, not TLS): the bytes read from the socket pass through an inbox
// that it owns, so that a Read can decode binary frames from it in its own
// goroutine (readdirect.go) while everything else still goes through
// coder/websocket. Two rules make that safe:
//
//   - coder/websocket is handed at most the rest of the frame it is reading
//     (read), so when it finishes a message its buffer is empty, and
//     whoever decodes next starts at a frame header;
//   - only the holder of the token reads the socket or touches the inbox,
//     and a holder that waits for the socket can be interrupted (kick)
//     through the socket's read deadline, which it clears again before it
//     gives the token up.
//
// On a client, the HTTP response before the frames is handed on one head
// at a time (readHead), so that net/http keeps none of the frames in its
// buffer.
type input struct {
	nc  net.Conn
	raw syscall.RawConn // nil: the read side is nc's, unchanged
	// decode is set, before the Conn starts, when frames may be decoded
	// (startFrames); immutable after.
	decode bool
	// readAt is the transport's: when bytes last arrived.
	readAt *atomic.Int64

	// token is held by whoever reads the socket (see acquire).
	token slot

	kickMu sync.Mutex // guards waiting, waiter, deadlineSet and closed
	// waiting is set while the holder waits for the socket in waitRead;
	// waiter says who it is.
	waiting bool
	waiter  driver
	// deadlineSet is set while the socket's read deadline is set, by
	// waitRead or by kick; waitRead clears it before it returns.
	deadlineSet bool
	// closed is set when the transport closes: nobody waits for the
	// socket any more, and its read deadline is the closer's.
	closed bool

	// Owned by the token's holder.
	head      bool    // the HTTP response is being read: hand it on head by head
	frames    bool    // the frames have begun (startFrames)
	client    bool    // frames from the peer are not masked
	headState uint8   // readHead's position: 0 in a line, 1 at a line's start, 2 after its '\r'
	bufp      *[]byte // the inbox's pool handle; nil while empty
	start, n  int     // the inbox's unread bytes: (*bufp)[start:start+n]
	frameLeft int64   // bytes of the frame coder/websocket reads that it has yet to get
	// The frame being decoded by readdirect.go: payload bytes still to
	// come, and the mask to apply to the next one.
	payloadLeft int64
	masked      bool
	maskKey     uint32
	// lastHead and lastPayload are the header size and payload length
	// of the last frame decoded: readSplit bets the next is alike.
	lastHead    int32
	lastPayload int64

	// tryBuf, tryN and tryErr are tryFn's argument and results, bound
	// once so that a read does not allocate. Owned by the holder.
	tryBuf   []byte
	tryInbox bool // read into the inbox, not tryBuf
	// trySplit, when set with tryBuf, makes the read a readv of that
	// many bytes into the inbox (a frame's header) and then tryBuf.
	trySplit int32
	// tryNoWait makes a read that finds nothing return errWouldWait
	// rather than wait for the socket.
	tryNoWait bool
	// loopFresh is set while the read loop's goroutine has read nothing
	// yet: its stack is still the 2 KiB a goroutine starts with. Only the
	// read loop touches it.
	loopFresh bool
	tryN      int
	tryErr    error
	tryFn     func(fd uintptr) bool

	// Shared with the Conn (readdirect.go, decodeloop.go).
	coderTurn atomic.Bool  // coder/websocket reads the frames, not a decoder
	readers   atomic.Int32 // Reads decoding or waiting to
	// readRounds counts the times the last Read left; idleRounds is its
	// value when the idle timer last looked. loopMay is set when the read
	// loop may take the socket: after the Conn's first period, and after a
	// period of readIdle without Reads; a Read clears it.
	readRounds atomic.Uint64
	idleRounds atomic.Uint64
	loopMay    atomic.Bool
	// loopWaiting mirrors waiting && waiter == driverLoop, so that a Read
	// asks kick only when the read loop may be waiting: a Read adds itself
	// to readers before it looks, the read loop sets it before its stop
	// looks at readers.
	loopWaiting atomic.Bool
	idleArmed   atomic.Bool // idleTimer is scheduled, or about to be
	// idle is the idle timer's first period: readIdle, or what a test
	// sets before the first Read.
	idle   time.Duration
	idleMu sync.Mutex // guards idleTimer, idleStopped and idleWait
	// idleWait is the idle timer's period: idle after the read loop took
	// the socket back (0 until the first Read), doubled, up to
	// readIdleMax, each time the timer finds that Reads came.
	idleWait time.Duration
	// idleTimer wakes the read loop once Reads have stopped wanting the
	// socket; made on first use. idleStopped is set when the read loop
	// has ended: the timer is stopped and never set again.
	idleTimer   *time.Timer
	idleStopped bool
	// resting is set when the read loop's goroutine has returned, with
	// nothing to do while Reads decode, rather than wait and keep its
	// stack (decodeloop.go); wakeLoop starts it again.
	restMu  sync.Mutex // guards resting
	resting bool
}

// driver says who holds the token and waits for the socket.
type driver uint8

const (
	driverLoop driver = iota // the read loop
	driverRead               // a Read
)

// inboxSize is the size of the inbox; splitInboxSize its size for a
// split read (readSplit), which may have to keep a whole payload in it.
const (
	inboxSize      = 16 << 10
	splitInboxSize = 64 << 10
)

// aLongTimeAgo is a read deadline in the past: it interrupts a wait.
var aLongTimeAgo = time.Unix(1, 0)

// errKicked is what waitRead returns when it was interrupted, or did not
// wait because stop said so.
var errKicked = errors.New("wsstream: wait interrupted")

// errWouldWait is what waitRead returns, with tryNoWait, when the socket
// has nothing to read.
var errWouldWait = errors.New("wsstream: nothing to read")

// init prepares the input of a transport over nc, a client's or a
// server's. Without a socket of its own (TLS, a wrapped connection) the
// input stays unused: raw is nil and the transport reads nc.
func (in *input) init(nc net.Conn, readAt *atomic.Int64, client bool) {
	in.nc, in.readAt, in.client = nc, readAt, client
	raw := socketOf(nc)
	if raw == nil {
		return
	}
	in.raw = raw
	in.idle = readIdle
	in.tryFn = in.tryRead
	in.head = client
}

// startFrames says that the handshake is over. When frames is set, the
// frames begin with the next byte from the socket (or the inbox), nothing
// of them is in anybody's buffer, and they may be decoded from then on;
// otherwise what comes is not frames (TLS records), and is handed on as it
// comes. It is called before the Conn's read loop starts.
func (in *input) startFrames(frames bool) {
	if in.raw == nil {
		return
	}
	in.acquire()
	in.head, in.frames = false, frames
	in.release()
	in.decode = frames
}

// acquire takes the token, waiting for it as long as it takes.
func (in *input) acquire() {
	for {
		freed, ok := in.token.take()
		if ok {
			return
		}
		<-freed
	}
}

// release gives the token up, and the inbox back to its pool when empty.
func (in *input) release() {
	if in.n == 0 && in.bufp != nil {
		putBuf(in.bufp)
		in.bufp, in.start = nil, 0
	}
	in.token.release()
}

// read is how coder/websocket and net/http read the transport.
func (in *input) read(p []byte) (int, error) {
	in.acquire()
	defer in.release()
	switch {
	case in.head:
		return in.readHead(p)
	case !in.frames:
		if in.n > 0 {
			return in.take(p), nil
		}
		return in.readSocket(p)
	case in.payloadLeft > 0:
		// A frame the decoder began, and coder/websocket reads now:
		// Close began (which discards data) or the socket failed. The
		// frame's rest is skipped, so that coder starts at a header.
		if err := in.skipPayload(); err != nil {
			return 0, err
		}
	}
	if in.frameLeft == 0 {
		// At a frame header: have it whole first, to know the frame's size.
		for {
			h, ok := parseHead(in.pending())
			if ok {
				in.frameLeft = int64(h.size) + min(max(h.payload, 0), math.MaxInt64-int64(h.size))
				break
			}
			if err := in.fill(); err != nil {
				if in.n == 0 {
					return 0, err
				}
				in.frameLeft = int64(in.n) // the start of a header, then the error
				break
			}
		}
	}
	if in.n == 0 {
		// Nothing buffered: read straight into p, within the frame.
		n, err := in.readSocket(p[:min(int64(len(p)), in.frameLeft)])
		in.frameLeft -= int64(n)
		return n, err
	}
	n := in.take(p[:min(int64(len(p)), in.frameLeft)])
	in.frameLeft -= int64(n)
	return n, nil
}

// skipPayload reads past the rest of the frame being decoded.
func (in *input) skipPayload() error {
	for in.payloadLeft > 0 {
		if in.n == 0 {
			if err := in.fill(); err != nil {
				return err
			}
		}
		k := int(min(int64(in.n), in.payloadLeft))
		in.consume(k)
		in.payloadLeft -= int64(k)
	}
	return nil
}

// readHead hands on the HTTP response, never past the end of a head (the
// empty line), so that the frames after it stay in the inbox.
func (in *input) readHead(p []byte) (int, error) {
	if in.n == 0 {
		if err := in.fill(); err != nil {
			return 0, err
		}
	}
	b := in.pending()
	k := min(len(p), len(b))
	for i, ch := range b[:k] {
		switch {
		case ch == '\n' && in.headState > 0:
			in.headState, k = 0, i+1
		case ch == '\n':
			in.headState = 1
		case ch == '\r' && in.headState == 1:
			in.headState = 2
		default:
			in.headState = 0
		}
		if k == i+1 {
			break
		}
	}
	return in.take(p[:k]), nil
}
