package bench

import (
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait of a test or benchmark, so that a bug
// fails it instead of hanging the run.
const waitTimeout = 20 * time.Second

// startServer starts tr's server with serve, stopped when tb ends (after
// the cleanups registered later, so after the connections are closed),
// and returns its dial function, bounded by waitTimeout.
func startServer(tb testing.TB, tr transport, serve serveFunc) func() net.Conn {
	tb.Helper()
	dial, stop, err := tr.listen(serve)
	if err != nil {
		tb.Fatalf("%s: listen: %v", tr.name, err)
	}
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("%s: stop: %v", tr.name, err)
		}
	})
	return func() net.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		c, err := dial(ctx)
		if err != nil {
			tb.Fatalf("%s: dial: %v", tr.name, err)
		}
		return c
	}
}

// notifyConn is a net.Conn whose closed channel is closed by Close.
type notifyConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *notifyConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.closed) })
	return err
}

// openPair opens one connection pair over tr: dialed is the client end,
// accepted the server end, handed over by its serve call, which then
// waits for accepted to be closed. Both are closed when tb ends.
func openPair(tb testing.TB, tr transport) (dialed, accepted net.Conn) {
	tb.Helper()
	handed := make(chan net.Conn, 1)
	dial := startServer(tb, tr, func(c net.Conn) {
		nc := &notifyConn{Conn: c, closed: make(chan struct{})}
		handed <- nc
		<-nc.closed
	})
	dialed = dial()
	select {
	case accepted = <-handed:
	case <-time.After(waitTimeout):
		dialed.Close()
		tb.Fatalf("%s: the server did not accept the connection", tr.name)
	}
	tb.Cleanup(func() { closeBoth(dialed, accepted) })
	return dialed, accepted
}

// closeBoth closes a and b concurrently and waits for both: closing one
// end of a WebSocket may wait for the other end's close frame.
func closeBoth(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Go(func() { a.Close() })
	wg.Go(func() { b.Close() })
	wg.Wait()
}

// serveEcho writes back whatever it reads from c until reading fails, as
// an echo server does: its goroutine is blocked in Read while c is idle.
// It reads into a 64-byte buffer, so that the idle cost of a pair is the
// library's rather than the application's buffer.
func serveEcho(c net.Conn) {
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// memStats returns, after collecting garbage twice (so that sync.Pool
// caches are emptied too), HeapAlloc+StackInuse (the live heap and the
// goroutine stacks) and HeapInuse+StackInuse (the heap spans in use and
// the stacks).
func memStats() (alloc, inuse uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse, ms.HeapInuse + ms.StackInuse
}

// stableGoroutines returns the number of goroutines once it has stopped
// changing for 10ms, as goroutines that finished a handshake exit; it
// gives up after a second. There is no signal to wait for: the
// goroutines are the libraries'.
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
