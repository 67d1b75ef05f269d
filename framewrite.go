//go:build !js

package wsstream

import (
	"crypto/rand"
	"encoding/binary"
	"slices"
)

// outFrames lets the Conn write its binary messages as frames of its own,
// past coder/websocket's writer (its message and frame locks, its buffer,
// one more copy), without ever putting a frame inside one of coder's. It
// follows the frames coder writes, header by header, so that it knows
// where each ends; the Conn's frames go only between them, and never after
// coder's close frame. Guarded by the output's mu.
type outFrames struct {
	// first is the first byte written through the output, or 0.
	first byte
	// on is set by startFrames, once the handshake is written: from then
	// on, every byte through the output is a frame.
	on bool
	// client is set when frames must be masked.
	client bool
	// head holds the header of coder's frame in progress as far as coder
	// has written it (headN bytes); left counts the payload bytes of that
	// frame still to come.
	head  [maxHeadSize]byte
	headN int
	left  int64
	// coderOnly is set once coder wrote a close frame (or a header this
	// does not follow): the Conn's messages go through coder from then
	// on, which refuses them after a close.
	coderOnly bool
	// own is the header of the Conn's frame being written; key its
	// masking key.
	own [maxHeadSize]byte
	key [4]byte
}

// maxHeadSize is the longest frame header: two bytes, an eight-byte
// length and a masking key.
const maxHeadSize = 14

// opcodeClose is the opcode of a close frame.
const opcodeClose = 8

// startFrames says that the handshake is written: what comes through the
// output from now on is frames, and sendFrame may add its own.
func (o *output) startFrames(client bool) {
	o.mu.Lock()
	o.frames.on = true
	o.frames.client = client
	o.mu.Unlock()
	o.framed = true
}

// sentHTTP reports whether the first byte written was the start of an
// HTTP request (a method's first letter), not of a TLS record.
func (o *output) sentHTTP() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.frames.first >= 'A' && o.frames.first <= 'Z'
}

// follow notes p, bytes written through the output by coder (or, before
// the frames, by net/http: the request), to know where coder's frame ends.
func (f *outFrames) follow(p []byte) {
	if f.first == 0 && len(p) > 0 {
		f.first = p[0]
	}
	for f.on && !f.coderOnly && len(p) > 0 {
		if f.left > 0 {
			k := min(int64(len(p)), f.left)
			f.left -= k
			p = p[k:]
			continue
		}
		want := 2
		if f.headN >= 2 {
			h, _ := parseHead(f.head[:f.headN])
			want = h.size
		}
		k := copy(f.head[f.headN:want], p)
		f.headN += k
		p = p[k:]
		if h, ok := parseHead(f.head[:f.headN]); ok {
			f.headN = 0
			f.left = h.payload
			if h.opcode == opcodeClose || h.payload < 0 {
				f.coderOnly = true
			}
		}
	}
}

// sendFrame writes payload as one binary frame, in order after everything
// written before, and reports whether it did. While corked, the frame is
// gathered (a client's payload is masked in the gathered copy); otherwise
// a client's payload is masked in place, which only a caller that may
// change it allows (mayChange), and sendFrame reports false when it may
// not. It writes nothing, and reports false, when framesLocked says so:
// the caller then has coder write the message, which waits for coder's
// frame to end, and refuses after a close or a failure as it always does.
// Like write, it waits while the flusher's queue is full.
func (o *output) sendFrame(payload []byte, mayChange bool) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.waitRoomLocked()
	if !o.framesLocked() {
		return false, nil
	}
	gather := o.corked && len(payload) <= corkSize-maxHeadSize
	if o.frames.client && !gather && !mayChange {
		return false, nil
	}
	if gather {
		if len(*o.gather)+maxHeadSize+len(payload) > corkSize {
			if err := o.handOnLocked(*o.gather); err != nil {
				return true, err
			}
			*o.gather = (*o.gather)[:0]
		}
		*o.gather = o.appendFrameLocked(*o.gather, payload)
		return true, nil
	}
	h, key := o.headLocked(len(payload))
	if o.frames.client {
		mask(payload, payload, key)
	}
	if err := o.writeLocked(h); err != nil {
		return true, err
	}
	return true, o.writeLocked(payload)
}

// sendNow writes payload as one binary frame straight to the socket (what
// the socket does not take is queued for the flusher), under one hold of
// the lock, for a Write that sends past the send queue: nothing is
// corked then, as no other sender runs. A server's payload of writevFrom
// bytes or more goes out behind its header in one writev, where the
// system has it; otherwise the frame is put together in a pooled buffer.
// It reports false, having written nothing, when the flusher has a
// backlog (the message must queue behind it, within the Write's
// deadline), when the frame would not fit a cork buffer, or when
// framesLocked says so.
func (o *output) sendNow(payload []byte) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.flusher || len(payload) > corkSize-maxHeadSize || !o.framesLocked() {
		return false, nil
	}
	if rawWritevSupported && o.raw != nil && !o.frames.client && len(payload) >= writevFrom {
		h, _ := o.headLocked(len(payload))
		return true, o.handOnPairLocked(h, payload)
	}
	b := getBuf(corkSize)
	err := o.handOnLocked(o.appendFrameLocked((*b)[:0], payload))
	putBuf(b)
	return true, err
}

// writevFrom is the payload from which sendNow writes a server's header
// and payload with one writev, instead of copying the payload behind the
// header first (a client copies it anyway, to mask it).
const writevFrom = 4 << 10

// framesLocked reports whether the Conn may write a frame of its own now:
// after startFrames, between two of coder's frames, before coder's close
// frame, and while no write has failed. o.mu must be held.
func (o *output) framesLocked() bool {
	f := &o.frames
	return f.on && !f.coderOnly && f.headN == 0 && f.left == 0 && o.err == nil
}

// appendFrameLocked appends to dst a binary frame carrying payload, which
// a client masks as it copies it. o.mu must be held.
func (o *output) appendFrameLocked(dst, payload []byte) []byte {
	h, key := o.headLocked(len(payload))
	dst = append(dst, h...)
	if !o.frames.client {
		return append(dst, payload...)
	}
	at := len(dst)
	dst = slices.Grow(dst, len(payload))[:at+len(payload)]
	mask(dst[at:], payload, key)
	return dst
}

// headLocked returns the header of a final binary frame of n bytes (in
// frames.own, valid until the next call) and, on a client, its masking
// key, fresh and unpredictable as RFC 6455 section 5.3 requires. o.mu
// must be held.
func (o *output) headLocked(n int) (h []byte, key uint32) {
	f := &o.frames
	h = append(f.own[:0], 0x80|opcodeBinary)
	var maskBit byte
	if f.client {
		maskBit = 0x80
	}
	switch {
	case n <= 125:
		h = append(h, maskBit|byte(n))
	case n <= 0xffff:
		h = binary.BigEndian.AppendUint16(append(h, maskBit|126), uint16(n))
	default:
		h = binary.BigEndian.AppendUint64(append(h, maskBit|127), uint64(n))
	}
	if f.client {
		rand.Read(f.key[:])
		h = append(h, f.key[:]...)
		key = binary.LittleEndian.Uint32(f.key[:])
	}
	return h, key
}
