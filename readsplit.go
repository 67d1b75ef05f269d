//go:build !js

package wsstream

import "time"

// Split reads. A Read whose buffer is empty reads a frame in two system
// calls when it goes through the inbox: one into the inbox, which gets the
// header and the payload's start (copied into the Read's buffer from
// there), one for the rest of the payload, straight into the buffer. A
// split read bets that the frame at hand is like the last one decoded (a
// stream of bulk writes makes every frame alike): one readv puts that
// many header bytes into the inbox and the rest straight into the Read's
// buffer, so that a message costs one system call and no copy, as a raw
// TCP read does. When the bet loses (another header size, a frame that is
// not a binary message, a payload shorter than what was read), the bytes
// read into the buffer go behind the header in the inbox, which is large
// enough for them (splitInboxSize), and are decoded from there as usual.

// splitFrom is the payload from which frames are read split: below it,
// one read into the inbox takes several frames at once.
const splitFrom = 4 << 10

// maySplit reports whether a Read's buffer p may take a split read: the
// system has readv, the frame before had a payload of splitFrom bytes or
// more, and p takes at least as many. The inbox is empty and the decoder
// at a frame's start.
func (c *Conn) maySplit(in *input, p []byte) bool {
	return rawReadvSupported && in.lastPayload >= splitFrom && len(p) >= splitFrom &&
		in.payloadLeft == 0 && in.frameLeft == 0
}

// readSplit waits for the socket and reads it once, with readv, into the
// inbox (as many bytes as the last frame's header) and into p (at most
// the last frame's payload). When the inbox then holds a header of that
// size, of a frame decodable here whose payload takes all p got, the
// frame's decoding begins and p's bytes are its payload (direct counts
// them); otherwise they are added to the inbox.
func (c *Conn) readSplit(in *input, who driver, stop func() (time.Time, bool), p []byte) (direct int, got bool, err error) {
	head := int(in.lastHead)
	p = p[:min(int64(len(p)), in.lastPayload, int64(splitInboxSize-head))]
	in.trySplit = in.lastHead
	n, err := in.waitRead(p, who, stop)
	if n == 0 {
		return 0, false, err // what was read, if anything, is in the inbox
	}
	h, ok := parseHead(in.pending())
	if ok && h.size == head && h.payload >= int64(n) && c.decodable(in, h) {
		in.consume(head)
		in.payloadLeft, in.masked, in.maskKey = h.payload, h.masked, h.key
		in.lastPayload = h.payload // a longer payload with a header as long
		c.payloadInto(in, p[:n])
		return n, false, err
	}
	in.n += copy(in.space(), p[:n])
	return 0, false, err
}
