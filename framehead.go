//go:build !js

package wsstream

import "encoding/binary"

// frameHead is the header of a WebSocket frame (RFC 6455, section 5.2),
// as far as a decoder of binary frames needs it.
type frameHead struct {
	fin     bool
	rsv     byte // the three reserved bits
	opcode  byte
	masked  bool
	key     uint32 // the masking key, little-endian as mask takes it
	payload int64  // the payload's length; negative when the header is invalid
	size    int    // the header's length in bytes
}

// opcodeBinary is the opcode of a binary frame.
const opcodeBinary = 2

// parseHead parses the frame header at the start of b. ok is false when b
// does not hold all of it.
func parseHead(b []byte) (h frameHead, ok bool) {
	if len(b) < 2 {
		return h, false
	}
	h.fin = b[0]&0x80 != 0
	h.rsv = b[0] >> 4 & 7
	h.opcode = b[0] & 0xf
	h.masked = b[1]&0x80 != 0
	h.size = 2
	switch n := b[1] & 0x7f; n {
	case 126:
		h.size += 2
	case 127:
		h.size += 8
	default:
		h.payload = int64(n)
	}
	if h.masked {
		h.size += 4
	}
	if len(b) < h.size {
		return h, false
	}
	switch h.size - 2 - 4*btoi(h.masked) {
	case 2:
		h.payload = int64(binary.BigEndian.Uint16(b[2:]))
	case 8:
		h.payload = int64(binary.BigEndian.Uint64(b[2:])) // negative when the top bit is set
	}
	if h.masked {
		h.key = binary.LittleEndian.Uint32(b[h.size-4:])
	}
	return h, true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
