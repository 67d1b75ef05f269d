//go:build !js

package wsstream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// proxyTarget is a WebSocket server behind a proxy: it upgrades every
// request with Accept.
type proxyTarget struct {
	url      string      // the ws:// or wss:// URL to dial
	addr     string      // the address it listens on
	tls      *tls.Config // trusts its certificate; nil for ws://
	accepted chan *Conn
}

// newProxyTarget starts a target listening on l (on loopback when l is
// nil) and named host in its URL (its address when host is "").
func newProxyTarget(t *testing.T, secure bool, l net.Listener, host string) *proxyTarget {
	t.Helper()
	pt := &proxyTarget{accepted: make(chan *Conn, 1)}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		pt.accepted <- c
	}))
	if l != nil {
		s.Listener.Close()
		s.Listener = l
	}
	scheme := "ws"
	if secure {
		s.StartTLS()
		scheme = "wss"
		pt.tls = s.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	pt.addr = s.Listener.Addr().String()
	hostport := pt.addr
	if host != "" {
		_, port, _ := net.SplitHostPort(pt.addr)
		hostport = net.JoinHostPort(host, port)
	}
	pt.url = scheme + "://" + hostport + "/"
	return pt
}

// dialRecorder is a transport's DialContext that keeps the connections
// it makes, to check that none is left open.
type dialRecorder struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *dialRecorder) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, nc)
		d.mu.Unlock()
	}
	return nc, err
}

// checkClosed fails the test unless every connection made was closed.
func (d *dialRecorder) checkClosed(t *testing.T) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, nc := range d.conns {
		nc.SetReadDeadline(time.Now())
		if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("the connection to %s was left open (Read: %v)", nc.RemoteAddr(), err)
		}
	}
}

// dialVia dials target with a transport whose Proxy func is proxy and
// whose dialer is rec, and returns the client Conn and the Conn the
// target accepted.
func dialVia(t *testing.T, target *proxyTarget, proxy func(*http.Request) (*url.URL, error), rec *dialRecorder) (client, server *Conn, err error) {
	t.Helper()
	tr := &http.Transport{Proxy: proxy, DialContext: rec.DialContext, TLSClientConfig: target.tls}
	client, _, err = Dial(testContext(t), target.url, &DialOptions{
		DialOptions: websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}},
	})
	if err != nil {
		if client != nil {
			t.Error("Dial returned a Conn with its error")
		}
		return nil, nil, err
	}
	select {
	case server = <-target.accepted:
	case <-time.After(testTimeout):
		t.Fatal("the target did not accept")
	}
	t.Cleanup(func() { closeBoth(client, server) })
	return client, server, nil
}

// checkTunnel checks a Conn dialed through the proxy at via: it reports
// the addresses of its socket, to the proxy; bytes go both ways; Close
// completes the close handshake through the tunnel.
func checkTunnel(t *testing.T, client, server *Conn, via string) {
	t.Helper()
	if got := client.RemoteAddr().String(); got != via {
		t.Errorf("client RemoteAddr %s, want the proxy's %s", got, via)
	}
	for _, d := range []struct {
		from, to *Conn
		msg      string
	}{{client, server, "from the client"}, {server, client, "from the server"}} {
		if _, err := d.from.Write([]byte(d.msg)); err != nil {
			t.Fatalf("Write: %v", err)
		}
		got := make([]byte, len(d.msg))
		if _, err := io.ReadFull(d.to, got); err != nil || string(got) != d.msg {
			t.Fatalf("read %q, %v; want %q", got, err, d.msg)
		}
	}
	if err := client.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := server.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("server Read after the client closed: %v, want io.EOF", err)
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestProxyHTTP dials ws:// and wss:// servers through tinyproxy, with
// and without credentials: both are tunnelled with CONNECT (net/http
// alone would send ws:// as an absolute-form GET).
func TestProxyHTTP(t *testing.T) {
	open := startTinyproxy(t)
	authed := startTinyproxy(t, "BasicAuth wsuser wspass")
	for _, secure := range []bool{false, true} {
		target := newProxyTarget(t, secure, nil, "")
		for _, tc := range []struct {
			name  string
			proxy runningProxy
			user  *url.Userinfo
		}{
			{"open", open, nil},
			{"credentials", authed, url.UserPassword("wsuser", "wspass")},
		} {
			t.Run(target.url[:strings.Index(target.url, ":")]+"/"+tc.name, func(t *testing.T) {
				pu := &url.URL{Scheme: "http", Host: tc.proxy.addr, User: tc.user}
				client, server, err := dialVia(t, target, http.ProxyURL(pu), new(dialRecorder))
				if err != nil {
					t.Fatalf("Dial through tinyproxy: %v", err)
				}
				checkTunnel(t, client, server, tc.proxy.addr)
				if want := "CONNECT " + target.addr + " "; !strings.Contains(tc.proxy.out.String(), want) {
					t.Errorf("tinyproxy logged no %q", want)
				}
			})
		}
	}
}

// TestProxyHTTPRefused checks that Dial fails with ErrProxyRefused and
// the proxy's status when tinyproxy refuses the tunnel, leaves no
// connection open and does not print the proxy password.
func TestProxyHTTPRefused(t *testing.T) {
	authed := startTinyproxy(t, "BasicAuth wsuser wspass")
	only443 := startTinyproxy(t, "ConnectPort 443")
	open := startTinyproxy(t)
	target := newProxyTarget(t, false, nil, "")
	closed := &proxyTarget{url: "ws://" + closedAddr(t) + "/"}
	for _, tc := range []struct {
		name   string
		proxy  runningProxy
		user   *url.Userinfo
		target *proxyTarget
		status string
	}{
		{"no credentials", authed, nil, target, "407"},
		// tinyproxy answers wrong credentials with 401, not 407.
		{"wrong password", authed, url.UserPassword("wsuser", "secretwrong"), target, "401"},
		{"port not allowed", only443, nil, target, "403"},
		{"server down", open, nil, closed, "500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := new(dialRecorder)
			pu := &url.URL{Scheme: "http", Host: tc.proxy.addr, User: tc.user}
			_, _, err := dialVia(t, tc.target, http.ProxyURL(pu), rec)
			if !errors.Is(err, ErrProxyRefused) || !strings.Contains(err.Error(), tc.status) {
				t.Fatalf("Dial: %v; want ErrProxyRefused with status %s", err, tc.status)
			}
			if strings.Contains(err.Error(), "secretwrong") {
				t.Errorf("the error shows the password: %v", err)
			}
			rec.checkClosed(t)
		})
	}
}

// TestProxySOCKS5 dials ws:// and wss:// servers through microsocks, with
// and without credentials, as socks5:// and socks5h:// proxies; a refusal
// fails with ErrProxyRefused and leaves no connection open.
func TestProxySOCKS5(t *testing.T) {
	open := startMicrosocks(t, "", "")
	authed := startMicrosocks(t, "wsuser", "wspass")
	for _, secure := range []bool{false, true} {
		target := newProxyTarget(t, secure, nil, "")
		for _, scheme := range []string{"socks5", "socks5h"} {
			for _, tc := range []struct {
				name  string
				proxy runningProxy
				user  *url.Userinfo
			}{
				{"open", open, nil},
				{"credentials", authed, url.UserPassword("wsuser", "wspass")},
			} {
				t.Run(target.url[:strings.Index(target.url, ":")]+"/"+scheme+"/"+tc.name, func(t *testing.T) {
					pu := &url.URL{Scheme: scheme, Host: tc.proxy.addr, User: tc.user}
					client, server, err := dialVia(t, target, http.ProxyURL(pu), new(dialRecorder))
					if err != nil {
						t.Fatalf("Dial through microsocks: %v", err)
					}
					checkTunnel(t, client, server, tc.proxy.addr)
				})
			}
		}
	}

	target := newProxyTarget(t, false, nil, "")
	closed := &proxyTarget{url: "ws://" + closedAddr(t) + "/"}
	for _, tc := range []struct {
		name   string
		proxy  runningProxy
		user   *url.Userinfo
		target *proxyTarget
	}{
		{"refused/no credentials", authed, nil, target},
		{"refused/wrong password", authed, url.UserPassword("wsuser", "secretwrong"), target},
		{"refused/server down", open, nil, closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := new(dialRecorder)
			pu := &url.URL{Scheme: "socks5", Host: tc.proxy.addr, User: tc.user}
			_, _, err := dialVia(t, tc.target, http.ProxyURL(pu), rec)
			if !errors.Is(err, ErrProxyRefused) {
				t.Fatalf("Dial: %v; want ErrProxyRefused", err)
			}
			if strings.Contains(err.Error(), "secretwrong") {
				t.Errorf("the error shows the password: %v", err)
			}
			rec.checkClosed(t)
		})
	}
}

// TestProxyUnreachable checks that a proxy that cannot be reached fails
// Dial with an error naming it, not ErrProxyRefused.
func TestProxyUnreachable(t *testing.T) {
	target := newProxyTarget(t, false, nil, "")
	for _, scheme := range []string{"http", "https", "socks5"} {
		t.Run(scheme, func(t *testing.T) {
			pu := &url.URL{Scheme: scheme, Host: closedAddr(t)}
			_, _, err := dialVia(t, target, http.ProxyURL(pu), new(dialRecorder))
			if err == nil || errors.Is(err, ErrProxyRefused) || !strings.Contains(err.Error(), pu.Host) {
				t.Fatalf("Dial: %v; want an error naming the proxy %s", err, pu.Host)
			}
		})
	}
}

// TestProxySilent checks that the dial's context bounds the proxy's
// handshake: a proxy that accepts and never answers fails Dial when the
// context ends, with the context's error and no connection left open.
func TestProxySilent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, nc)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		recv(t, acceptDone)
		for _, nc := range held {
			nc.Close()
		}
	})
	target := newProxyTarget(t, false, nil, "")
	for _, scheme := range []string{"http", "socks5"} {
		t.Run(scheme, func(t *testing.T) {
			rec := new(dialRecorder)
			tr := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: scheme, Host: l.Addr().String()}), DialContext: rec.DialContext}
			ctx, cancel := context.WithTimeout(testContext(t), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			c, _, err := Dial(ctx, target.url, &DialOptions{DialOptions: websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}})
			if c != nil || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Dial: %v; want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > testTimeout/2 {
				t.Errorf("Dial returned after %v", d)
			}
			rec.checkClosed(t)
		})
	}
}
