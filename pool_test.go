package wsstream

import "testing"

// TestBufferPoolsKeepSizesApart asks for buffers of more sizes than the
// pools' table holds, puts them back and asks again: every buffer has
// exactly the length and capacity asked for, whichever pool it came from.
func TestBufferPoolsKeepSizesApart(t *testing.T) {
	for round := range 3 {
		var held []*[]byte
		for i := range 20 {
			size := 1000 + 7*i
			b := getBuf(size)
			if len(*b) != size || cap(*b) != size {
				t.Fatalf("round %d: getBuf(%d) has len %d, cap %d", round, size, len(*b), cap(*b))
			}
			held = append(held, b)
		}
		for _, b := range held {
			*b = (*b)[:1] // a user of the buffer may shorten it
			putBuf(b)
		}
	}
}
