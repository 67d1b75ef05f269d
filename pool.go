package wsstream

import (
	"sync"
	"sync/atomic"
)

// sizedPool is the pool of *[]byte buffers of one capacity.
type sizedPool struct {
	size int
	pool sync.Pool
}

// pools holds the pool of each buffer size in use, in the order the sizes
// were first asked for. A process uses a handful (the inbox, the output's
// buffers, and the message and buffer sizes of its Options), so a look-up
// is a scan of a few atomic loads, with no hashing and no lock. Sizes past
// the table's end share the pools in morePools.
var (
	pools     [8]atomic.Pointer[sizedPool]
	poolsMu   sync.Mutex // guards adding to pools
	morePools sync.Map   // size -> *sync.Pool, once pools is full
)

// poolFor returns the pool of buffers of capacity size.
func poolFor(size int) *sync.Pool {
	for i := range pools {
		p := pools[i].Load()
		if p == nil {
			break
		}
		if p.size == size {
			return &p.pool
		}
	}
	poolsMu.Lock()
	defer poolsMu.Unlock()
	for i := range pools {
		p := pools[i].Load()
		if p == nil {
			p = &sizedPool{size: size}
			pools[i].Store(p)
			return &p.pool
		}
		if p.size == size {
			return &p.pool
		}
	}
	p, _ := morePools.LoadOrStore(size, new(sync.Pool))
	return p.(*sync.Pool)
}

// getBuf returns a buffer of length size from the pool for that size.
func getBuf(size int) *[]byte {
	if b, ok := poolFor(size).Get().(*[]byte); ok {
		*b = (*b)[:size]
		return b
	}
	b := make([]byte, size)
	return &b
}

// putBuf returns b to the pool for its capacity.
func putBuf(b *[]byte) {
	poolFor(cap(*b)).Put(b)
}
