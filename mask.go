//go:build !js

package wsstream

import "encoding/binary"

// mask XORs src with the masking key into dst, which must be at least as
// long, and returns the key for the byte after src: key's low byte goes
// with src[0], as RFC 6455 section 5.3 numbers the key's octets when the
// key is read little-endian. dst and src may be the same slice (masking
// and unmasking in place), but must not overlap otherwise.
//
// Whole 64-byte blocks go to maskBlocks (SSE2 on amd64); what is left, 8
// bytes and then 1 at a time. A client masks every payload byte it sends
// and a server unmasks every one it receives, so this is on the path of
// every byte of a dialer's stream.
func mask(dst, src []byte, key uint32) uint32 {
	dst = dst[:len(src)]
	k := uint64(key) | uint64(key)<<32
	if n := len(src) &^ 63; n > 0 {
		maskBlocks(dst[:n], src[:n], k)
		dst, src = dst[n:], src[n:]
	}
	for len(src) >= 8 {
		binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(src)^k)
		dst, src = dst[8:], src[8:]
	}
	for i := range src {
		dst[i] = src[i] ^ byte(key)
		key = key>>8 | key<<24
	}
	return key
}
