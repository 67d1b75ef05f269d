//go:build !js

package wsstream

// Benchmarks comparing a Conn with raw TCP and with coder/websocket's
// NetConn. Every benchmark runs the same body over the three transports,
// all on loopback TCP, so that ratios within one run are meaningful:
//
//	go test -run '^$' -bench . -benchmem
//
// docs/performance.md has results, and cmd/benchchart charts them.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// benchChunk is the size of a bulk write: the largest message a Conn
// sends by default, and the read limit of coder/websocket.
const benchChunk = 32 << 10

// benchIdlePairs is how many idle connection pairs BenchmarkIdle holds.
const benchIdlePairs = 1000

// benchTransport is a way of connecting two net.Conns over loopback TCP.
type benchTransport struct {
	name string
	// listen starts a listener, closed when tb ends, and returns a
	// function that opens connection pairs through it.
	listen func(tb testing.TB) benchDialer
}

// benchDialer opens one connection pair: dialed is the dialing side,
// accepted the accepting side. The caller closes both.
type benchDialer func() (dialed, accepted net.Conn, err error)

// benchTransports are the transports every benchmark compares.
var benchTransports = []benchTransport{
	{"raw-tcp", listenTCP},
	{"coder-netconn", listenNetConn},
	{"wsstream", listenConn},
}

// listenTCP connects plain TCP connections.
func listenTCP(tb testing.TB) benchDialer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	return func() (net.Conn, net.Conn, error) {
		d, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return nil, nil, err
		}
		a, err := ln.Accept()
		if err != nil {
			d.Close()
			return nil, nil, err
		}
		return d, a, nil
	}
}

// listenNetConn connects coder/websocket connections wrapped by
// websocket.NetConn on both ends. NetConn lifts the read limit itself, so
// 32 KiB messages pass; its context is never cancelled, as the Conns
// outlive the handshake.
func listenNetConn(tb testing.TB) benchDialer {
	return listenWebSocket(tb,
		func(w http.ResponseWriter, r *http.Request) (net.Conn, error) {
			ws, err := websocket.Accept(w, r, nil)
			if err != nil {
				return nil, err
			}
			return websocket.NetConn(context.Background(), ws, websocket.MessageBinary), nil
		},
		func(ctx context.Context, url string) (net.Conn, error) {
			ws, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				return nil, err
			}
			return websocket.NetConn(context.Background(), ws, websocket.MessageBinary), nil
		})
}

// listenConn connects Conns made by Dial and Accept.
func listenConn(tb testing.TB) benchDialer {
	return listenWebSocket(tb,
		func(w http.ResponseWriter, r *http.Request) (net.Conn, error) {
			return Accept(w, r, nil)
		},
		func(ctx context.Context, url string) (net.Conn, error) {
			c, _, err := Dial(ctx, url, nil)
			return c, err
		})
}

// listenWebSocket runs an HTTP server whose handler upgrades with accept,
// and returns a benchDialer that connects to it with dial.
func listenWebSocket(tb testing.TB,
	accept func(w http.ResponseWriter, r *http.Request) (net.Conn, error),
	dial func(ctx context.Context, url string) (net.Conn, error),
) benchDialer {
	accepted := make(chan net.Conn, 1)
	s := newServer(tb, func(w http.ResponseWriter, r *http.Request) {
		c, err := accept(w, r)
		if err != nil {
			tb.Errorf("accept: %v", err)
			return
		}
		accepted <- c
	})
	return func() (net.Conn, net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		d, err := dial(ctx, s.url)
		if err != nil {
			return nil, nil, err
		}
		select {
		case a := <-accepted:
			return d, a, nil
		case <-ctx.Done():
			d.Close()
			return nil, nil, errors.New("the server did not accept the connection")
		}
	}
}

// openBenchPair opens one connection pair over tr, closed when b ends.
func openBenchPair(b *testing.B, tr benchTransport) (dialed, accepted net.Conn) {
	d, a, err := tr.listen(b)()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closeBoth(d, a) })
	return d, a
}

// benchEachTransport runs body as one sub-benchmark per transport, with
// a fresh connection pair.
func benchEachTransport(b *testing.B, body func(b *testing.B, dialed, accepted net.Conn)) {
	for _, tr := range benchTransports {
		b.Run(tr.name, func(b *testing.B) {
			d, a := openBenchPair(b, tr)
			body(b, d, a)
		})
	}
}

// benchEachDirection runs body for each direction and transport, with w
// the writing end. The dialing end masks the frames it sends, so the
// direction matters for WebSockets.
func benchEachDirection(b *testing.B, body func(b *testing.B, w, r net.Conn)) {
	b.Run("dial-to-accept", func(b *testing.B) {
		benchEachTransport(b, func(b *testing.B, d, a net.Conn) { body(b, d, a) })
	})
	b.Run("accept-to-dial", func(b *testing.B) {
		benchEachTransport(b, func(b *testing.B, d, a net.Conn) { body(b, a, d) })
	})
}

// BenchmarkBulk measures the throughput of 32 KiB writes, with the other
// end reading into a 32 KiB buffer as fast as it can.
func BenchmarkBulk(b *testing.B) {
	benchEachDirection(b, func(b *testing.B, w, r net.Conn) { benchStream(b, w, r, benchChunk) })
}

// BenchmarkWrite64 measures the throughput of 64-byte writes, with the
// other end reading into a 32 KiB buffer as fast as it can.
func BenchmarkWrite64(b *testing.B) {
	benchEachDirection(b, func(b *testing.B, w, r net.Conn) { benchStream(b, w, r, 64) })
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
			b.Fatal(err)
		}
	}
	if err := <-drained; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
}

// drain reads n bytes from r into a 32 KiB buffer.
func drain(r io.Reader, n int64) error {
	buf := make([]byte, benchChunk)
	for n > 0 {
		k, err := r.Read(buf[:min(int64(len(buf)), n)])
		n -= int64(k)
		if err != nil && n > 0 {
			return err
		}
	}
	return nil
}

// BenchmarkEcho measures 1-byte round trips: the dialing end writes a
// byte, the accepting end reads it and writes it back. Besides the mean
// (ns/op), it reports the median and 99th percentile of the round trips.
func BenchmarkEcho(b *testing.B) {
	benchEachTransport(b, func(b *testing.B, d, a net.Conn) {
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
		if err := <-echoed; err != nil {
			b.Fatal(err)
		}
		slices.Sort(samples)
		b.ReportMetric(float64(samples[len(samples)/2]), "p50-ns")
		b.ReportMetric(float64(samples[len(samples)*99/100]), "p99-ns")
	})
}

// echo writes back the first n bytes it reads from c.
func echo(c net.Conn, n int) error {
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

// BenchmarkWriteRead32K counts allocations in lock step: one op is one
// 32 KiB Write on one end, then reading those 32 KiB on the other, in the
// same goroutine. Allocations by every goroutine count, so those of the
// read pump and the writer of a Conn are included.
func BenchmarkWriteRead32K(b *testing.B) {
	benchEachDirection(b, func(b *testing.B, w, r net.Conn) {
		p := make([]byte, benchChunk)
		buf := make([]byte, benchChunk)
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

// BenchmarkIdle measures what idle connections cost. It opens
// benchIdlePairs pairs, each with a goroutine blocked in Read on the
// accepting end as a server has, and reports the growth of the live heap
// and of goroutine stacks per pair, in KiB, and the goroutines per pair,
// the server's included.
//
// Memory is HeapAlloc+StackInuse after GC: the live objects and the
// stacks. HeapInuse would undercount, as new objects fill the holes that
// earlier benchmarks left in spans already in use, and Sys counts memory
// the runtime keeps after it was freed.
//
// One op is then a 1-byte round trip through the next idle pair, waking
// it.
func BenchmarkIdle(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr.name, func(b *testing.B) { benchIdle(b, tr) })
	}
}

func benchIdle(b *testing.B, tr benchTransport) {
	dial := tr.listen(b)
	// Open and close a pair first, so that what the transport allocates
	// once is not counted.
	d, a, err := dial()
	if err != nil {
		b.Fatal(err)
	}
	closeBoth(d, a)

	dialed := make([]net.Conn, 0, benchIdlePairs)
	accepted := make([]net.Conn, 0, benchIdlePairs)
	var servers sync.WaitGroup
	b.Cleanup(func() {
		closePairs(dialed, accepted)
		servers.Wait()
	})
	base, baseG := heapAndStack(), stableGoroutines()
	for range benchIdlePairs {
		d, a, err := dial()
		if err != nil {
			b.Fatal(err)
		}
		dialed = append(dialed, d)
		accepted = append(accepted, a)
		servers.Go(func() { serveEcho(a) })
	}
	g := stableGoroutines() - baseG
	mem := heapAndStack() - base

	p := make([]byte, 1)
	i := 0
	for b.Loop() {
		d := dialed[i%len(dialed)]
		i++
		if _, err := d.Write(p); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(d, p); err != nil {
			b.Fatal(err)
		}
	}
	// After the loop: the first call of b.Loop drops reported metrics.
	b.ReportMetric(float64(mem)/1024/benchIdlePairs, "KiB/pair")
	b.ReportMetric(float64(g)/benchIdlePairs, "goroutines/pair")
}

// serveEcho writes back whatever it reads from c until reading fails.
func serveEcho(c net.Conn) {
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// closePairs closes dialed[i] and accepted[i] together, a few pairs at a
// time.
func closePairs(dialed, accepted []net.Conn) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range dialed {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			closeBoth(dialed[i], accepted[i])
		})
	}
	wg.Wait()
}

// heapAndStack returns HeapAlloc+StackInuse after collecting garbage
// twice, so that sync.Pool caches are emptied too.
func heapAndStack() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// stableGoroutines returns the number of goroutines once it has stopped
// changing, as goroutines that finished a handshake exit.
func stableGoroutines() int {
	n := runtime.NumGoroutine()
	for range 100 {
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}
