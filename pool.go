package wsstream

import "sync"

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
