//go:build !js

package wsstream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// userKey is the context key of the identity the test's authentication
// middleware stores.
type userKey struct{}

// TestConnRequest mounts a Listener on a mux route behind middleware
// that authenticates the client, stores its identity in the request's
// context and sets a response header. The accepted Conn's Request tells
// the server who connected, after the request has ended; the client sees
// the header on the 101 response.
func TestConnRequest(t *testing.T) {
	servedCh := make(chan struct{}, 1)
	l := NewListener(nil)
	t.Cleanup(func() { l.Close() })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rooms/{room}", func(w http.ResponseWriter, r *http.Request) {
		defer func() { servedCh <- struct{}{} }()
		user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Session", "s-"+user)
		l.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
	s := newServer(t, mux.ServeHTTP)

	// Refused by the middleware: no upgrade, no backlog slot.
	if c, resp, err := Dial(testContext(t), s.url+"/rooms/42", nil); err == nil {
		c.Close()
		t.Fatal("Dial without credentials succeeded")
	} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Dial without credentials: response %v, error %v; want 401", resp, err)
	}
	recv(t, servedCh)

	dopts := &DialOptions{}
	dopts.HTTPHeader = http.Header{"Authorization": {"Bearer alice"}}
	client, resp, err := Dial(testContext(t), s.url+"/rooms/42?since=7", dopts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer client.Close()
	if got := resp.Header.Get("X-Session"); got != "s-alice" {
		t.Errorf("101 response header X-Session = %q, want s-alice", got)
	}
	if client.Request() != nil {
		t.Error("a Conn made by Dial has a Request")
	}
	server := acceptConn(t, l)
	defer server.Close()
	recv(t, servedCh) // the request has ended: its context is cancelled

	r := server.Request()
	if r == nil {
		t.Fatal("Request() = nil for a Conn from a Listener")
	}
	if r.Method != http.MethodGet || r.URL.Path != "/rooms/42" || r.URL.Query().Get("since") != "7" || r.PathValue("room") != "42" {
		t.Errorf("Request: %s %v room %q, want GET /rooms/42?since=7 room 42", r.Method, r.URL, r.PathValue("room"))
	}
	if r.Header.Get("Authorization") != "Bearer alice" {
		t.Errorf("Request header Authorization = %q", r.Header.Get("Authorization"))
	}
	if r.RemoteAddr != client.LocalAddr().String() {
		t.Errorf("Request RemoteAddr = %q, want the client's %v", r.RemoteAddr, client.LocalAddr())
	}
	if r.TLS != nil {
		t.Error("Request TLS is set for ws://")
	}
	if r.Body != http.NoBody {
		t.Errorf("Request Body = %T, want http.NoBody", r.Body)
	}
	if got := r.Context().Value(userKey{}); got != "alice" {
		t.Errorf("Request context value = %v, want alice", got)
	}
	if err := r.Context().Err(); err != nil {
		t.Errorf("Request context after the request ended: %v, want nil", err)
	}

	// Each call returns a copy of its own.
	r.Header.Set("Authorization", "Bearer mallory")
	if got := server.Request().Header.Get("Authorization"); got != "Bearer alice" {
		t.Errorf("after modifying a copy, Request header Authorization = %q", got)
	}
	requireConnected(t, client, server)
}

// selfSignedTLS returns a server config with a certificate for
// 127.0.0.1 and a client config that trusts it.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wsstream test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return server, &tls.Config{RootCAs: pool}
}

// TestServeTLS serves a Listener on a TLS listener: a wss:// Dial that
// offers HTTP/2 is upgraded over HTTP/1.1, data flows both ways, and the
// server's Conn reports the TLS state of its request.
func TestServeTLS(t *testing.T) {
	l, tcpAddr, clientTLS := serveTLS(t)
	if l.Addr().String() != tcpAddr.String() {
		t.Errorf("Addr() = %v, want %v", l.Addr(), tcpAddr)
	}

	clientTLS.NextProtos = []string{"h2", "http/1.1"}
	dopts := &DialOptions{}
	dopts.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS, ForceAttemptHTTP2: true}}
	client, server := dialListener(t, l, "wss", dopts)
	requireConnected(t, client, server)
	requireConnected(t, server, client)

	r := server.Request()
	if r == nil || r.TLS == nil || !r.TLS.HandshakeComplete {
		t.Fatalf("Request().TLS = %+v, want a completed handshake", r)
	}
	if r.TLS.NegotiatedProtocol == "h2" {
		t.Errorf("negotiated h2 for a WebSocket upgrade")
	}
	if server.RemoteAddr().String() != client.LocalAddr().String() {
		t.Errorf("server RemoteAddr %v, client LocalAddr %v", server.RemoteAddr(), client.LocalAddr())
	}
}
