package bench

import (
	"crypto/subtle"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkBulkFloor measures the least a WebSocket byte stream costs on
// this machine, for comparison with BenchmarkBulk: 32 KiB binary frames
// over a raw TCP pair with no library, each frame sent with one write
// (the payload copied behind its header, masked on the way for a client),
// the reader taking a frame's header and then its payload into its
// buffer (two reads, as a decoder that must see the header before the
// payload does without guessing). "plain" is a server's frames (a 4-byte
// header); "masked" a client's (an 8-byte header; the writer masks a copy
// of the payload, the reader unmasks it in place, both with
// crypto/subtle.XORBytes over a key stream). Nothing else: no deadlines,
// no control frames, no validation.
func BenchmarkBulkFloor(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchFloor(b, false) })
	b.Run("masked", func(b *testing.B) { benchFloor(b, true) })
}

func benchFloor(b *testing.B, masked bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept() // nil when Listen's Close comes first
		accepted <- c
	}()
	w, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var r net.Conn
	select {
	case r = <-accepted:
	case <-time.After(waitTimeout):
		b.Fatal("accept timed out")
	}
	if r == nil {
		b.Fatal("accept failed")
	}
	defer r.Close()
	deadline := time.Now().Add(time.Duration(b.N)*time.Millisecond + waitTimeout)
	w.SetDeadline(deadline)
	r.SetDeadline(deadline)

	head := []byte{0x82, 126, bulkChunk >> 8 & 0xff, bulkChunk & 0xff}
	keys := make([]byte, 4096) // the key repeated, for XORBytes
	if masked {
		head[1] |= 0x80
		head = append(head, 1, 2, 3, 4)
		for i := range keys {
			keys[i] = head[4+i%4]
		}
	}
	drained := make(chan error, 1)
	go func() {
		h := make([]byte, len(head))
		p := make([]byte, bulkChunk)
		for range b.N {
			if _, err := io.ReadFull(r, h); err != nil {
				drained <- err
				return
			}
			n := int(binary.BigEndian.Uint16(h[2:]))
			if _, err := io.ReadFull(r, p[:n]); err != nil {
				drained <- err
				return
			}
			if masked {
				xorKeys(p[:n], p[:n], keys)
			}
		}
		drained <- nil
	}()
	payload := make([]byte, bulkChunk)
	frame := make([]byte, len(head)+bulkChunk)
	copy(frame, head)
	b.SetBytes(bulkChunk)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if masked {
			xorKeys(frame[len(head):], payload, keys)
		} else {
			copy(frame[len(head):], payload)
		}
		if _, err := w.Write(frame); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-drained; err != nil {
		b.Fatal(err)
	}
}

// xorKeys sets dst to src XOR the key stream keys, whose length is a
// multiple of 4.
func xorKeys(dst, src, keys []byte) {
	for len(src) > 0 {
		n := subtle.XORBytes(dst, src, keys)
		dst, src = dst[n:], src[n:]
	}
}
