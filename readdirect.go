//go:build !js

package wsstream

import "time"

// Reading without a hand-off. A Read that finds nothing buffered decodes
// the frames itself, in its own goroutine, when the connection has a
// socket of its own (see input): it waits for the socket outside
// coder/websocket, which never blocks in a call made from Read, and copies
// the payload of whole binary frames into the receive buffer. Everything
// else (control frames, text, fragments, anything unexpected, a failing
// socket) is coder/websocket's turn: the read loop reads it through coder
// as before, one message, and decoding resumes after it.
//
// The read loop still owns the connection whenever nobody reads: it
// decodes in the same way once no Read has for a period of the idle timer
// (10 ms to 160 ms after the last: see loopMayDrive; and 10 ms after the
// Conn was made, until when it rests: startResting), so pings are
// answered and the close handshake runs while the application does
// something else. A Read that wants the socket while the read loop waits
// on it interrupts that wait (input.kick).

// readIdle is the first period of the idle timer: the read loop takes the
// socket back after a whole period without Reads. While Reads go on, the
// period doubles up to readIdleMax.
const (
	readIdle    = 10 * time.Millisecond
	readIdleMax = 80 * time.Millisecond
)

// when returns the deadline, zero when none, and whether it has passed
// (its channel is closed): a decoding Read's wait for the socket carries
// it.
func (d *deadline) when() (at time.Time, passed bool) {
	d.mu.Lock()
	at, ch := d.at, d.cancelCh
	d.mu.Unlock()
	return at, isClosed(ch)
}

// readable reports whether take would return bytes or the end of the
// stream (recvbuf.go): a decoding Read looks before it waits.
func (b *recvBuffer) readable() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n > 0 || b.eof
}

// direct returns the Conn's input when frames may be decoded, or nil.
func (c *Conn) direct() *input {
	if c.tr == nil || !c.tr.in.decode {
		return nil
	}
	return &c.tr.in
}

// readDirect is a Read's turn at the socket, taken when nothing is
// buffered. It returns the count of payload bytes it put straight into p
// (the receive buffer being empty, they need not pass through it), or
// reports whether Read should look at the buffer again (bytes or the end
// of the stream arrived, or its deadline, Close or the end came); 0, false
// means it is coder/websocket's turn (or the read deadline is due), and
// Read waits for the read loop as it always did. ready is as for
// waitReadable.
//
// Its frame, and those of the functions it calls, are on the stack of the
// application's goroutine while it waits: they are kept small (the selects
// in takeSocket, no defers), so that a goroutine serving a Conn stays
// within a smaller stack.
func (c *Conn) readDirect(p []byte, ready <-chan struct{}) (n int, again bool) {
	in := c.direct()
	if in == nil || in.coderTurn.Load() {
		return 0, false
	}
	in.readers.Add(1)
	again, took := c.takeSocket(in, ready)
	if took {
		n, again = c.readFrames(in, p)
		in.release()
	}
	c.readDone(in)
	return n, again
}

// takeSocket takes the token for a Read, which readers counts. It reports
// whether it did; when it did not, Read is to look at the buffer again
// (the read loop made bytes readable, or the deadline, Close or the end
// came, or the receive buffer's readable channel was not made when Read
// looked at the buffer: see waitReadable).
//
//go:noinline
func (c *Conn) takeSocket(in *input, ready <-chan struct{}) (again, took bool) {
	if in.loopMay.Load() {
		in.loopMay.Store(false)
	}
	if in.loopWaiting.Load() {
		in.kick(driverLoop) // see waitRead
	}
	freed, ok := in.token.take()
	if ok {
		return false, true
	}
	if ready == nil {
		c.recv.readWake.ensure()
		return true, false
	}
	select {
	case <-freed:
		if in.token.tryTake() {
			return false, true
		}
		// Another came first, and will release it: the caller looks
		// again, and comes back here.
	case <-ready:
	case <-c.readDeadline.wait():
	case <-c.closing.wait():
	case <-c.end.wait():
	}
	return true, false // the caller takes
}

// readFrames decodes frames for a Read that holds the token, into p or
// the receive buffer; see readDirect.
func (c *Conn) readFrames(in *input, p []byte) (int, bool) {
	if c.recv.readable() {
		// The read loop made bytes readable between this Read's look at
		// the buffer and the token: take them rather than wait.
		return 0, true
	}
	// From here the receive buffer is empty, and only this Read, which
	// holds the token, can fill it: bytes put in p come in order.
	stop := func() (time.Time, bool) {
		at, passed := c.readDeadline.when()
		return at, passed || in.coderTurn.Load() || c.closing.isSet()
	}
	for {
		if in.coderTurn.Load() || c.closing.isSet() {
			return 0, !in.coderTurn.Load()
		}
		n, got, turn := c.decode(in, nil, p)
		if n > 0 {
			return n, false
		}
		if got {
			return 0, true
		}
		if turn {
			c.coderTurn(in)
			return 0, false
		}
		n, got, err := c.readSocket(in, driverRead, nil, stop, p)
		switch {
		case n > 0:
			if err != nil && err != errKicked {
				c.coderTurn(in)
			}
			return n, false
		case err == errKicked:
			if at, _ := c.readDeadline.when(); !at.IsZero() && !time.Now().Before(at) {
				// The socket's deadline passed a moment before the
				// Conn's: wait for the latter the old way rather than
				// spin on the socket.
				return 0, false
			}
			return 0, true
		case err != nil:
			c.coderTurn(in)
			return 0, got
		case got:
			return 0, true
		}
	}
}

// readDone is a Read leaving readDirect: the last one out counts a round
// of Reads and makes sure the idle timer runs, and wakes the read loop if
// it may take the socket already (it was given back to it after coder's
// turn while this Read held on).
func (c *Conn) readDone(in *input) {
	if in.readers.Add(-1) != 0 {
		return
	}
	if in.loopMay.Load() {
		c.wakeLoop(in)
	}
	in.readRounds.Add(1)
	if in.idleArmed.CompareAndSwap(false, true) {
		in.idleMu.Lock()
		switch {
		case in.idleStopped:
		case in.idleTimer == nil:
			in.idleWait = in.idle
			in.idleTimer = time.AfterFunc(in.idleWait, func() { c.loopMayDrive(in) })
		default:
			in.idleTimer.Reset(in.idleWait)
		}
		in.idleMu.Unlock()
	}
}

// readSocket waits for the socket and reads it once: in the middle of a
// frame's payload, straight into p (direct counts those bytes) when p,
// a Read's buffer, takes the rest of the payload or as much as the inbox
// would, and otherwise into the receive buffer (got reports that it did
// so, waiting for room there until quit is set, or not at all when quit
// is nil); into the inbox at a frame's start, or split between the inbox
// and p (readSplit).
func (c *Conn) readSocket(in *input, who driver, quit *latch, stop func() (time.Time, bool), p []byte) (direct int, got bool, err error) {
	if in.payloadLeft > 0 && in.n == 0 {
		if int64(len(p)) >= in.payloadLeft || len(p) >= inboxSize {
			p = p[:min(int64(len(p)), in.payloadLeft)]
			n, err := in.waitRead(p, who, stop)
			c.payloadInto(in, p[:n])
			return n, false, err
		}
		region := c.recv.reserve(quit)
		if region == nil {
			return 0, true, nil // as in decode
		}
		region = region[:min(int64(len(region)), in.payloadLeft)]
		n, err := in.waitRead(region, who, stop)
		c.payload(in, region[:n])
		return 0, n > 0, err
	}
	if in.full() {
		// The inbox is full and the receive buffer too: there is
		// something to read, and nothing to wait for.
		return 0, false, errKicked
	}
	if in.n == 0 && c.maySplit(in, p) {
		return c.readSplit(in, who, stop, p)
	}
	_, err = in.waitRead(nil, who, stop)
	return 0, false, err
}

// interruptRead makes a wait for the socket look again at its conditions:
// the read deadline moved, or Close began.
func (c *Conn) interruptRead() {
	if in := c.direct(); in != nil {
		in.kick(driverRead, driverLoop)
	}
}
