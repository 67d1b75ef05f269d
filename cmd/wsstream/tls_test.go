package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// testPKI writes a CA certificate, and a certificate for 127.0.0.1 and
// localhost that it signed with its key, as PEM files in a temporary
// directory.
func testPKI(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wsstream test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	return writeFile(t, "ca.pem", pemOf("CERTIFICATE", caDER)),
		writeFile(t, "cert.pem", pemOf("CERTIFICATE", leafDER)),
		writeFile(t, "key.pem", pemOf("PRIVATE KEY", keyDER))
}

// TestTLS runs a server with -tls-cert and -tls-key and clients of its
// wss:// URL: one trusting the CA with -ca gets through, one using the
// system's roots gives up at once.
func TestTLS(t *testing.T) {
	t.Setenv(tokenEnv, "")
	caFile, certFile, keyFile := testPKI(t)
	target := startTarget(t, echoHandler)
	url, _ := runInProcess(t, "server", "-listen", "127.0.0.1:0", "-to", target, "-tls-cert", certFile, "-tls-key", keyFile)
	if !strings.HasPrefix(url, "wss://127.0.0.1:") {
		t.Fatalf("the server printed %q, want a wss:// URL", url)
	}

	t.Run("CustomCA", func(t *testing.T) {
		addr, _ := runInProcess(t, "client", "-listen", "127.0.0.1:0", "-url", url, "-ca", caFile)
		if err := echoThrough(dialTCP(t, addr), 9, 1<<20); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("SystemRoots", func(t *testing.T) {
		addr, log := runInProcess(t, "client", "-listen", "127.0.0.1:0", "-url", url)
		requireResetAt(t, addr)
		if !strings.Contains(log.String(), "certificate is not trusted") || strings.Contains(log.String(), "retrying") {
			t.Fatalf("the client should log the untrusted certificate and not retry:\n%s", log.String())
		}
	})

	t.Run("BadCAFile", func(t *testing.T) {
		err := run(t.Context(), []string{"client", "-url", url, "-ca", certFile + ".missing"}, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "reading -ca") {
			t.Fatalf("got %v, want an error reading -ca", err)
		}
	})
}
