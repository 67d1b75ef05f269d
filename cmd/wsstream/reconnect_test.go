package main

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestBackoff checks the waits between attempts: each between half and
// all of a step that doubles from 100ms and stops at 5s.
func TestBackoff(t *testing.T) {
	var b backoff
	for attempt := 1; attempt <= 20; attempt++ {
		step := min(100*time.Millisecond<<(attempt-1), 5*time.Second)
		for range 100 {
			if d := b.delay(attempt); d < step/2 || d > step {
				t.Fatalf("attempt %d: waited %v, want %v to %v", attempt, d, step/2, step)
			}
		}
	}
	// Jitter: the waits are not all the same.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[b.delay(5)] = true
	}
	if len(seen) < 2 {
		t.Errorf("20 waits after attempt 5 were all %v", b.delay(5))
	}
}

// TestReconnect starts a client whose server is down, connects to it, and
// starts the server only once the client has logged a failed attempt: the
// waiting connection then gets through, with what it sent meanwhile.
func TestReconnect(t *testing.T) {
	t.Setenv(tokenEnv, "")
	target := startTarget(t, echoHandler)
	// A free port for the server: taken, then released.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serverAddr := l.Addr().String()
	l.Close()

	addr, clientLog := runInProcess(t, "client", "-listen", "127.0.0.1:0", "-url", "ws://"+serverAddr+"/", "-retry-timeout", "60s")
	c := dialTCP(t, addr)
	if _, err := c.Write([]byte("sent while the server was down\n")); err != nil {
		t.Fatal(err)
	}
	clientLog.waitFor(t, "reaching the server failed; retrying")
	clientLog.waitFor(t, "attempt=2")

	runInProcess(t, "server", "-listen", serverAddr, "-to", target)
	want := "sent while the server was down\n"
	got := make([]byte, len(want))
	if _, err := c.Read(got); err != nil || string(got) != want[:len(got)] {
		t.Fatalf("read %q, %v; want %q", got, err, want)
	}
	if err := echoThrough(c, 11, 256<<10); err != nil {
		t.Fatal(err)
	}
	c.Close() // before the server's cleanup, which would wait for the tunnel
	clientLog.waitFor(t, "reached the server")
	if !strings.Contains(clientLog.String(), "retry_in=") {
		t.Errorf("the retries do not log their wait:\n%s", clientLog.String())
	}
}

// TestRetryGivesUp checks that a connection whose server stays down is
// reset once -retry-timeout has passed.
func TestRetryGivesUp(t *testing.T) {
	t.Setenv(tokenEnv, "")
	// Port 0 cannot be connected to: every attempt fails at once.
	addr, clientLog := runInProcess(t, "client", "-listen", "127.0.0.1:0", "-url", "ws://127.0.0.1:0/", "-retry-timeout", "1s")
	start := time.Now()
	requireResetAt(t, addr)
	if d := time.Since(start); d < 400*time.Millisecond || d > 30*time.Second {
		t.Errorf("gave up after %v, want about 1s", d)
	}
	clientLog.waitFor(t, "gave up after")
}
