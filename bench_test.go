//go:build !js

package wsstream

// Benchmarks of a Conn alone, on loopback TCP:
//
//	go test -run '^$' -bench . -benchmem .
//
// The benchmarks that compare a Conn with raw TCP, coder/websocket's
// NetConn and other libraries live in the bench module (bench/), which
// docs/performance.md describes.

import (
	"io"
	"slices"
	"testing"
	"time"
)

// benchChunk is the size of a bulk write: the largest message a Conn
// sends by default, and the read limit of coder/websocket.
const benchChunk = 32 << 10

// benchEachDirection runs body for each direction over a fresh pair of
// Conns, w the writing end. The dialing end masks the frames it sends, so
// the direction matters.
func benchEachDirection(b *testing.B, body func(b *testing.B, w, r *Conn)) {
	b.Run("dial-to-accept", func(b *testing.B) {
		client, server := newPair(b, pairOptions{})
		body(b, client, server)
	})
	b.Run("accept-to-dial", func(b *testing.B) {
		client, server := newPair(b, pairOptions{})
		body(b, server, client)
	})
}

// BenchmarkWriteRead32K counts allocations in lock step: one op is one
// 32 KiB Write on one end, then reading those 32 KiB on the other, in the
// same goroutine. Allocations by every goroutine count, so those of the
// read pump and the writer of a Conn are included.
func BenchmarkWriteRead32K(b *testing.B) {
	benchEachDirection(b, func(b *testing.B, w, r *Conn) {
		p := make([]byte, benchChunk)
		buf := make([]byte, benchChunk)
		b.SetBytes(benchChunk)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := w.Write(p); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(r, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEcho measures 1-byte round trips: the dialing end writes a
// byte, the accepting end reads it and writes it back. Besides the mean
// (ns/op), it reports the median and 99th percentile of the round trips.
func BenchmarkEcho(b *testing.B) {
	d, a := newPair(b, pairOptions{})
	echoed := make(chan error, 1)
	go func() { echoed <- echo(a, b.N) }()
	samples := make([]time.Duration, b.N)
	p := make([]byte, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := d.Write(p); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(d, p); err != nil {
			b.Fatal(err)
		}
		samples[i] = time.Since(start)
	}
	b.StopTimer()
	if err := recv(b, echoed); err != nil {
		b.Fatal(err)
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2]), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100]), "p99-ns")
}

// echo writes back the first n bytes it reads from c.
func echo(c *Conn, n int) error {
	buf := make([]byte, 1)
	for range n {
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if _, err := c.Write(buf); err != nil {
			return err
		}
	}
	return nil
}
