package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait so that a broken proxy fails instead of hanging.
const testTimeout = 20 * time.Second

// server is a TCP server on loopback that hands every accepted connection to
// the test through connCh.
type server struct {
	ln     net.Listener
	connCh chan *net.TCPConn
}

func startServer(t *testing.T) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln, connCh: make(chan *net.TCPConn, 16)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.connCh <- c.(*net.TCPConn)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		close(s.connCh)
		for c := range s.connCh {
			c.Close()
		}
	})
	return s
}

// pair is one proxied connection as seen by a test: both real endpoints
// and the Link between them.
type pair struct {
	p      *Proxy
	link   *Link
	client *net.TCPConn
	server *net.TCPConn
}

// ends returns the sending and the receiving endpoint of direction d.
func (pr *pair) ends(d Direction) (from, to *net.TCPConn) {
	if d == ClientToServer {
		return pr.client, pr.server
	}
	return pr.server, pr.client
}

func newProxy(t *testing.T, s *server) *Proxy {
	t.Helper()
	p, err := New(s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// dial connects a new client through p and returns the resulting pair.
func dial(t *testing.T, p *Proxy, s *server) *pair {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	pr := &pair{p: p, client: c.(*net.TCPConn)}
	t.Cleanup(func() { pr.client.Close() })
	if pr.link, err = p.WaitConn(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case pr.server = <-s.connCh:
	case <-ctx.Done():
		t.Fatal("server did not accept")
	}
	t.Cleanup(func() { pr.server.Close() })
	deadline := time.Now().Add(testTimeout)
	pr.client.SetDeadline(deadline)
	pr.server.SetDeadline(deadline)
	return pr
}

func setup(t *testing.T) *pair {
	t.Helper()
	s := startServer(t)
	return dial(t, newProxy(t, s), s)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(n)}).Read(b)
	return b
}

// goErr runs f in a goroutine and returns a channel delivering its result.
func goErr(f func() error) <-chan error {
	errCh := make(chan error, 1)
	go func() { errCh <- f() }()
	return errCh
}

func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

func write(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// expectSilence asserts that nothing arrives on c for a short while.
func expectSilence(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	defer c.SetReadDeadline(time.Now().Add(testTimeout))
	var b [1]byte
	if n, err := c.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read = %d, %v; want timeout", n, err)
	}
}

func TestPassThrough(t *testing.T) {
	pr := setup(t)
	const size = 10 << 20
	up, down := randBytes(size), randBytes(size+1)
	transfer := func(from, to *net.TCPConn, data []byte) <-chan error {
		sendCh := goErr(func() error {
			if _, err := from.Write(data); err != nil {
				return err
			}
			return from.CloseWrite()
		})
		return goErr(func() error {
			got, err := io.ReadAll(to) // EOF is propagated as a half-close
			if err != nil {
				return err
			}
			if !bytes.Equal(got, data) {
				return errors.New("data corrupted")
			}
			return <-sendCh
		})
	}
	upCh := transfer(pr.client, pr.server, up)
	downCh := transfer(pr.server, pr.client, down)
	for _, errCh := range []<-chan error{upCh, downCh} {
		if err := <-errCh; err != nil {
			t.Fatal(err)
		}
	}
	if got := pr.link.Forwarded(ClientToServer); got != size {
		t.Errorf("Forwarded(ClientToServer) = %d, want %d", got, size)
	}
	if got := pr.link.Forwarded(ServerToClient); got != size+1 {
		t.Errorf("Forwarded(ServerToClient) = %d, want %d", got, size+1)
	}
	select {
	case <-pr.link.Done():
	case <-ctxT(t).Done():
		t.Fatal("link not done after EOF both ways")
	}
}

func TestFreezeThaw(t *testing.T) {
	for _, d := range []Direction{ClientToServer, ServerToClient} {
		t.Run(d.String(), func(t *testing.T) {
			pr := setup(t)
			from, to := pr.ends(d)
			write(t, from, []byte("warm"))
			readN(t, to, 4)
			pr.link.Freeze(d) // the pump is now blocked reading
			data := randBytes(8 << 20)
			// Backpressure: with the proxy not reading, the sender blocks.
			from.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			n, err := from.Write(data)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("write while frozen = %d, %v; want timeout", n, err)
			}
			from.SetWriteDeadline(time.Now().Add(testTimeout))
			expectSilence(t, to)
			if got := pr.link.Forwarded(d); got != 4 {
				t.Fatalf("Forwarded while frozen = %d, want 4", got)
			}
			// The other direction still flows.
			write(t, to, []byte("pong"))
			readN(t, from, 4)

			pr.link.Thaw(d)
			sendCh := goErr(func() error { _, err := from.Write(data[n:]); return err })
			if got := readN(t, to, len(data)); !bytes.Equal(got, data) {
				t.Fatal("data lost or reordered across freeze")
			}
			if err := <-sendCh; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReset(t *testing.T) {
	pr := setup(t)
	pr.link.Reset()
	for _, c := range []*net.TCPConn{pr.client, pr.server} {
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read after Reset = %v, want ECONNRESET", err)
		}
	}
	<-pr.link.Done()
}

func TestCloseSide(t *testing.T) {
	for _, d := range []Direction{ClientToServer, ServerToClient} {
		t.Run(d.String(), func(t *testing.T) {
			pr := setup(t)
			from, to := pr.ends(d)
			pr.link.CloseSide(d)
			if n, err := to.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("read after CloseSide = %d, %v; want EOF", n, err)
			}
			select {
			case <-pr.link.Done():
			case <-ctxT(t).Done():
				t.Fatal("link not done after CloseSide")
			}
			expectSilence(t, from) // the other peer is not told
			pr.p.Close()
			if n, err := from.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("read after Proxy.Close = %d, %v; want EOF", n, err)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	for _, d := range []Direction{ClientToServer, ServerToClient} {
		t.Run(d.String(), func(t *testing.T) {
			pr := setup(t)
			from, to := pr.ends(d)
			data := randBytes(1000)
			write(t, from, data[:50])
			if err := pr.link.WaitForwarded(ctxT(t), d, 50); err != nil {
				t.Fatal(err)
			}
			pr.link.Truncate(d, 10)
			write(t, from, data[50:])
			got, err := io.ReadAll(to)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data[:60]) {
				t.Fatalf("got %d bytes, want the first 60", len(got))
			}
			<-pr.link.Done()
			if err := pr.link.WaitForwarded(ctxT(t), d, 61); err != ErrLinkDone {
				t.Fatalf("WaitForwarded past the end = %v, want ErrLinkDone", err)
			}
		})
	}
}

func TestTruncateZero(t *testing.T) {
	pr := setup(t)
	pr.link.Truncate(ServerToClient, 0) // takes effect with the pump blocked reading
	if n, err := pr.client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read = %d, %v; want EOF", n, err)
	}
}

func TestInject(t *testing.T) {
	for _, d := range []Direction{ClientToServer, ServerToClient} {
		t.Run(d.String(), func(t *testing.T) {
			pr := setup(t)
			from, to := pr.ends(d)
			write(t, from, []byte("hello "))
			if err := pr.link.WaitForwarded(ctxT(t), d, 6); err != nil {
				t.Fatal(err)
			}
			pr.link.Inject(d, []byte("GARBAGE"))
			write(t, from, []byte("world"))
			const want = "hello GARBAGEworld"
			if got := readN(t, to, len(want)); string(got) != want {
				t.Fatalf("got %q, want %q", got, want)
			}

			// While frozen, injected bytes wait and come first on thaw.
			pr.link.Freeze(d)
			write(t, from, []byte("!"))
			pr.link.Inject(d, []byte("#"))
			expectSilence(t, to)
			pr.link.Thaw(d)
			if got := readN(t, to, 2); string(got) != "#!" {
				t.Fatalf("got %q, want %q", got, "#!")
			}
			if got := pr.link.Forwarded(d); got != 12 {
				t.Fatalf("Forwarded = %d, want 12 (injected bytes not counted)", got)
			}
		})
	}
}

func TestDrip(t *testing.T) {
	pr := setup(t)
	d := ServerToClient
	from, to := pr.ends(d)

	pr.link.Drip(d, time.Millisecond)
	data := randBytes(100)
	start := time.Now()
	write(t, from, data)
	if got := readN(t, to, len(data)); !bytes.Equal(got, data) {
		t.Fatal("data corrupted")
	}
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Fatalf("100 bytes at 1/ms took %v, want >= 90ms", el)
	}

	// Drip(d, 0) applies at once, even in the middle of a long wait.
	d = ClientToServer
	from, to = pr.ends(d)
	pr.link.Drip(d, time.Hour)
	write(t, from, data)
	if err := pr.link.WaitForwarded(ctxT(t), d, 1); err != nil {
		t.Fatal(err)
	}
	pr.link.Drip(d, 0)
	if got := readN(t, to, len(data)); !bytes.Equal(got, data) {
		t.Fatal("data corrupted")
	}
}

func TestCloseActive(t *testing.T) {
	s := startServer(t)
	p := newProxy(t, s)
	var links []*pair
	var sendChs []<-chan error
	for i := range 4 {
		pr := dial(t, p, s)
		links = append(links, pr)
		switch i {
		case 1:
			pr.link.Freeze(ClientToServer)
		case 2:
			pr.link.Drip(ClientToServer, time.Hour)
		}
		// Nobody reads on the server: the pumps block in Write or in a wait
		// and the client writes until the proxy closes its connection.
		sendChs = append(sendChs, goErr(func() error {
			chunk := randBytes(1 << 20)
			for {
				if _, err := pr.client.Write(chunk); err != nil {
					return err
				}
			}
		}))
	}
	if err := links[0].link.WaitForwarded(ctxT(t), ClientToServer, 1); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i, pr := range links {
		select {
		case <-pr.link.Done():
		default:
			t.Errorf("link %d not done after Close", i)
		}
		if err := <-sendChs[i]; errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("link %d: client connection not closed: %v", i, err)
		}
	}
	if _, err := p.WaitConn(ctxT(t)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WaitConn after Close = %v, want net.ErrClosed", err)
	}
}

func TestDialFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close()
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The reset may even beat the client's connect.
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read through a proxy with no target = %v, want ECONNRESET", err)
		}
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("dial = %v, want ECONNRESET", err)
	}
	if n := len(p.Conns()); n != 0 {
		t.Fatalf("Conns() has %d links, want 0", n)
	}
}
