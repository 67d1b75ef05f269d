package main

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDrain sends SIGTERM to a server binary with an open tunnel: it stops
// accepting at once, the open tunnel keeps working, and the server exits
// with status 0 as soon as the tunnel has ended.
func TestDrain(t *testing.T) {
	target := startTarget(t, echoHandler)
	server, client, addr := startPair(t, target, []string{"-drain-timeout", "60s"}, []string{"-retry-timeout", "0"})
	c := dialTCP(t, addr)
	if err := echoThrough(c, 1, 64<<10); err != nil {
		t.Fatal(err)
	}

	server.cmd.Process.Signal(syscall.SIGTERM)
	server.stderr.waitFor(t, "stopping: no new connections")
	// A new tunnel cannot be opened: the client's attempt fails.
	requireResetAt(t, addr)
	client.stderr.waitFor(t, "connection refused")
	// The open tunnel still carries data.
	if err := echoThrough(c, 2, 256<<10); err != nil {
		t.Fatalf("the open tunnel after SIGTERM: %v", err)
	}
	start := time.Now()
	c.Close()
	if err := server.wait(t, 30*time.Second); err != nil {
		t.Fatalf("the server exited with %v, want status 0", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the server took %v to exit after the last tunnel ended", d)
	}
	if log := server.stderr.String(); strings.Contains(log, "drain timeout") {
		t.Errorf("the server reset tunnels:\n%s", log)
	}
}

// TestDrainTimeout sends SIGTERM to a server and a client with an idle
// tunnel open: after -drain-timeout the tunnel is reset and both exit
// with status 0.
func TestDrainTimeout(t *testing.T) {
	target := startTarget(t, echoHandler)
	server, client, addr := startPair(t, target, []string{"-drain-timeout", "500ms"}, []string{"-drain-timeout", "60s"})
	c := dialTCP(t, addr)
	if err := echoThrough(c, 1, 1<<10); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := server.stop(t, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("the server exited with %v, want status 0", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("the server exited after %v, before its drain timeout", d)
	}
	server.stderr.waitFor(t, "drain timeout: resetting open tunnels")
	server.stderr.waitFor(t, "local_end=shutdown")
	// The server's 1012 (service restart) is a failure: the client resets
	// the local connection instead of ending it cleanly.
	if _, err := io.Copy(io.Discard, c); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the tunnel cut short by the drain timeout: got %v, want a reset", err)
	}
	if err := client.stop(t, syscall.SIGINT, 30*time.Second); err != nil {
		t.Fatalf("the client exited with %v, want status 0", err)
	}
	// The client stopped listening.
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("the client still accepts connections after exiting")
	}
}
