//go:build !js

package wsstream

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestMask checks mask against the definition (rawframe_test.go's
// maskBytes) in place and into another buffer, over lengths around the
// 64-byte blocks, at every alignment, in two pieces whose returned key
// carries on, without touching a byte past the end of dst.
func TestMask(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	k := uint32(key[0]) | uint32(key[1])<<8 | uint32(key[2])<<16 | uint32(key[3])<<24
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		for align := range 8 {
			data := randBytes(rng, align+n)[align:]
			want := bytes.Clone(data)
			maskBytes(want, &key, 0)
			cut := rng.IntN(n + 1)

			got := bytes.Clone(data)
			mask(got[cut:], got[cut:], mask(got[:cut], got[:cut], k))
			if !bytes.Equal(got, want) {
				t.Fatalf("in place, %d bytes cut at %d, offset %d: differs from the definition", n, cut, align)
			}

			orig := bytes.Clone(data)
			dst := make([]byte, align+n+1)
			dst[align+n] = 0xa5
			out := dst[align : align+n]
			mask(out[cut:], data[cut:], mask(out[:cut], data[:cut], k))
			if !bytes.Equal(out, want) || dst[align+n] != 0xa5 {
				t.Fatalf("copying, %d bytes cut at %d, offset %d: differs from the definition", n, cut, align)
			}
			if !bytes.Equal(data, orig) {
				t.Fatalf("copying, %d bytes: the source changed", n)
			}
		}
	}
}

// BenchmarkMask measures masking 32 KiB in place, as a server unmasks a
// bulk message from a client.
func BenchmarkMask(b *testing.B) {
	p := make([]byte, 32<<10)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		mask(p, p, 0x12345678)
	}
}
