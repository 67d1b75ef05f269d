package bench

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"
)

// TestRoundTrip checks that every transport carries bytes intact in both
// directions, whatever the sizes of the writes: the client writes
// 200 KiB in writes of 1 byte to 40,000 bytes (more than one 32 KiB
// message), while reading back what an echo server returns.
func TestRoundTrip(t *testing.T) {
	sizes := []int{1, 64, 1000, 32 << 10, 40000}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			c := startServer(t, tr, serveEcho)()
			t.Cleanup(func() { c.Close() })
			c.SetDeadline(time.Now().Add(waitTimeout))

			want := make([]byte, 200<<10)
			rng := rand.NewChaCha8([32]byte{1})
			rng.Read(want)
			written := make(chan error, 1)
			go func() {
				p := want
				for i := 0; len(p) > 0; i++ {
					n := min(sizes[i%len(sizes)], len(p))
					if _, err := c.Write(p[:n]); err != nil {
						written <- err
						return
					}
					p = p[n:]
				}
				written <- nil
			}()
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("reading the echo: %v", err)
			}
			if err := <-written; err != nil {
				t.Fatalf("writing: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("the echo differs from what was written")
			}
		})
	}
}

// TestCloseDeliversThenEOF checks that data written just before Close
// reaches the peer, which then reads io.EOF, on every transport and in
// both directions: the stream benchmarks and the cleanup of every
// benchmark rely on it.
func TestCloseDeliversThenEOF(t *testing.T) {
	msg := bytes.Repeat([]byte("wsstream"), 10000)
	for _, tr := range transports {
		for _, dialWrites := range []bool{true, false} {
			name := tr.name + "/accept-to-dial"
			if dialWrites {
				name = tr.name + "/dial-to-accept"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				w, r := openPair(t, tr)
				if !dialWrites {
					w, r = r, w
				}
				r.SetReadDeadline(time.Now().Add(waitTimeout))
				written := make(chan error, 1)
				go func() {
					_, err := w.Write(msg)
					written <- errors.Join(err, w.Close())
				}()
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("ReadAll: %v", err)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("read %d bytes, want the %d written", len(got), len(msg))
				}
				if err := <-written; err != nil {
					t.Fatalf("Write and Close: %v", err)
				}
			})
		}
	}
}

// TestGorillaDeadlines checks that gorillaConn maps deadlines to the
// gorilla connection: a Read past its deadline fails with a timeout, as
// does a Write, and both ends report TCP addresses.
func TestGorillaDeadlines(t *testing.T) {
	d, a := openPair(t, transport{"gorilla", listenGorilla})
	if d.LocalAddr().String() != a.RemoteAddr().String() || d.RemoteAddr().String() != a.LocalAddr().String() {
		t.Errorf("addresses: dialed %v->%v, accepted %v->%v", d.LocalAddr(), d.RemoteAddr(), a.LocalAddr(), a.RemoteAddr())
	}
	if err := d.SetReadDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := d.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Read past the read deadline: %v, want a timeout", err)
	}
	if err := a.SetDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("x")); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Write past the write deadline: %v, want a timeout", err)
	}
}

// TestOpenIdle checks the idle harness on a few pairs of every
// transport, in both modes: every pair echoes, each costs at least its
// serving goroutine, and everything is closed afterwards (TestMain
// checks that no goroutine is left).
func TestOpenIdle(t *testing.T) {
	const n = 5
	for _, tr := range transports {
		for _, clientReads := range []bool{false, true} {
			t.Run(tr.name+"/clientReads="+strconv.FormatBool(clientReads), func(t *testing.T) {
				cost, roundTrip := openIdle(t, tr, n, clientReads)
				for i := range 2 * n {
					if err := roundTrip(i % n); err != nil {
						t.Fatalf("round trip %d: %v", i, err)
					}
				}
				want := 1.0
				if clientReads {
					want = 2
				}
				if cost.goroutines < want {
					t.Errorf("goroutines/pair = %v, want at least %v", cost.goroutines, want)
				}
			})
		}
	}
}

// TestIdlePairs checks how WSSTREAM_IDLE_PAIRS is read.
func TestIdlePairs(t *testing.T) {
	t.Setenv(idlePairsEnv, "")
	if n, err := idlePairs(); n != defaultIdlePairs || err != nil {
		t.Errorf("unset: %d, %v; want %d", n, err, defaultIdlePairs)
	}
	t.Setenv(idlePairsEnv, "5000")
	if n, err := idlePairs(); n != 5000 || err != nil {
		t.Errorf("5000: %d, %v", n, err)
	}
	for _, bad := range []string{"0", "-3", "x"} {
		t.Setenv(idlePairsEnv, bad)
		if _, err := idlePairs(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestPercentile checks the nearest-rank percentiles of BenchmarkEcho.
func TestPercentile(t *testing.T) {
	s := make([]time.Duration, 100)
	for i := range s {
		s[i] = time.Duration(i + 1)
	}
	for q, want := range map[int]time.Duration{50: 51, 90: 91, 99: 100} {
		if got := percentile(s, q); got != want {
			t.Errorf("p%d = %v, want %v", q, got, want)
		}
	}
	if got := percentile(s[:1], 99); got != 1 {
		t.Errorf("p99 of one sample = %v", got)
	}
}
