//go:build !js

package wsstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestReadLoopRestsAndWakesUnderLoad: both ends write a stream and read
// the other's in bursts, pausing between them as an application that does
// other work (so the read loop rests while a Read waits, comes back when
// the Reads stop, hands over to a fresh goroutine when it has read, and
// again), while each end pings the other at random moments. Every byte
// arrives once and in order, every ping is answered within a bound (the
// read loop takes the socket back at most 2 × readIdleMax after the last
// Read, so no ping waits for the application's next Read), and both Conns
// close cleanly. The streams are slow enough that a pause never fills the
// receive buffer: a ping behind more data than that waits, by design,
// until the application reads it (as keepalive knows).
func TestReadLoopRestsAndWakesUnderLoad(t *testing.T) {
	const (
		duration  = 3 * time.Second
		streamLen = 512 << 10
		pingBound = time.Second
	)
	client, server := newPair(t, pairOptions{})
	end := time.Now().Add(duration)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	readDone := make(chan time.Time, 2)
	for i, c := range []*Conn{client, server} {
		seed := uint32(i + 1)
		other := uint32(2 - i)
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		wg.Go(func() { // writer: the stream, in bursts
			data := make([]byte, 4<<10)
			for off := int64(0); off < streamLen; {
				n := min(int64(1+rng.IntN(len(data))), streamLen-off)
				fillPattern(data[:n], seed, off)
				if _, err := c.Write(data[:n]); err != nil {
					errs <- fmt.Errorf("Write at %d: %w", off, err)
					return
				}
				off += n
				time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
			}
		})
		wg.Go(func() { // reader: bursts of Reads, then pauses past the idle timer
			buf := make([]byte, 32<<10)
			want := make([]byte, len(buf))
			prng := rand.New(rand.NewPCG(uint64(i), 11))
			for off := int64(0); off < streamLen; {
				for range 1 + prng.IntN(20) {
					n, err := c.Read(buf[:1+prng.IntN(len(buf))])
					fillPattern(want[:n], other, off)
					if string(buf[:n]) != string(want[:n]) {
						errs <- fmt.Errorf("Read: wrong bytes at offset %d", off)
						return
					}
					off += int64(n)
					if err != nil {
						errs <- fmt.Errorf("Read at %d: %w", off, err)
						return
					}
					if off == streamLen {
						readDone <- time.Now()
						return // and reads no more: the read loop answers the pings
					}
				}
				time.Sleep(time.Duration(prng.IntN(100)) * time.Millisecond)
			}
		})
		wg.Go(func() { // pinger
			prng := rand.New(rand.NewPCG(uint64(i), 13))
			for time.Now().Before(end) {
				time.Sleep(time.Duration(prng.IntN(30)) * time.Millisecond)
				ctx, cancel := context.WithTimeout(context.Background(), pingBound)
				_, err := c.Ping(ctx)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("Ping: %w", err)
					return
				}
			}
		})
	}
	waitGroup(t, &wg)
	close(errs)
	close(readDone)
	for at := range readDone {
		if left := end.Sub(at); left < time.Second {
			t.Errorf("a reader finished %v before the pings ended; want a second or more without Reads", left)
		}
	}
	for err := range errs {
		t.Error(err)
	}
	if err := errors.Join(closeWithin(client), closeWithin(server)); err != nil {
		t.Fatal(err)
	}
}

// closeWithin closes c and reports an error if Close fails or takes
// longer than its close timeout allows.
func closeWithin(c *Conn) error {
	start := time.Now()
	err := c.Close()
	if took := time.Since(start); took > c.opts.CloseTimeout+time.Second {
		return fmt.Errorf("Close took %v", took)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("Close: %w", err)
	}
	return nil
}
