package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freePort returns a loopback address whose port was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitListening waits until addr accepts TCP connections: the proxies
// print nothing when they are ready.
func waitListening(t *testing.T, p *proc, addr string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.doneCh:
			t.Fatalf("the proxy exited: %v; stderr:\n%s", p.err, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
	}
}

// TestProxy carries tunnels through real proxies given with -proxy, with
// a user and password: microsocks (SOCKS5) for ws://, and tinyproxy (HTTP
// CONNECT) for wss://. Wrong credentials make the tunnel fail, which
// shows that the proxy is in the path.
func TestProxy(t *testing.T) {
	t.Setenv(tokenEnv, "")
	target := startTarget(t, echoHandler)

	t.Run("SOCKS5", func(t *testing.T) {
		bin := requireProgram(t, "microsocks")
		paddr := freePort(t)
		host, port, _ := net.SplitHostPort(paddr)
		p := start(t, nil, bin, "-i", host, "-p", port, "-u", "alice", "-P", "s3cret")
		waitListening(t, p, paddr)
		url, _ := runInProcess(t, "server", "-listen", "127.0.0.1:0", "-to", target)
		checkProxy(t, url, "", "socks5://alice:s3cret@"+paddr, "socks5://alice:wrong@"+paddr)
	})

	t.Run("HTTPConnect", func(t *testing.T) {
		bin := requireProgram(t, "tinyproxy")
		paddr := freePort(t)
		_, port, _ := net.SplitHostPort(paddr)
		dir := t.TempDir()
		cfg := filepath.Join(dir, "tinyproxy.conf")
		// No ConnectPort line: CONNECT to any port is allowed.
		conf := fmt.Sprintf("Port %s\nListen 127.0.0.1\nTimeout 60\nMaxClients 50\nLogLevel Info\n"+
			"LogFile \"%s/tinyproxy.log\"\nPidFile \"%s/tinyproxy.pid\"\nBasicAuth alice s3cret\nAllow 127.0.0.1\n", port, dir, dir)
		if os.Geteuid() == 0 {
			conf += "User nobody\nGroup nogroup\n"
			// tinyproxy drops to nobody, who must reach its log.
			os.Chmod(filepath.Dir(dir), 0o755)
			os.Chmod(dir, 0o777)
		}
		if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		p := start(t, nil, bin, "-d", "-c", cfg)
		waitListening(t, p, paddr)
		caFile, certFile, keyFile := testPKI(t)
		url, _ := runInProcess(t, "server", "-listen", "127.0.0.1:0", "-to", target, "-tls-cert", certFile, "-tls-key", keyFile)
		checkProxy(t, url, caFile, "http://alice:s3cret@"+paddr, "http://alice:wrong@"+paddr)
		if log, err := os.ReadFile(filepath.Join(dir, "tinyproxy.log")); !strings.Contains(string(log), "CONNECT") {
			t.Errorf("tinyproxy's log shows no CONNECT (%v):\n%s", err, log)
		}
	})
}

// checkProxy runs a client of url through the proxy good, which must
// carry a tunnel, and through bad, which must not.
func checkProxy(t *testing.T, url, caFile, good, bad string) {
	t.Helper()
	args := func(proxy string) []string {
		a := []string{"client", "-listen", "127.0.0.1:0", "-url", url, "-proxy", proxy, "-retry-timeout", "0"}
		if caFile != "" {
			a = append(a, "-ca", caFile)
		}
		return a
	}
	addr, _ := runInProcess(t, args(good)...)
	if err := echoThrough(dialTCP(t, addr), 13, 1<<20); err != nil {
		t.Fatalf("through %s: %v", good, err)
	}
	addr, log := runInProcess(t, args(bad)...)
	requireResetAt(t, addr)
	log.waitFor(t, "no tunnel")
	if strings.Contains(log.String(), "wrong") {
		t.Errorf("the proxy's password shows in the log:\n%s", log.String())
	}
}
