//go:build !js

package wsstream

// The proxies' handshakes: HTTP CONNECT and SOCKS5 CONNECT, over a
// connection to the proxy.

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"golang.org/x/net/proxy"
)

// maxProxyResponseHeader bounds the proxy's answer to CONNECT when the
// transport sets no MaxResponseHeaderBytes; it is net/http's default.
const maxProxyResponseHeader = 10 << 20

// connect asks the HTTP proxy u, at the other end of nc, for a tunnel to
// addr.
func (t *tunnel) connect(ctx context.Context, nc net.Conn, u *url.URL, addr string) error {
	hdr := t.tr.ProxyConnectHeader
	if t.tr.GetProxyConnectHeader != nil {
		var err error
		if hdr, err = t.tr.GetProxyConnectHeader(ctx, u, addr); err != nil {
			return err
		}
	}
	if hdr == nil {
		hdr = make(http.Header)
	}
	if u.User != nil {
		password, _ := u.User.Password()
		hdr = hdr.Clone()
		hdr.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+password)))
	}
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: addr},
		Host:   addr,
		Header: hdr,
	}
	limit := t.tr.MaxResponseHeaderBytes
	if limit <= 0 {
		limit = maxProxyResponseHeader
	}

	stop := interruptOnDone(ctx, nc)
	var resp *http.Response
	err := req.Write(nc)
	// The server does not speak before the client (the WebSocket
	// handshake, or TLS's), so nothing may follow the response.
	br := bufio.NewReader(&io.LimitedReader{R: nc, N: limit})
	if err == nil {
		resp, err = http.ReadResponse(br, req)
	}
	if ctxErr := stop(); ctxErr != nil {
		return fmt.Errorf("wsstream: CONNECT %s through proxy %s: %w", addr, u.Redacted(), ctxErr)
	}
	if err != nil {
		return fmt.Errorf("wsstream: CONNECT %s through proxy %s: %w", addr, u.Redacted(), err)
	}
	if t.tr.OnProxyConnectResponse != nil {
		if err := t.tr.OnProxyConnectResponse(ctx, u, req, resp); err != nil {
			return err
		}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: proxy %s answered CONNECT %s with %q", ErrProxyRefused, u.Redacted(), addr, resp.Status)
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("wsstream: proxy %s sent data after its answer to CONNECT %s, before the server was spoken to", u.Redacted(), addr)
	}
	return nil
}

// interruptOnDone makes nc's pending and future I/O fail once ctx is
// done. stop ends that and returns ctx's error if it happened.
func interruptOnDone(ctx context.Context, nc net.Conn) (stop func() error) {
	interrupted := make(chan struct{})
	stopFunc := context.AfterFunc(ctx, func() {
		nc.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	return func() error {
		if stopFunc() {
			return nil
		}
		<-interrupted
		return ctx.Err()
	}
}

// socksConnect asks the SOCKS5 proxy u, at the other end of nc, for a
// tunnel to addr. ctx's deadline and cancellation bound the exchange.
func socksConnect(ctx context.Context, nc net.Conn, u *url.URL, addr string) error {
	var auth *proxy.Auth
	if u.User != nil {
		auth = &proxy.Auth{User: u.User.Username()}
		auth.Password, _ = u.User.Password()
	}
	d, err := proxy.SOCKS5("tcp", nc.RemoteAddr().String(), auth, connDialer{nc})
	if err != nil {
		return err
	}
	// The socks dialer wraps nc only to report the address the proxy
	// bound; the tunnel is nc itself.
	_, err = d.(proxy.ContextDialer).DialContext(ctx, "tcp", addr)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("wsstream: SOCKS5 CONNECT %s through proxy %s: %w", addr, u.Redacted(), ctxErr)
	}
	// The proxy's answers are plain errors; what failed below is I/O.
	var se *os.SyscallError
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &se) {
		return fmt.Errorf("wsstream: SOCKS5 CONNECT %s through proxy %s: %w", addr, u.Redacted(), err)
	}
	return fmt.Errorf("%w: SOCKS5 proxy %s: %w", ErrProxyRefused, u.Redacted(), err)
}

// connDialer hands the SOCKS5 client the connection to the proxy that
// is already open.
type connDialer struct{ nc net.Conn }

func (d connDialer) Dial(string, string) (net.Conn, error) { return d.nc, nil }

func (d connDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	return d.nc, nil
}
