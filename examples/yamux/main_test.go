package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestConcurrentStreams echoes 100 concurrent yamux streams of 256 KiB
// each over one WebSocket; each is verified byte-exact (SHA-256).
func TestConcurrentStreams(t *testing.T) {
	p, err := newPair(t.Context())
	if err != nil {
		t.Fatalf("newPair: %v", err)
	}
	start := time.Now()
	if err := echoStreams(p.client, 100, 256<<10); err != nil {
		t.Error(err)
	}
	t.Logf("100 streams x 256 KiB echoed in %v", time.Since(start))
	if err := p.close(); err != nil {
		t.Errorf("echo server: %v", err)
	}
}

// TestRun runs the demo as `go run ./yamux` does.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-streams", "5", "-size", "1000"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if want := "5 concurrent streams echoed 1000 bytes each"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}
