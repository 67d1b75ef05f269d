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
func loopMayDrive(in *input) {
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
	notify(in.pumpCh)
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
	notify(in.pumpCh)
}

// decodeTurn is the read loop's turn at the socket. It returns nil when it
// is coder/websocket's turn, or errAborted. Once Close began, it finishes
// the frame being decoded (the receive buffer discards it) and leaves the
// rest, the peer's close frame among it, to coder/websocket.
func (c *Conn) decodeTurn() error {
	in := c.direct()
	if in == nil {
		return nil
	}
	stop := func() (time.Time, bool) {
		if isClosed(c.closingCh) {
			return time.Time{}, in.payloadLeft == 0
		}
		return time.Time{}, in.readers.Load() > 0 || in.coderTurn.Load()
	}
	for {
		for !in.coderTurn.Load() && !isClosed(c.closingCh) && !loopMayRead(in) {
			select {
			case <-in.pumpCh:
			case <-c.closingCh:
			case <-c.abortedCh:
				return errAborted
			}
		}
		if in.coderTurn.Load() {
			return nil
		}
		select {
		case in.tokenCh <- struct{}{}:
		case <-c.abortedCh:
			return errAborted
		}
		err := c.loopDecode(in, stop)
		in.release()
		if err != nil || in.coderTurn.Load() {
			return err
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
		_, turn := c.decode(in, c.abortedCh)
		if turn || isClosed(c.closingCh) && in.payloadLeft == 0 {
			in.coderTurn.Store(true)
			return nil
		}
		if isClosed(c.abortedCh) {
			return errAborted
		}
		if _, err := c.readSocket(in, driverLoop, c.abortedCh, stop); err != nil {
			if err == errKicked {
				if in.readers.Load() > 0 && !isClosed(c.closingCh) {
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
// message: decoding resumes, unless the Conn is closing. The read loop
// decodes first: a Read that found it coder's turn waits for the read
// loop, not for the socket (a Read that comes later takes the socket).
func (c *Conn) coderMessageDone() {
	in := c.direct()
	if in == nil || isClosed(c.closingCh) {
		return
	}
	in.acquire()
	if in.frameLeft == 0 && in.payloadLeft == 0 {
		in.loopMay.Store(true)
		in.coderTurn.Store(false)
	}
	in.release()
}
