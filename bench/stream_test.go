package bench

import (
	"io"
	"net"
	"testing"
)

// bulkChunk is the size of a bulk write: the largest message wsstream
// sends by default, and coder/websocket's default read limit.
const bulkChunk = 32 << 10

// BenchmarkBulk measures the throughput of 32 KiB writes, with the other
// end reading into a 32 KiB buffer as fast as it can.
func BenchmarkBulk(b *testing.B) {
	benchEachDirection(b, func(b *testing.B, w, r net.Conn) { benchStream(b, w, r, bulkChunk) })
}

// BenchmarkWrite64 measures the throughput of 64-byte writes, with the
// other end reading into a 32 KiB buffer as fast as it can.
func BenchmarkWrite64(b *testing.B) {
	benchEachDirection(b, func(b *testing.B, w, r net.Conn) { benchStream(b, w, r, 64) })
}

// benchEachDirection runs body for each direction and transport, on a
// fresh connection pair, with w the writing end. The dialing end masks
// the frames it sends, so the direction matters for WebSockets.
func benchEachDirection(b *testing.B, body func(b *testing.B, w, r net.Conn)) {
	b.Run("dial-to-accept", func(b *testing.B) {
		for _, tr := range transports {
			b.Run(tr.name, func(b *testing.B) {
				d, a := openPair(b, tr)
				body(b, d, a)
			})
		}
	})
	b.Run("accept-to-dial", func(b *testing.B) {
		for _, tr := range transports {
			b.Run(tr.name, func(b *testing.B) {
				d, a := openPair(b, tr)
				body(b, a, d)
			})
		}
	})
}

// benchStream writes b.N chunks of size bytes to w while another
// goroutine drains r, and stops the clock once everything was read.
func benchStream(b *testing.B, w io.Writer, r io.Reader, size int) {
	total := int64(b.N) * int64(size)
	drained := make(chan error, 1)
	go func() { drained <- drain(r, total) }()
	p := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(p); err != nil {
			b.Fatal(err) // the pair's cleanup closes r, which ends drain
		}
	}
	if err := <-drained; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
}

// drain reads exactly n bytes from r into a 32 KiB buffer, as an
// application does (io.Copy to io.Discard would read 8 KiB at a time).
func drain(r io.Reader, n int64) error {
	buf := make([]byte, bulkChunk)
	for n > 0 {
		k, err := r.Read(buf[:min(int64(len(buf)), n)])
		n -= int64(k)
		if err != nil && n > 0 {
			return err
		}
	}
	return nil
}
