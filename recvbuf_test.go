//go:build !js

package wsstream

import (
	"bytes"
	"testing"
)

// fill reserves, writes and commits p into b, as the read loop does, in
// as many regions as it takes.
func fill(t *testing.T, b *recvBuffer, p []byte) {
	t.Helper()
	for len(p) > 0 {
		region := b.reserve(nil)
		n := copy(region, p)
		b.commit(n)
		p = p[n:]
	}
}

func TestRecvBufferWrapsAround(t *testing.T) {
	for _, tt := range []struct {
		name       string
		size       int
		first, cut int // bytes committed, then taken, before the wrapping write
		second     int
	}{
		{"no wrap", 8, 3, 0, 4},
		{"exact fit", 8, 8, 8, 8},
		{"wrap after partial take", 8, 6, 4, 5},
		{"wrap to the byte", 8, 7, 7, 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newRecvBuffer(tt.size)
			var want []byte
			for i := range tt.first {
				want = append(want, byte(i))
			}
			fill(t, b, want)
			got := make([]byte, tt.cut)
			if n, _, _ := b.take(got); n != tt.cut {
				t.Fatalf("take: %d bytes, want %d", n, tt.cut)
			}
			if !bytes.Equal(got, want[:tt.cut]) {
				t.Fatalf("took %v, want %v", got, want[:tt.cut])
			}
			want = want[tt.cut:]
			more := bytes.Repeat([]byte{0xee}, tt.second)
			// The second write fits in the free space, which may wrap.
			fill(t, b, more)
			want = append(want, more...)
			all := make([]byte, tt.size*2)
			n, left, _ := b.take(all)
			if left || !bytes.Equal(all[:n], want) {
				t.Fatalf("took %v (more: %v), want %v", all[:n], left, want)
			}
			if b.holds() {
				t.Error("an empty buffer still holds its ring")
			}
		})
	}
}

func TestRecvBufferReserveWaitsForRoom(t *testing.T) {
	b := newRecvBuffer(4)
	fill(t, b, []byte{1, 2, 3, 4})
	stop := new(latch)
	stop.set()
	if region := b.reserve(stop); region != nil {
		t.Fatalf("reserve on a full buffer returned %d bytes; want it to wait, then nil once stopped", len(region))
	}
	got := make([]byte, 1)
	b.take(got)
	if region := b.reserve(stop); len(region) != 1 {
		t.Fatalf("after taking one byte, reserve returned %d bytes, want 1", len(region))
	}
	b.commit(0)
}

func TestRecvBufferDiscard(t *testing.T) {
	b := newRecvBuffer(4)
	fill(t, b, []byte{1, 2, 3, 4})
	b.discard()
	// A full buffer that discards hands out the whole ring again, and
	// drops what is committed into it.
	region := b.reserve(nil)
	if len(region) != 4 {
		t.Fatalf("reserve after discard: %d bytes, want 4", len(region))
	}
	if b.commit(copy(region, "data")) {
		t.Error("commit made data readable after discard")
	}
	if n, _, _ := b.take(make([]byte, 4)); n != 0 {
		t.Errorf("take after discard: %d bytes, want 0", n)
	}
}

// holds reports whether the buffer holds a ring from the pool (for tests).
func (b *recvBuffer) holds() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bufp != nil
}
