package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestKeepAlive makes 10 rounds of 5 requests, each round with a new
// client: every request succeeds, each round dials one WebSocket, and
// every request after a round's first reuses it (and the server sees the
// same remote address for all of them).
func TestKeepAlive(t *testing.T) {
	srv, err := startServer("127.0.0.1:0")
	if err != nil {
		t.Fatalf("startServer: %v", err)
	}
	defer func() {
		if err := srv.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()

	for round := range 10 {
		c := newClient(srv.url)
		var remote string
		for i := range 5 {
			body, reused, err := c.get(testContext(t), fmt.Sprintf("http://wsstream.example/hello?i=%d", i))
			if err != nil {
				t.Fatalf("round %d request %d: %v", round, i, err)
			}
			prefix := fmt.Sprintf("hello %d from the server, you are ", i)
			if !strings.HasPrefix(body, prefix) {
				t.Fatalf("round %d request %d: body %q, want prefix %q", round, i, body, prefix)
			}
			if i == 0 {
				remote = strings.TrimPrefix(body, prefix)
			} else if got := strings.TrimPrefix(body, prefix); got != remote {
				t.Errorf("round %d request %d: server saw %s, the first request came from %s", round, i, got, remote)
			}
			if reused != (i > 0) {
				t.Errorf("round %d request %d: reused = %v, want %v", round, i, reused, i > 0)
			}
		}
		if n := c.dials.Load(); n != 1 {
			t.Errorf("round %d: %d WebSockets dialed for 5 requests, want 1", round, n)
		}
		c.close()
	}
}

// TestRun runs the demo as `go run ./http` does.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(testContext(t), []string{"-n", "3"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"connection reused: true", "3 requests over 1 WebSocket connection(s)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
