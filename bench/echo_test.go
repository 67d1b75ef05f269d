package bench

import (
	"fmt"
	"io"
	"slices"
	"testing"
	"time"
)

// BenchmarkEcho measures 1-byte round trips: the client writes a byte,
// and the server, whose goroutine is blocked in Read as an echo server's
// is, reads it and writes it back. Besides the mean (ns/op), it reports
// the 50th, 90th and 99th percentiles of the round trips (p50-ns,
// p90-ns, p99-ns).
func BenchmarkEcho(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			c := startServer(b, tr, serveEcho)()
			b.Cleanup(func() { c.Close() })
			samples := make([]time.Duration, b.N)
			p := make([]byte, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if _, err := c.Write(p); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, p); err != nil {
					b.Fatal(err)
				}
				samples[i] = time.Since(start)
			}
			b.StopTimer()
			slices.Sort(samples)
			for _, q := range []int{50, 90, 99} {
				b.ReportMetric(float64(percentile(samples, q)), fmt.Sprintf("p%d-ns", q))
			}
		})
	}
}

// percentile returns the q-th percentile of sorted samples, the sample
// below which q% of them fall (nearest rank). samples is not empty.
func percentile(sorted []time.Duration, q int) time.Duration {
	return sorted[min(len(sorted)-1, len(sorted)*q/100)]
}
