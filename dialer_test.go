//go:build !js

package wsstream

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"golang.org/x/net/proxy"
)

// Dialer's methods have the shapes the libraries take.
var (
	_                                                 = http.Transport{DialContext: (*Dialer)(nil).DialContext}
	_ proxy.ContextDialer                             = (*Dialer)(nil)
	_ func(context.Context, string) (net.Conn, error) = (*Dialer)(nil).DialAddr // grpc.WithContextDialer
)

// TestDialerHTTP runs HTTP over wsstream: an http.Server serves a
// Listener's Conns, and an http.Transport dials them with
// Dialer.DialContext, whatever host the request names.
func TestDialerHTTP(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s%s from %s", r.Method, r.Host, r.URL.Path, r.RemoteAddr)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close() // closes ln and the Conns being served
		recv(t, served)
	})

	d := &Dialer{URL: "ws://" + ln.Addr().String() + "/"}
	var locals []string
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			locals = append(locals, c.LocalAddr().String())
		}
		return c, err
	}}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: testTimeout}
	for _, path := range []string{"/one", "/two"} {
		resp, err := client.Get("http://backend.invalid" + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(locals) != 1 {
			t.Fatalf("%d Conns dialed, want 1, reused by keep-alive", len(locals))
		}
		if want := "GET backend.invalid" + path + " from " + locals[0]; string(body) != want {
			t.Errorf("GET %s: %q, want %q", path, body, want)
		}
	}
}

// TestDialerError checks that failures return a nil net.Conn interface,
// not a nil *Conn in one, with Dial's error.
func TestDialerError(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *Dialer
	}{
		{"ClosedPort", &Dialer{URL: "ws://" + closedAddr(t) + "/"}},
		{"NoURL", &Dialer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d
			c, err := d.DialContext(testContext(t), "tcp", "ignored:80")
			if c != nil || err == nil {
				t.Errorf("Dialer{URL: %q}.DialContext: %#v, %v; want a nil net.Conn and an error", d.URL, c, err)
			}
			c, err = d.DialAddr(testContext(t), "ignored:80")
			if c != nil || err == nil {
				t.Errorf("Dialer{URL: %q}.DialAddr: %#v, %v; want a nil net.Conn and an error", d.URL, c, err)
			}
		})
	}
}
