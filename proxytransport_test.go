//go:build !js

package wsstream

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestProxyTransportSettings checks that the settings of the user's
// transport that net/http applies to proxies are applied to the tunnel.
func TestProxyTransportSettings(t *testing.T) {
	open := startTinyproxy(t)
	authed := startTinyproxy(t, "BasicAuth wsuser wspass")
	wss := newProxyTarget(t, true, nil, "")
	dial := func(t *testing.T, target *proxyTarget, tr *http.Transport) *Conn {
		t.Helper()
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = target.tls
		}
		client, _, err := Dial(testContext(t), target.url, &DialOptions{
			DialOptions: websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}},
		})
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		var server *Conn
		select {
		case server = <-target.accepted:
		case <-time.After(testTimeout):
			t.Fatal("the target did not accept")
		}
		t.Cleanup(func() { closeBoth(client, server) })
		return client
	}

	t.Run("Proxy error", func(t *testing.T) {
		errNoProxy := errors.New("no proxy for you")
		tr := &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return nil, errNoProxy }}
		if _, _, err := Dial(testContext(t), wss.url, &DialOptions{DialOptions: websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}}); !errors.Is(err, errNoProxy) {
			t.Fatalf("Dial: %v; want the Proxy func's error", err)
		}
	})

	t.Run("DialTLSContext", func(t *testing.T) {
		// net/http does not use a TLS dialer for a server behind an
		// http:// proxy: it dials the proxy and runs TLS in the tunnel.
		tr := &http.Transport{
			Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: open.addr}),
			DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				t.Errorf("DialTLSContext(%s) called through a proxy", addr)
				return nil, errors.New("unexpected")
			},
		}
		if c := dial(t, wss, tr); c.RemoteAddr().String() != open.addr {
			t.Errorf("RemoteAddr %s, want the proxy's %s", c.RemoteAddr(), open.addr)
		}
	})

	t.Run("deprecated Dial", func(t *testing.T) {
		var dialed []string
		tr := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: open.addr})}
		//lint:ignore SA1019 the deprecated hook is under test
		tr.Dial = func(network, addr string) (net.Conn, error) {
			dialed = append(dialed, addr)
			return net.Dial(network, addr)
		}
		dial(t, wss, tr)
		if len(dialed) != 1 || dialed[0] != open.addr {
			t.Errorf("Transport.Dial dialed %q, want the proxy %s", dialed, open.addr)
		}
	})

	t.Run("GetProxyConnectHeader and OnProxyConnectResponse", func(t *testing.T) {
		var status string
		proxyURL := &url.URL{Scheme: "http", Host: authed.addr}
		tr := &http.Transport{
			Proxy: http.ProxyURL(proxyURL),
			GetProxyConnectHeader: func(ctx context.Context, u *url.URL, target string) (http.Header, error) {
				if u.String() != proxyURL.String() || target != wss.addr {
					t.Errorf("GetProxyConnectHeader(%s, %s), want (%s, %s)", u, target, proxyURL, wss.addr)
				}
				h := make(http.Header)
				h.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("wsuser:wspass")))
				return h, nil
			},
			OnProxyConnectResponse: func(ctx context.Context, u *url.URL, req *http.Request, resp *http.Response) error {
				status = resp.Status
				return nil
			},
		}
		dial(t, wss, tr)
		if status == "" || status[:3] != "200" {
			t.Errorf("OnProxyConnectResponse saw status %q, want 200", status)
		}
	})
}
