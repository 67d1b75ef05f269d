//go:build !js

package wsstream

import (
	"bufio"
	"time"
)

// The inbox: bytes read from the socket that nobody has taken yet. Its
// buffer comes from a pool and goes back whenever it is empty. Every
// function here is called by the token's holder, but preload, which runs
// before anybody reads.

// pending returns the inbox's unread bytes.
func (in *input) pending() []byte {
	if in.bufp == nil {
		return nil
	}
	return (*in.bufp)[in.start : in.start+in.n]
}

// take moves unread bytes of the inbox into p.
func (in *input) take(p []byte) int {
	k := copy(p, in.pending())
	in.consume(k)
	return k
}

// consume drops the first k unread bytes of the inbox.
func (in *input) consume(k int) {
	in.start += k
	in.n -= k
	if in.n == 0 {
		in.start = 0
	}
}

// space returns the inbox's free room after its unread bytes, moving them
// to the front when they reach its end.
func (in *input) space() []byte {
	return in.spaceOf(inboxSize)
}

// spaceOf is space, with an inbox of size bytes taken from the pool when
// it has no buffer, or when it is empty and its buffer is smaller.
func (in *input) spaceOf(size int) []byte {
	if in.bufp != nil && in.n == 0 && len(*in.bufp) < size {
		putBuf(in.bufp)
		in.bufp, in.start = nil, 0
	}
	if in.bufp == nil {
		in.bufp = getBuf(size)
	}
	if in.start > 0 && in.start+in.n == len(*in.bufp) {
		copy(*in.bufp, in.pending())
		in.start = 0
	}
	return (*in.bufp)[in.start+in.n:]
}

// full reports whether the inbox has no room left.
func (in *input) full() bool {
	return in.bufp != nil && in.n == len(*in.bufp)
}

// fill reads once from the socket into the inbox, blocking.
func (in *input) fill() error {
	n, err := in.readSocket(in.space())
	in.n += n
	return err
}

// readSocket reads once from the socket, blocking.
func (in *input) readSocket(p []byte) (int, error) {
	n, err := in.nc.Read(p)
	if n > 0 {
		in.readAt.Store(time.Now().UnixNano())
	}
	return n, err
}

// preload moves the n bytes buffered in br into the inbox, before anybody
// reads: the transport then hands them on first. It reports false, and
// leaves br as it is, when the transport has no input of its own (coder
// must read br itself then; nothing is decoded on such a transport).
func (in *input) preload(n int, br *bufio.Reader) bool {
	if in.raw == nil {
		return false
	}
	if n > inboxSize {
		in.bufp = getBuf(n) // more than net/http's 4 KiB reader holds
	}
	b, _ := br.Peek(n)
	in.n = copy(in.space(), b)
	br.Discard(n)
	return true
}
