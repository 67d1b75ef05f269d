//go:build !js && (!amd64 || purego)

package wsstream

import "encoding/binary"

// maskBlocks sets dst to src XOR k, k repeated; len(src) is a positive
// multiple of 64 and len(dst) == len(src).
func maskBlocks(dst, src []byte, k uint64) {
	for len(src) >= 32 {
		d, s := dst[:32:32], src[:32:32]
		binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(s)^k)
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:])^k)
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:])^k)
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:])^k)
		dst, src = dst[32:], src[32:]
	}
}
