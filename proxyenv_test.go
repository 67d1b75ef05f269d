//go:build !js

package wsstream

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http/httpproxy"
)

// TestProxyFromEnvironment checks that Dial uses the proxy the
// environment chooses: HTTP_PROXY for ws://, HTTPS_PROXY for wss://, none
// for a host in NO_PROXY.
//
// http.ProxyFromEnvironment (DefaultTransport's Proxy, so Dial's default)
// reads the environment once per process, so a test cannot change what
// it sees. The transport here has a Proxy func that runs the same code,
// httpproxy.FromEnvironment().ProxyFunc(), on every request instead.
//
// Environment settings never proxy localhost or loopback addresses, so
// the servers are named by this machine's host name: it must resolve to
// an address of this machine, where they listen.
func TestProxyFromEnvironment(t *testing.T) {
	tiny := startTinyproxy(t)
	socks := startMicrosocks(t, "wsuser", "wspass")
	host, ip := localName(t)
	listen := func() net.Listener {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ws := newProxyTarget(t, false, listen(), host)
	wss := newProxyTarget(t, true, listen(), host)
	wss.tls.ServerName = "example.com" // a name in httptest's certificate
	fromEnvironment := func(req *http.Request) (*url.URL, error) {
		return httpproxy.FromEnvironment().ProxyFunc()(req.URL)
	}

	t.Setenv("REQUEST_METHOD", "") // under CGI, HTTP_PROXY is ignored
	t.Setenv("HTTP_PROXY", "http://"+tiny.addr)
	t.Setenv("HTTPS_PROXY", "socks5://wsuser:wspass@"+socks.addr)
	for _, name := range []string{"http_proxy", "https_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(name, "")
	}
	for _, tc := range []struct {
		name    string
		noProxy string
		target  *proxyTarget
		via     string
	}{
		{"ws/HTTP_PROXY", "", ws, tiny.addr},
		{"wss/HTTPS_PROXY", "", wss, socks.addr},
		{"ws/NO_PROXY", host, ws, ws.addr},
		{"wss/NO_PROXY", "example.org," + host, wss, wss.addr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NO_PROXY", tc.noProxy)
			client, server, err := dialVia(t, tc.target, fromEnvironment, new(dialRecorder))
			if err != nil {
				t.Fatalf("Dial %s: %v", tc.target.url, err)
			}
			checkTunnel(t, client, server, tc.via)
		})
	}
}

// localName returns this machine's host name and an address it resolves
// to on which a test can listen. It skips the test (fails it under CI)
// when there is none.
func localName(t *testing.T) (host, ip string) {
	t.Helper()
	host, err := os.Hostname()
	if err == nil {
		var addrs []string
		if addrs, err = net.LookupHost(host); err == nil {
			for _, a := range addrs {
				if l, lerr := net.Listen("tcp", net.JoinHostPort(a, "0")); lerr == nil {
					l.Close()
					return host, a
				}
			}
		}
	}
	msg := "this machine's host name does not resolve to an address of its own"
	if os.Getenv("CI") == "" {
		t.Skipf("%s (%v); skipping because CI is unset", msg, err)
	}
	t.Fatalf("%s (%v)", msg, err)
	return "", ""
}

// TestProxyHTTPS dials through an https:// proxy: TLS to the proxy, then
// CONNECT with credentials inside it, then (for wss://) TLS to the
// server inside the tunnel. The proxy is a minimal CONNECT proxy of our
// own on an httptest TLS server, as neither tinyproxy nor microsocks
// speaks TLS.
func TestProxyHTTPS(t *testing.T) {
	var tunnels sync.WaitGroup
	p := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		r.Header.Set("Authorization", r.Header.Get("Proxy-Authorization")) // for BasicAuth
		if user, password, ok := r.BasicAuth(); !ok || user != "wsuser" || password != "wspass" {
			http.Error(w, "who are you?", http.StatusProxyAuthRequired)
			return
		}
		dst, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			dst.Close()
			return
		}
		io.WriteString(nc, "HTTP/1.1 200 Connection established\r\n\r\n")
		tunnels.Add(2)
		go func() { defer tunnels.Done(); io.Copy(dst, brw.Reader); dst.(*net.TCPConn).CloseWrite() }()
		go func() { defer tunnels.Done(); io.Copy(nc, dst); nc.Close(); dst.Close() }()
	}))
	t.Cleanup(func() { p.Close(); waitGroup(t, &tunnels) })
	proxyAddr := p.Listener.Addr().String()

	for _, secure := range []bool{false, true} {
		target := newProxyTarget(t, secure, nil, "")
		// The proxy and the server have the same certificate,
		// httptest's: the client trusts it for both.
		target.tls = p.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		t.Run(target.url[:strings.Index(target.url, ":")], func(t *testing.T) {
			for _, tc := range []struct {
				name     string
				password string
			}{{"credentials", "wspass"}, {"wrong password", "secretwrong"}} {
				pu := &url.URL{Scheme: "https", Host: proxyAddr, User: url.UserPassword("wsuser", tc.password)}
				rec := new(dialRecorder)
				client, server, err := dialVia(t, target, http.ProxyURL(pu), rec)
				if tc.password != "wspass" {
					if !errors.Is(err, ErrProxyRefused) || !strings.Contains(err.Error(), "407") || strings.Contains(err.Error(), tc.password) {
						t.Errorf("Dial with a wrong password: %v; want ErrProxyRefused with 407, without the password", err)
					}
					rec.checkClosed(t)
					continue
				}
				if err != nil {
					t.Fatalf("Dial through an https:// proxy: %v", err)
				}
				checkTunnel(t, client, server, proxyAddr)
			}
		})
	}
}
