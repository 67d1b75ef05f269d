package wsstream

import (
	"context"
	"net"
)

// Dialer dials one WebSocket URL in the shapes of dial functions that
// other libraries take, so that they run over a Conn:
//
//   - DialContext: http.Transport.DialContext, net.Dialer.DialContext's
//     shape, golang.org/x/net/proxy.ContextDialer;
//   - DialAddr: grpc.WithContextDialer.
//
// Every call dials URL with [Dial] and Options: the network and address
// those libraries pass (the host of an http:// URL, a gRPC target) are
// ignored, and the Conn reports the addresses of its TCP connection (to
// the server, or to a proxy), not them. On failure the methods return a
// nil net.Conn, never a nil *Conn in a non-nil interface, and Dial's
// error. The handshake response is not returned.
//
// In a browser (GOOS=js) Options is the js DialOptions and the Conn
// reports the URL as its remote address.
//
// A Dialer may be used by several goroutines at once; each call makes a
// new Conn. The zero Dialer has no URL: its calls fail.
type Dialer struct {
	// URL is the WebSocket URL to dial: ws://, wss://, http:// or
	// https://.
	URL string

	// Options are passed to Dial; nil is valid.
	Options *DialOptions
}

// DialContext dials d.URL; network and addr are ignored. ctx bounds the
// dial and the handshake only, as with Dial.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.dial(ctx)
}

// DialAddr dials d.URL; addr is ignored. It has the shape that
// grpc.WithContextDialer takes.
func (d *Dialer) DialAddr(ctx context.Context, addr string) (net.Conn, error) {
	return d.dial(ctx)
}

func (d *Dialer) dial(ctx context.Context) (net.Conn, error) {
	c, _, err := Dial(ctx, d.URL, d.Options)
	if err != nil {
		return nil, err
	}
	return c, nil
}
