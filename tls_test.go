//go:build !js

package wsstream

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"testing"
)

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
	client, _, err := Dial(testContext(t), "ws://"+l.Addr().String()+"/", dopts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer client.Close()
	server := acceptConn(t, l)
	defer server.Close()
	requireConnected(t, client, server)
	requireConnected(t, server, client)
}
