//go:build !js

package wsstream

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Waiting for the socket outside coder/websocket, and interrupting the
// wait: the decoders' side of the input (input.go).

// waitRead reads once from the socket into p, or into the inbox when p is
// nil (which then holds no buffer while it waits), waiting for the socket
// to be readable, as who. It does not wait, and returns errKicked, when stop
// (called under kickMu) says so; a kick ends the wait with errKicked too.
// at, when not zero, is a deadline for the wait: passing it also returns
// errKicked. The caller holds the token.
func (in *input) waitRead(p []byte, who driver, stop func() (at time.Time, stop bool)) (int, error) {
	in.kickMu.Lock()
	if in.closed {
		in.kickMu.Unlock()
		return 0, net.ErrClosed
	}
	in.waiting, in.waiter = true, who
	if who == driverLoop {
		in.loopWaiting.Store(true)
	}
	at, stopped := stop()
	if stopped {
		in.waiting = false
		in.loopWaiting.Store(false)
		in.kickMu.Unlock()
		return 0, errKicked
	}
	if !at.IsZero() {
		in.nc.SetReadDeadline(at)
		in.deadlineSet = true
	}
	in.kickMu.Unlock()

	in.tryBuf, in.tryInbox = p, p == nil
	err := in.raw.Read(in.tryFn)
	n := in.tryN
	if err == nil {
		err = in.tryErr
	}
	in.tryBuf, in.tryN, in.tryErr, in.tryInbox, in.trySplit = nil, 0, nil, false, 0

	in.kickMu.Lock()
	in.waiting = false
	in.loopWaiting.Store(false)
	if in.deadlineSet && !in.closed {
		in.nc.SetReadDeadline(time.Time{})
		in.deadlineSet = false
	}
	in.kickMu.Unlock()

	if n > 0 {
		in.readAt.Store(time.Now().UnixNano())
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = errKicked
	}
	return n, err
}

// tryRead is the raw read: one attempt, and false to wait for the socket.
// Reading into the inbox, it adds what it read to it; it takes the inbox's
// buffer from its pool for the attempt, and gives it back before a wait.
// A split read (trySplit) fills the inbox's trySplit bytes first and
// counts in tryN only what went to tryBuf.
func (in *input) tryRead(fd uintptr) bool {
	for {
		p := in.tryBuf
		if in.tryInbox {
			p = in.space()
		}
		var n int
		var err error
		if in.trySplit > 0 {
			n, err = in.readSplitOnce(fd, p)
		} else {
			n, err = rawRead(fd, p)
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if (in.tryInbox || in.trySplit > 0) && in.n == 0 {
				putBuf(in.bufp)
				in.bufp, in.start = nil, 0
			}
			if in.tryNoWait {
				in.tryN, in.tryErr = 0, errWouldWait
				return true
			}
			return false
		case err != nil:
			in.tryN, in.tryErr = 0, err
		case n == 0:
			in.tryN, in.tryErr = 0, io.EOF
		default:
			in.tryN, in.tryErr = n, nil
			if in.tryInbox {
				in.n += n
			}
			if in.trySplit > 0 {
				head := min(n, int(in.trySplit))
				in.n += head
				in.tryN = n - head
			}
		}
		return true
	}
}

// close stops every wait for the socket, for good: the transport closes.
func (in *input) close() {
	if in.raw == nil {
		return
	}
	in.kickMu.Lock()
	in.closed = true
	if in.waiting {
		in.nc.SetReadDeadline(aLongTimeAgo)
	}
	in.kickMu.Unlock()
}

// kick interrupts the holder's wait for the socket, if it waits and is
// one of whom.
func (in *input) kick(whom ...driver) {
	in.kickMu.Lock()
	defer in.kickMu.Unlock()
	if !in.waiting {
		return
	}
	for _, w := range whom {
		if w == in.waiter {
			in.nc.SetReadDeadline(aLongTimeAgo)
			in.deadlineSet = true
			return
		}
	}
}

// readSplitOnce is a split read's system call (see trySplit): trySplit
// bytes into the inbox, then p. A function of its own, so that tryRead's
// frame, on the stack of every wait for the socket (the read loop's
// among them, which waits within a fresh goroutine's 2 KiB), stays small.
//
//go:noinline
func (in *input) readSplitOnce(fd uintptr, p []byte) (int, error) {
	return rawReadv(fd, in.spaceOf(splitInboxSize)[:in.trySplit], p)
}
