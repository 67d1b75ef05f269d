//go:build !js

package wsstream

// Soak: many Conns at once, each echoing random data, with integrity
// checks. TestSoak runs a small soak in every `go test` (under -race in
// CI); BenchmarkSoak runs the full size:
//
//	go test -run '^$' -bench '^BenchmarkSoak$' -benchtime 200000x .
//
// (2,000 pairs are 4,000 descriptors on each side of loopback; not under
// -race, whose limit is 8,128 goroutines.)

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// soakWindow bounds the bytes a soak client has written and not yet
	// read back, so that memory stays bounded however many pairs run.
	soakWindow = 64 << 10
	// soakMaxChunk is the largest single Write of a soak client.
	soakMaxChunk = 16 << 10
)

// soakConfig sizes a soak run.
type soakConfig struct {
	pairs int
	// until ends the run: it is asked before each chunk and returns false
	// once the run is over.
	until func() bool
}

// soakStats is what a soak run did.
type soakStats struct {
	bytes  int64 // echoed and checked, all pairs
	chunks int64
}

// runSoak connects cfg.pairs clients to a Listener whose server side
// echoes everything, runs them all at once until cfg.until says stop, and
// checks that each client read back exactly what it wrote, then closes
// every Conn cleanly.
func runSoak(tb testing.TB, cfg soakConfig) soakStats {
	tb.Helper()
	ln, err := Listen("127.0.0.1:0", &ListenerOptions{Backlog: 256})
	if err != nil {
		tb.Fatal(err)
	}
	var servers sync.WaitGroup
	serverErrs := make(chan error, 2*cfg.pairs) // an echo error and a Close error each, at most
	servers.Add(1)
	go func() {
		defer servers.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			servers.Add(1)
			go func() {
				defer servers.Done()
				buf := make([]byte, 8<<10)
				_, err := io.CopyBuffer(nc, nc, buf)
				// The client closes once it has read everything back: the
				// echo ends with a clean io.EOF, which io.Copy hides.
				if err != nil {
					serverErrs <- fmt.Errorf("echo: %w", err)
				}
				if err := nc.Close(); err != nil {
					serverErrs <- fmt.Errorf("server Close: %w", err)
				}
			}()
		}
	}()
	defer func() {
		ln.Close()
		waitGroup(tb, &servers)
	}()

	// Dial them all first, a few at a time, so that every pair is
	// connected when the traffic starts.
	url := "ws://" + ln.Addr().String() + "/"
	clients := make([]*Conn, cfg.pairs)
	var next atomic.Int64
	var dialers sync.WaitGroup
	dialErrs := make(chan error, 8)
	for range 8 {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.pairs {
					return
				}
				c, _, err := Dial(testContext(tb), url, nil)
				if err != nil {
					dialErrs <- fmt.Errorf("Dial %d: %w", i, err)
					return
				}
				clients[i] = c
			}
		}()
	}
	waitGroup(tb, &dialers)
	close(dialErrs)
	for err := range dialErrs {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
		tb.Fatal(err)
	}

	var stats soakStats
	var wg sync.WaitGroup
	errs := make(chan error, cfg.pairs)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, chunks, err := soakPair(c, uint32(i), cfg.until)
			atomic.AddInt64(&stats.bytes, n)
			atomic.AddInt64(&stats.chunks, chunks)
			if err != nil {
				errs <- fmt.Errorf("pair %d: %w", i, err)
			}
		}()
	}
	waitGroup(tb, &wg)
	close(errs)
	for err := range errs {
		tb.Error(err)
	}
	ln.Close()
	waitGroup(tb, &servers)
	close(serverErrs)
	for err := range serverErrs {
		tb.Error(err)
	}
	return stats
}

// soakPair writes random chunks of stream seed to c while reading the
// echo back and checking it, at most soakWindow bytes ahead, until until
// returns false; then it reads the rest back and closes c. It returns the
// bytes checked and the chunks written.
func soakPair(c *Conn, seed uint32, until func() bool) (int64, int64, error) {
	var read atomic.Int64
	readCh := make(chan struct{}, 1) // the reader made progress
	writerDone := make(chan struct{})
	var written int64 // final once writerDone is closed
	var chunks int64
	var werr error
	// readerDone is closed when the reader stops: a writer waiting for
	// room in the window stops too.
	readerDone := make(chan struct{})
	go func() {
		defer func() {
			close(writerDone)
			c.SetReadDeadline(time.Unix(1, 0))
		}()
		rng := rand.New(rand.NewPCG(uint64(seed), 0))
		buf := make([]byte, soakMaxChunk)
		for until() {
			n := 1 + rng.IntN(soakMaxChunk)
			for written+int64(n)-read.Load() > soakWindow {
				select {
				case <-readCh:
				case <-readerDone:
					return
				}
			}
			fillPattern(buf[:n], seed, written)
			if _, err := c.Write(buf[:n]); err != nil {
				werr = fmt.Errorf("Write: %w", err)
				return
			}
			written += int64(n)
			chunks++
		}
	}()

	buf := make([]byte, 32<<10)
	want := make([]byte, len(buf))
	var rerr error
	for {
		// No deadline is needed for progress: the writer stays at most
		// one window ahead, everything it wrote comes back, and when it
		// stops it moves the deadline into the past to wake this Read.
		// This one bounds a bug.
		c.SetReadDeadline(time.Now().Add(testTimeout))
		if isClosed(writerDone) && (read.Load() == written || werr != nil) {
			break
		}
		n, err := c.Read(buf)
		off := read.Load()
		fillPattern(want[:n], seed, off)
		for i := range n {
			if buf[i] != want[i] {
				rerr = fmt.Errorf("byte %d of the echo differs", off+int64(i))
				break
			}
		}
		read.Add(int64(n))
		notify(readCh)
		if rerr != nil {
			break
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && isClosed(writerDone) {
			continue
		}
		if err != nil {
			rerr = fmt.Errorf("Read after %d bytes: %w", off+int64(n), err)
			break
		}
	}
	close(readerDone)
	cerr := c.Close()
	<-writerDone // bounded: the writer stops at readerDone or at a failed Write
	return read.Load(), chunks, errors.Join(werr, rerr, cerr)
}

// TestSoak runs 50 pairs for 2 seconds: under the race detector in CI,
// it checks the Conn's locking with many Conns, pools and timers shared.
func TestSoak(t *testing.T) {
	const pairs, duration = 50, 2 * time.Second
	end := time.Now().Add(duration)
	stats := runSoak(t, soakConfig{pairs: pairs, until: func() bool { return time.Now().Before(end) }})
	if stats.bytes == 0 {
		t.Fatal("no data went through")
	}
	t.Logf("%d pairs for %v: %d chunks, %.1f MiB echoed and checked", pairs, duration, stats.chunks, float64(stats.bytes)/(1<<20))
}

// BenchmarkSoak runs 2,000 pairs at once; b.N is the number of chunks
// written, shared among them.
func BenchmarkSoak(b *testing.B) {
	const pairs = 2000
	var budget atomic.Int64
	budget.Store(int64(b.N))
	var ms runtime.MemStats
	start := time.Now()
	stats := runSoak(b, soakConfig{pairs: pairs, until: func() bool { return budget.Add(-1) >= 0 }})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(stats.bytes)/(1<<20)/elapsed.Seconds(), "MiB/s")
	b.ReportMetric(float64(pairs), "pairs")
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-MiB")
}
