package wsstream

import "sync"

// recvBuffer is the receive half of a Conn: a ring buffer that the read
// loop fills and Read drains. The read loop reads from the socket into
// the free region returned by reserve without holding the lock; filling
// marks that region as the read loop's until commit.
//
// The ring is taken from the buffer pool when data arrives and returned
// when it is empty and not being filled, so an idle Conn holds none.
type recvBuffer struct {
	size int // capacity of the ring; immutable

	mu      sync.Mutex // guards every field below
	bufp    *[]byte    // the ring's pool handle; nil with buf
	buf     []byte     // nil while empty and not being filled
	start   int        // offset of the first unread byte
	n       int        // unread bytes
	filling bool       // the read loop is reading into buf's free region
	// discarding is set once nobody will read again (a local Close):
	// reserve hands out the whole ring and commit drops what lands in it,
	// so the read loop keeps reading until the peer's close frame.
	discarding bool
	// eof is set when the peer closed its write side: once the buffer is
	// drained, Read returns io.EOF.
	eof bool

	// readWake tells a waiting Read that data arrived, or that it may
	// decode again (coderMessageDone). Made by the first Read that would
	// wait, which looks again first (see Read, signal.ensure).
	readWake signal
	// space tells a waiting reserve that Read freed room or that the
	// buffer now discards (made by the first reserve that waits).
	space signal
}

func newRecvBuffer(size int) *recvBuffer {
	return &recvBuffer{size: size}
}

// take moves buffered bytes into p and reports how many, whether more
// remain, and whether the peer's stream has ended (closeRead was called
// before this take, so every byte of the stream was in the buffer). It
// never blocks.
func (b *recvBuffer) take(p []byte) (n int, more, eof bool) {
	b.mu.Lock()
	for n < len(p) && b.n > 0 {
		end := min(b.start+b.n, len(b.buf))
		k := copy(p[n:], b.buf[b.start:end])
		n += k
		b.start += k
		b.n -= k
		if b.start == len(b.buf) {
			b.start = 0
		}
	}
	more, eof = b.n > 0, b.eof
	b.releaseLocked()
	b.mu.Unlock()
	if n > 0 {
		b.space.notify()
	}
	return n, more, eof
}

// reserve returns the region the read loop reads into next, waiting while
// the ring is full. It returns nil when stop is set while it waits, and
// at once when stop is nil (the caller does not wait).
func (b *recvBuffer) reserve(stop *latch) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if b.discarding {
			b.start, b.n = 0, 0
		}
		if b.bufp == nil {
			b.bufp = getBuf(b.size)
			b.buf = *b.bufp
			b.start = 0
		}
		if b.n < len(b.buf) {
			if b.n == 0 {
				b.start = 0
			}
			w, end := b.start+b.n, len(b.buf)
			if w >= len(b.buf) {
				w -= len(b.buf)
				end = b.start
			}
			b.filling = true
			return b.buf[w:end]
		}
		if stop == nil {
			return nil
		}
		ch := b.space.wait()
		b.mu.Unlock()
		select {
		case <-ch:
		case <-stop.wait():
			b.mu.Lock()
			return nil
		}
		b.mu.Lock()
	}
}

// commit makes n bytes, read into the region returned by reserve,
// readable. It reports whether it did (false when n is 0 or the buffer
// discards).
func (b *recvBuffer) commit(n int) bool {
	b.mu.Lock()
	b.filling = false
	if b.discarding {
		n, b.n = 0, 0
	}
	b.n += n
	b.releaseLocked()
	b.mu.Unlock()
	if n > 0 {
		b.readWake.notify()
	}
	return n > 0
}

// discard drops what is buffered and everything committed from now on,
// and wakes a reserve waiting for room.
func (b *recvBuffer) discard() {
	b.mu.Lock()
	b.discarding = true
	b.n = 0
	b.releaseLocked()
	b.mu.Unlock()
	b.space.notify()
}

// closeRead marks the end of the peer's stream, after every byte it
// sent was committed, and wakes a waiting Read.
func (b *recvBuffer) closeRead() {
	b.mu.Lock()
	b.eof = true
	b.mu.Unlock()
	b.readWake.notify()
}

// atEOF reports whether closeRead was called.
func (b *recvBuffer) atEOF() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof
}

// releaseLocked returns the ring to its pool once it is empty and not
// being filled. b.mu must be held.
func (b *recvBuffer) releaseLocked() {
	if b.n == 0 && !b.filling && b.bufp != nil {
		putBuf(b.bufp)
		b.bufp, b.buf = nil, nil
		b.start = 0
	}
}
