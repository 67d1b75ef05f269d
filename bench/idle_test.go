package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// idlePairsEnv names the environment variable that sets how many idle
// pairs BenchmarkIdle opens; defaultIdlePairs is used when it is unset.
const (
	idlePairsEnv     = "WSSTREAM_IDLE_PAIRS"
	defaultIdlePairs = 1000
)

// errNoEcho reports a round trip through an idle pair whose byte did not
// come back within waitTimeout.
var errNoEcho = errors.New("bench: the idle pair did not echo")

// idlePairs returns the number of idle pairs to open.
func idlePairs() (int, error) {
	s := os.Getenv(idlePairsEnv)
	if s == "" {
		return defaultIdlePairs, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive number of pairs", idlePairsEnv, s)
	}
	return n, nil
}

// BenchmarkIdle measures what idle connections cost. It opens N pairs
// (WSSTREAM_IDLE_PAIRS, default 1000), each served by the goroutine that
// accepted it, blocked in Read as an echo server's is, and reports per
// pair the growth of HeapAlloc+StackInuse (KiB/pair), of
// HeapInuse+StackInuse (inuse-KiB/pair), and of goroutines
// (goroutines/pair), the serving goroutine included. Measurements are
// taken after two GCs, against a baseline taken after one pair was
// opened and closed, so that what a transport allocates once is not
// counted.
//
// In server-reads, the client end has no goroutine of the application,
// as a client that only reads after it writes; in both-read, each client
// end also has a goroutine blocked in Read, as a client waiting for what
// the server pushes.
//
// HeapInuse undercounts in a process that has run other benchmarks: new
// objects fill holes in spans already in use. KiB/pair (the live heap)
// is the figure docs/performance.md uses.
//
// One op is then a 1-byte round trip through the next idle pair, waking
// it.
func BenchmarkIdle(b *testing.B) {
	n, err := idlePairs()
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name        string
		clientReads bool
	}{{"server-reads", false}, {"both-read", true}} {
		b.Run(mode.name, func(b *testing.B) {
			for _, tr := range transports {
				b.Run(tr.name, func(b *testing.B) {
					cost, roundTrip := openIdle(b, tr, n, mode.clientReads)
					i := 0
					for b.Loop() {
						if err := roundTrip(i % n); err != nil {
							b.Fatal(err)
						}
						i++
					}
					// After the loop: the first call of b.Loop drops
					// metrics reported before it.
					b.ReportMetric(cost.allocKiB, "KiB/pair")
					b.ReportMetric(cost.inuseKiB, "inuse-KiB/pair")
					b.ReportMetric(cost.goroutines, "goroutines/pair")
				})
			}
		})
	}
}

// idleCost is what one idle pair costs.
type idleCost struct {
	allocKiB   float64 // growth of HeapAlloc+StackInuse, KiB
	inuseKiB   float64 // growth of HeapInuse+StackInuse, KiB
	goroutines float64 // growth of the number of goroutines
}

// openIdle opens n idle pairs over tr, each served by serveEcho, and
// with clientReads a goroutine per client end blocked in Read. It
// returns their cost per pair and a function that makes a 1-byte round
// trip through pair i. Everything is closed, and every goroutine has
// returned, when tb ends.
func openIdle(tb testing.TB, tr transport, n int, clientReads bool) (idleCost, func(i int) error) {
	tb.Helper()
	dial := startServer(tb, tr, serveEcho)
	dial().Close() // a first pair, not counted

	clients := make([]net.Conn, 0, n)
	var readers sync.WaitGroup
	got := make(chan error)
	done := make(chan struct{})
	tb.Cleanup(func() {
		close(done)
		closeAll(clients)
		readers.Wait()
	})
	baseAlloc, baseInuse := memStats()
	baseG := stableGoroutines()
	for range n {
		c := dial()
		clients = append(clients, c)
		if clientReads {
			readers.Go(func() { readForward(c, got, done) })
		}
	}
	g := stableGoroutines() - baseG
	alloc, inuse := memStats()
	cost := idleCost{
		allocKiB:   float64(int64(alloc-baseAlloc)) / 1024 / float64(n),
		inuseKiB:   float64(int64(inuse-baseInuse)) / 1024 / float64(n),
		goroutines: float64(g) / float64(n),
	}

	p := make([]byte, 1)
	roundTrip := func(i int) error {
		c := clients[i]
		if _, err := c.Write(p); err != nil {
			return err
		}
		if !clientReads {
			_, err := io.ReadFull(c, p)
			return err
		}
		select {
		case err := <-got:
			return err
		case <-time.After(waitTimeout):
			return errNoEcho
		}
	}
	return cost, roundTrip
}

// readForward reads c until reading fails, and signals each Read that
// returned data on got, where a round trip waits for it. It returns once
// reading fails, which closing c makes it do, or once done is closed.
func readForward(c net.Conn, got chan<- error, done <-chan struct{}) {
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			select {
			case got <- nil:
			case <-done:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// closeAll closes conns, 16 at a time.
func closeAll(conns []net.Conn) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, c := range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.Close()
		})
	}
	wg.Wait()
}
