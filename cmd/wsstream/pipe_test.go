package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// startTarget runs handle for every connection to a new TCP listener on
// 127.0.0.1 and returns its address. When the test ends, the listener and
// the connections are closed and every handle has returned.
func startTarget(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	doneCh := make(chan struct{})
	go func() {
		defer close(doneCh)
		serveConns(ctx, l, func() { l.Close() }, 0, slog.New(slog.DiscardHandler), func(ctx context.Context, _ uint64, c net.Conn) {
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			defer c.Close()
			handle(c)
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-doneCh
	})
	return l.Addr().String()
}

func echoHandler(c net.Conn) { io.Copy(c, c) }

// tunnel is a tunnel server and client on 127.0.0.1 in front of a
// target.
type tunnel struct {
	addr   string // the tunnel client's TCP address
	server *tunnelServer
	client *tunnelClient
	// stop shuts both down and waits for them; safe to call again.
	stop func()
}

// startTunnel runs a tunnel server forwarding to target and a tunnel
// client forwarding to it. It logs to the test's output. Both stop when
// the test ends, and must return nil.
func startTunnel(t *testing.T, target string) *tunnel {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tl.Close()
		t.Fatal(err)
	}
	hc, err := httpClient("", nil)
	if err != nil {
		t.Fatal(err)
	}
	tn := &tunnel{
		addr:   cl.Addr().String(),
		server: &tunnelServer{target: target, dialTimeout: 10 * time.Second, log: log.With("side", "server")},
		client: &tunnelClient{url: "ws://" + tl.Addr().String() + "/t", opts: dialOptions(hc, ""),
			dialTimeout: 10 * time.Second, log: log.With("side", "client")},
	}
	ctx, cancel := context.WithCancel(context.Background())
	errCh := make(chan error, 2)
	go func() { errCh <- tn.server.serve(ctx, tl, nil, "", nil, 0) }()
	go func() { errCh <- tn.client.serve(ctx, cl, 0) }()
	var once sync.Once
	tn.stop = func() {
		once.Do(func() {
			cancel()
			for range 2 {
				if err := <-errCh; err != nil {
					t.Errorf("serve: %v", err)
				}
			}
		})
	}
	t.Cleanup(tn.stop)
	return tn
}

func (tn *tunnel) dial(t *testing.T) *net.TCPConn {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(testContext(t), "tcp", tn.addr)
	if err != nil {
		t.Fatalf("dialing the tunnel client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout)) // a bug fails the test instead of hanging it
	return c.(*net.TCPConn)
}

// randomReader returns a reader of size deterministic random bytes.
func randomReader(seed byte, size int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{seed}), size)
}

// echoThrough sends size random bytes through c to an echo target while
// reading the echo, and checks the SHA-256 of both.
func echoThrough(c net.Conn, seed byte, size int64) error {
	sent := sha256.New()
	writeErrCh := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.MultiWriter(c, sent), randomReader(seed, size))
		writeErrCh <- err
	}()
	got := sha256.New()
	n, err := io.CopyN(got, c, size)
	if werr := <-writeErrCh; werr != nil {
		return fmt.Errorf("writing: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("reading the echo: %w after %d of %d bytes", err, n, size)
	}
	if !bytes.Equal(sent.Sum(nil), got.Sum(nil)) {
		return fmt.Errorf("the echo of %d bytes differs (SHA-256)", size)
	}
	return nil
}

// TestLargeTransfer carries 100 MiB (8 MiB with -short) through the
// tunnel to an echo target and back, byte-exact by SHA-256; the tunnel's
// counters agree.
func TestLargeTransfer(t *testing.T) {
	size := int64(100 << 20)
	if testing.Short() {
		size = 8 << 20
	}
	tn := startTunnel(t, startTarget(t, echoHandler))
	c := tn.dial(t)
	start := time.Now()
	if err := echoThrough(c, 1, size); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d MiB each way in %v", size>>20, time.Since(start))
	c.Close()
	tn.stop()
	for name, st := range map[string]*stats{"client": &tn.client.stats, "server": &tn.server.stats} {
		if st.conns.Load() != 1 || st.toWS.Load() != size || st.fromWS.Load() != size {
			t.Errorf("%s counted %d connections, %d bytes to and %d from the WebSocket; want 1, %d, %d",
				name, st.conns.Load(), st.toWS.Load(), st.fromWS.Load(), size, size)
		}
	}
}

// TestConcurrentConnections runs 50 tunnelled connections at once (10
// with -short), each echoing its own 512 KiB (64 KiB) of random bytes.
func TestConcurrentConnections(t *testing.T) {
	n, size := 50, int64(512<<10)
	if testing.Short() {
		n, size = 10, 64<<10
	}
	tn := startTunnel(t, startTarget(t, echoHandler))
	var wg sync.WaitGroup
	for i := range n {
		c := tn.dial(t)
		wg.Go(func() {
			defer c.Close()
			if err := echoThrough(c, byte(i), size); err != nil {
				t.Errorf("connection %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	tn.stop()
	if got := tn.client.stats.conns.Load(); got != int64(n) {
		t.Errorf("the client counted %d connections, want %d", got, n)
	}
}

// TestEndOfStream checks how the end of a stream crosses the tunnel,
// which has no half-close of its own:
//   - download: the target sends and closes; we read every byte, then
//     EOF;
//   - upload: we send and shut down writing; the target reads every
//     byte, then EOF, and we read EOF too.
func TestEndOfStream(t *testing.T) {
	const size = 4 << 20
	want := sha256.New()
	io.Copy(want, randomReader(7, size))

	t.Run("Download", func(t *testing.T) {
		tn := startTunnel(t, startTarget(t, func(c net.Conn) {
			io.Copy(c, randomReader(7, size))
		}))
		got := sha256.New()
		n, err := io.Copy(got, tn.dial(t)) // until EOF
		if err != nil || n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
			t.Fatalf("read %d bytes then %v; want %d bytes, matching SHA-256, then EOF", n, err, size)
		}
	})

	t.Run("Upload", func(t *testing.T) {
		type result struct {
			n   int64
			sum []byte
			err error
		}
		resultCh := make(chan result, 1)
		tn := startTunnel(t, startTarget(t, func(c net.Conn) {
			h := sha256.New()
			n, err := io.Copy(h, c) // until EOF
			resultCh <- result{n, h.Sum(nil), err}
		}))
		c := tn.dial(t)
		if _, err := io.Copy(c, randomReader(7, size)); err != nil {
			t.Fatalf("writing: %v", err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		var r result
		select {
		case r = <-resultCh:
		case <-time.After(testTimeout):
			t.Fatal("the target did not read EOF")
		}
		if r.err != nil || r.n != size || !bytes.Equal(r.sum, want.Sum(nil)) {
			t.Fatalf("the target read %d bytes then %v; want %d bytes, matching SHA-256, then EOF", r.n, r.err, size)
		}
		if n, err := io.Copy(io.Discard, c); n != 0 || err != nil {
			t.Fatalf("after the upload we read %d bytes then %v, want EOF", n, err)
		}
	})
}

// TestFailuresPropagate checks that failures are not passed on as a clean
// end of stream: an unreachable target, and a target that resets its
// connection, both reset the local connection.
func TestFailuresPropagate(t *testing.T) {
	t.Run("UnreachableTarget", func(t *testing.T) {
		// Connecting to port 0 fails at once (refused on Linux), and no
		// other test's listener can take that port.
		requireReset(t, startTunnel(t, "127.0.0.1:0"))
	})

	t.Run("TargetResets", func(t *testing.T) {
		tn := startTunnel(t, startTarget(t, func(c net.Conn) {
			c.Write([]byte("partial"))
			c.(*net.TCPConn).SetLinger(0)
			c.Close() // a reset, not a FIN
		}))
		requireReset(t, tn)
	})
}

// requireReset connects to tn and requires the connection to be reset.
// The reset can come so fast that it already fails the dial.
func requireReset(t *testing.T, tn *tunnel) {
	t.Helper()
	requireResetAt(t, tn.addr)
}
