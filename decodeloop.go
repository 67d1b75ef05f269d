//go:build !js

package wsstream

import "time"

// The read loop's side of reading without a hand-off (readdirect.go):
// when it decodes, when it steps aside for Reads, and when it hands the
// frames to coder/websocket and takes them back.

// loopMayDrive is the idle timer's callback. When no Read wanted the
// socket during a whole period, it wakes the read loop, which takes the
// socket back, and the next period is readIdle again. Otherwise Reads
// come and go: it doubles the period, up to readIdleMax, and waits
// another (or lets the Read that holds on set it when it leaves). Counting
// rounds of Reads, rather than reading the clock or setting the timer
// again in every Read, keeps both out of Read (a timer set later wakes
// the runtime's network poller); the longer period keeps the timer's
// firing, whose goroutine gets in the way of the Reads' round trips, rare
// while they go on. The read loop so takes the socket back readIdle to
// 2 × readIdleMax after the last Read.
func (c *Conn) loopMayDrive(in *input) {
	in.idleArmed.Store(false)
	busy := in.readers.Load() > 0
	if r := in.readRounds.Load(); r != in.idleRounds.Swap(r) || busy {
		in.idleMu.Lock()
		in.idleWait = min(2*in.idleWait, max(readIdleMax, in.idle))
		if !busy && !in.idleStopped && in.idleArmed.CompareAndSwap(false, true) {
			in.idleTimer.Reset(in.idleWait)
		}
		in.idleMu.Unlock()
		return // when busy, the last Read out sets the timer again
	}
	in.idleMu.Lock()
	in.idleWait = in.idle
	in.idleMu.Unlock()
	in.loopMay.Store(true)
	c.wakeLoop(in)
}

// loopMayRead reports whether the read loop may take the socket: no Read
// wants it, nor has for a period of readIdle.
func loopMayRead(in *input) bool {
	return in.readers.Load() == 0 && in.loopMay.Load()
}

// coderTurn hands the frames to coder/websocket: the read loop reads the
// next message through it.
func (c *Conn) coderTurn(in *input) {
	in.coderTurn.Store(true)
	c.wakeLoop(in)
}

// rest is the read loop with nothing to do: a Read has the socket, or had
// it less than a period ago, no frame is coder/websocket's, and the Conn
// is not closing. It reports whether the read loop's goroutine is to
// return (its stack, 4 KiB or more once it has read through coder, is
// most of what it costs) rather than wait; wakeLoop starts it again.
// Everything that gives the read loop something to do sets it first and
// then calls wakeLoop, and both look at resting under restMu, so the read
// loop never rests past a reason to run.
func (c *Conn) rest(in *input) bool {
	in.restMu.Lock()
	defer in.restMu.Unlock()
	if in.coderTurn.Load() || c.closing.isSet() || c.aborted.isSet() || loopMayRead(in) {
		return false
	}
	in.resting = true
	return true
}

// wakeLoop starts the read loop again if it rests: the frames are coder's,
// the read loop may take the socket, or the Conn is closing or aborted.
func (c *Conn) wakeLoop(in *input) {
	in.restMu.Lock()
	resting := in.resting
	in.resting = false
	in.restMu.Unlock()
	if resting {
		go c.readLoop()
	}
}

// loopStarts is the read loop's goroutine starting: its stack is 2 KiB,
// and stays so while it only waits for the socket (readLoop's own frame is
// kept small for that). Once it has read, its stack has grown (4 KiB
// once data was decoded), and a parked goroutine's stack never shrinks
// back, so the first time it would wait again it hands over to a fresh
// goroutine instead (errRespawn): an idle Conn nobody reads keeps 2 KiB of
// stack, not 4, for one goroutine start per burst that it read.
func (c *Conn) loopStarts() {
	if in := c.direct(); in != nil {
		in.loopFresh = true
	}
}

// firstRest is how long a Conn's read loop rests when it starts.
const firstRest = readIdle

// startResting begins the Conn's life as if a Read had just left the
// socket: the read loop rests until the first period ends (endFirstPeriod,
// firstRest later), or Close, an abort or coder's turn wakes it, as they
// wake a read loop that rests. The application's first Read, which most
// often comes at once, so finds the socket free: were the read loop
// waiting for it, the Read would have to interrupt that wait and then
// wait for the token, in a select whose channels (Close's, the end's, the
// deadline's, the token's) would be made for it and kept for the Conn's
// life. Frames that come while nobody reads, pings among them, wait up to
// firstRest for the read loop. It reports false, and does nothing, for a
// Conn whose Reads do not decode: its read loop starts at once.
func (c *Conn) startResting() bool {
	in := c.direct()
	if in == nil {
		return false
	}
	in.restMu.Lock()
	in.resting = true
	in.restMu.Unlock()
	return true
}

// endFirstPeriod ends the rest a Conn starts with: unless a Read came, the
// read loop takes the socket. A Read that came arms the idle timer when it
// leaves, which takes it from there (readDone).
func (c *Conn) endFirstPeriod() {
	in := c.direct()
	if in.readers.Load() > 0 || in.readRounds.Load() > 0 {
		return
	}
	in.loopMay.Store(true)
	c.wakeLoop(in)
}

// wakeResting starts the read loop again if it rests: the Conn is closing
// or aborted, and the read loop must run to end it.
func (c *Conn) wakeResting() {
	if in := c.direct(); in != nil {
		c.wakeLoop(in)
	}
}

// decodeTurn is the read loop's turn at the socket. It returns nil when it
// is coder/websocket's turn, errResting when the read loop is to return
// while Reads decode (see rest), or errAborted. Once Close began, it
// finishes the frame being decoded (the receive buffer discards it) and
// leaves the rest, the peer's close frame among it, to coder/websocket.
func (c *Conn) decodeTurn() error {
	in := c.direct()
	if in == nil {
		return nil
	}
	stop := func() (time.Time, bool) {
		if c.closing.isSet() {
			return time.Time{}, in.payloadLeft == 0
		}
		return time.Time{}, in.readers.Load() > 0 || in.coderTurn.Load()
	}
	for {
		urgent := in.coderTurn.Load() || c.closing.isSet()
		if !urgent && !loopMayRead(in) && c.rest(in) {
			return errResting
		}
		if in.coderTurn.Load() {
			return nil
		}
		if took, err := c.loopTakeToken(in, urgent); err != nil {
			return err
		} else if !took {
			continue // a Read took the socket first: rest
		}
		err := c.loopDecode(in, stop)
		in.release()
		if err != nil || in.coderTurn.Load() {
			return err
		}
	}
}

// loopTakeToken takes the token for the read loop. Unless urgent, it gives
// up (false) when a Read holds the token, so that the read loop rests
// rather than wait for it; errAborted when the Conn was aborted. A
// function of its own, so that decodeTurn's frame, below which the read
// loop waits for the socket, stays small (see loopStarts).
//
//go:noinline
func (c *Conn) loopTakeToken(in *input, urgent bool) (bool, error) {
	if in.token.tryTake() {
		return true, nil
	}
	if c.aborted.isSet() {
		return false, errAborted
	}
	if !urgent && in.readers.Load() > 0 {
		return false, nil
	}
	for {
		freed, ok := in.token.take()
		if ok {
			return true, nil
		}
		select {
		case <-freed:
		case <-c.aborted.wait():
			return false, errAborted
		}
	}
}

// loopDecode decodes as the read loop, holding the token, until a Read
// wants the socket (it returns nil) or it is coder/websocket's turn.
func (c *Conn) loopDecode(in *input, stop func() (time.Time, bool)) error {
	for {
		if in.coderTurn.Load() {
			// A Read gave the frames to coder/websocket while the read
			// loop waited for the token: a wait would stop at once.
			return nil
		}
		_, got, turn := c.decode(in, &c.aborted, nil)
		if got {
			in.loopFresh = false // its stack has grown decoding
		}
		if turn || c.closing.isSet() && in.payloadLeft == 0 {
			in.coderTurn.Store(true)
			return nil
		}
		if c.aborted.isSet() {
			return errAborted
		}
		in.tryNoWait = !in.loopFresh
		_, _, err := c.readSocket(in, driverLoop, &c.aborted, stop, nil)
		in.tryNoWait = false
		if err == errWouldWait {
			// Nothing to read, and this goroutine's stack has grown
			// reading: a fresh goroutine waits instead (loopStarts).
			return errRespawn
		}
		if err == nil {
			in.loopFresh = false // it read
		}
		if err != nil {
			if err == errKicked {
				if in.readers.Load() > 0 && !c.closing.isSet() {
					return nil
				}
				continue
			}
			in.coderTurn.Store(true)
			return nil
		}
	}
}

// endDirect stops decoding for good: the read loop has stopped.
func (c *Conn) endDirect() {
	in := c.direct()
	if in == nil {
		return
	}
	in.coderTurn.Store(true)
	in.idleMu.Lock()
	in.idleStopped = true
	if in.idleTimer != nil {
		in.idleTimer.Stop()
	}
	in.idleMu.Unlock()
}

// coderMessageDone is the read loop after coder/websocket read a whole
// message: decoding resumes, unless the Conn is closing. A Read that found
// it coder's turn waits for the read loop, not for the socket: it is woken
// to take the socket (and the read loop rests), as a Read that comes later
// would; until it does, the read loop decodes.
func (c *Conn) coderMessageDone() {
	in := c.direct()
	if in == nil || c.closing.isSet() {
		return
	}
	in.acquire()
	in.loopFresh = false // coder/websocket's calls grew its stack
	resumed := in.frameLeft == 0 && in.payloadLeft == 0
	if resumed {
		in.loopMay.Store(true)
		in.coderTurn.Store(false)
	}
	in.release()
	if resumed {
		c.recv.readWake.notify()
	}
}
