//go:build !js

package wsstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"testing"
)

// serveTLS returns a Listener served on a TLS listener on loopback (closed
// when the test ends), the address of the TCP listener below, and a TLS
// configuration for clients that trusts its certificate.
func serveTLS(t *testing.T) (*Listener, net.Addr, *tls.Config) {
	t.Helper()
	serverTLS, clientTLS := selfSignedTLS(t)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Serve(tls.NewListener(tcp, serverTLS), nil)
	t.Cleanup(func() { l.Close() })
	return l, tcp.Addr(), clientTLS
}

// dialListener dials l over scheme ("ws" or "wss") with dopts and accepts
// the Conn: the client's and the server's ends, closed when the test ends.
func dialListener(t *testing.T, l *Listener, scheme string, dopts *DialOptions) (client, server *Conn) {
	t.Helper()
	client, _, err := Dial(testContext(t), scheme+"://"+l.Addr().String()+"/", dopts)
	if err != nil {
		t.Fatalf("Dial %s: %v", scheme, err)
	}
	t.Cleanup(func() { client.Close() })
	server = acceptConn(t, l)
	t.Cleanup(func() { server.Close() })
	return client, server
}

// TestWSSStreamIntact sends many small messages each way over wss://, with
// Reads waiting on both ends. Below a client's TLS, the transport carries
// ciphertext: nothing there may be taken for a frame (a decoder that did
// would hand the application ciphertext, or cut a TLS record, about once
// in a few hundred messages).
func TestWSSStreamIntact(t *testing.T) {
	l, _, clientTLS := serveTLS(t)
	dopts := &DialOptions{}
	dopts.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}}
	client, server := dialListener(t, l, "wss", dopts)

	rng := rand.New(rand.NewPCG(1, 2))
	var want []byte
	var sizes []int
	for range 3000 {
		n := 1 + rng.IntN(200)
		sizes = append(sizes, n)
		for range n {
			want = append(want, byte(rng.Uint32()))
		}
	}
	for _, dir := range []struct {
		name     string
		from, to *Conn
	}{{"server to client", server, client}, {"client to server", client, server}} {
		errCh := make(chan error, 1)
		go func() {
			p := want
			for _, n := range sizes {
				if _, err := dir.from.Write(p[:n]); err != nil {
					errCh <- err
					return
				}
				p = p[n:]
			}
			errCh <- nil
		}()
		got := make([]byte, len(want))
		if _, err := io.ReadFull(dir.to, got); err != nil {
			t.Fatalf("%s: ReadFull: %v", dir.name, err)
		}
		if err := <-errCh; err != nil {
			t.Fatalf("%s: Write: %v", dir.name, err)
		}
		if !bytes.Equal(got, want) {
			i := 0
			for got[i] == want[i] {
				i++
			}
			t.Fatalf("%s: stream differs from byte %d of %d", dir.name, i, len(want))
		}
	}
}

// scrambledConn is a TCP connection whose bytes are XORed with 0x5a on
// the way out and back in: a connection that gives its socket through
// syscall.Conn (by embedding *net.TCPConn) but changes the bytes, as a
// user's wrapper (encryption, compression, accounting) may.
type scrambledConn struct{ *net.TCPConn }

func (c scrambledConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	for i := range p[:n] {
		p[i] ^= 0x5a
	}
	return n, err
}

func (c scrambledConn) Write(p []byte) (int, error) {
	q := bytes.Clone(p)
	for i := range q {
		q[i] ^= 0x5a
	}
	return c.TCPConn.Write(q)
}

type scrambledListener struct{ net.Listener }

func (l scrambledListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return scrambledConn{c.(*net.TCPConn)}, nil
}

// TestWrappedSocketBytesGoThroughTheWrapper runs a stream over a
// connection type of the user's on both ends (a dialer's and a
// listener's) that changes every byte: every byte must go through its
// Read and Write, never to or from the socket it embeds.
func TestWrappedSocketBytesGoThroughTheWrapper(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Serve(scrambledListener{tcp}, nil)
	t.Cleanup(func() { l.Close() })
	dopts := &DialOptions{}
	dopts.HTTPClient = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return scrambledConn{c.(*net.TCPConn)}, nil
		},
	}}
	client, server := dialListener(t, l, "ws", dopts)
	requireConnected(t, client, server)
	requireConnected(t, server, client)
}
