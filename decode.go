//go:build !js

package wsstream

// Decoding the frames in the inbox, for a Read (into its buffer) or the
// read loop (into the receive buffer); see readdirect.go.

// payload makes p, payload of the frame being decoded and already in the
// receive buffer's reserved region, readable.
func (c *Conn) payload(in *input, p []byte) {
	c.payloadInto(in, p)
	c.recv.commit(len(p))
}

// payloadInto takes p, payload of the frame being decoded, wherever it
// was read to: unmasked, and counted off the frame.
func (c *Conn) payloadInto(in *input, p []byte) {
	if in.masked {
		in.maskKey = mask(p, p, in.maskKey)
	}
	in.payloadLeft -= int64(len(p))
}

// decode moves the payload of whole binary frames at the head of the
// inbox into p, a Read's buffer, while it has room (direct counts those
// bytes), and otherwise into the receive buffer, as far as it has room
// (waiting for it until stop is set, not at all when stop is nil); the
// read loop passes no p. It reports whether there may be something to
// take (bytes or the end of the stream were made readable, or the buffer
// is full), and whether the next frame is coder/websocket's to read.
func (c *Conn) decode(in *input, stop *latch, p []byte) (direct int, got, turn bool) {
	for {
		if in.payloadLeft == 0 {
			if in.frameLeft > 0 {
				return direct, got, true // coder/websocket is in the middle of a frame
			}
			if in.n == 0 {
				return direct, got, false
			}
			h, ok := parseHead(in.pending())
			if !ok {
				return direct, got, false
			}
			if !c.decodable(in, h) {
				return direct, got, true
			}
			in.consume(h.size)
			in.payloadLeft, in.masked, in.maskKey = h.payload, h.masked, h.key
			in.lastHead, in.lastPayload = int32(h.size), h.payload
			if h.payload == 0 {
				if c.halfClose {
					c.recv.closeRead() // the peer's end-of-stream marker
					got = true
				}
				continue
			}
		}
		if in.n == 0 {
			return direct, got, false
		}
		if direct < len(p) {
			direct += c.takePayload(in, p[direct:])
			continue
		}
		if p != nil {
			return direct, got, false // p is full; the rest waits in the inbox
		}
		region := c.recv.reserve(stop)
		if region == nil {
			// A Read finds the receive buffer full (there is
			// something to take); the read loop, that it is aborted.
			return direct, true, false
		}
		c.recv.commit(c.takePayload(in, region))
		got = true
	}
}

// takePayload moves as much of the frame's payload as the inbox holds and
// dst takes from the inbox into dst (see payloadInto), and returns how
// much.
func (c *Conn) takePayload(in *input, dst []byte) int {
	k := min(len(dst), in.n, int(min(in.payloadLeft, int64(len(dst)))))
	copy(dst, in.pending()[:k])
	in.consume(k)
	c.payloadInto(in, dst[:k])
	return k
}

// decodable reports whether the frame with header h may be decoded here:
// a whole binary message, from the right side, with nothing to refuse,
// and Close has not begun.
func (c *Conn) decodable(in *input, h frameHead) bool {
	return h.fin && h.rsv == 0 && h.opcode == opcodeBinary && h.masked != in.client &&
		h.payload >= 0 && !(c.halfClose && c.recv.atEOF()) && !c.closing.isSet()
}
