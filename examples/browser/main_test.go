//go:build !js

package main

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsstream/wsstream/internal/jsharness"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestPage serves the example to headless Chromium and waits for the
// page's Go program to report, over its yamux chat stream, that it
// echoed 1 MiB through wsstream and verified it. Chromium is required
// under CI; elsewhere the test is skipped without it.
func TestPage(t *testing.T) {
	chromium := jsharness.FindChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, err := build(ctx, filepath.Join(t.TempDir(), "client.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	reports := make(chan report, 1)
	s := newServer(a, func(r report) {
		select {
		case reports <- r:
		default:
		}
	}, log.New(io.Discard, "", 0))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	t.Cleanup(s.close) // after Chromium is gone, before hs.Close

	exited, stderr := jsharness.StartChromium(t, chromium, hs.URL+"/")
	timer := time.NewTimer(2 * time.Minute)
	defer timer.Stop()
	select {
	case r := <-reports:
		if !strings.HasPrefix(r.line, "ok: 1048576 bytes echoed") {
			t.Fatalf("the page reported %q", r.line)
		}
		t.Logf("the page reported: %s", r.line)
	case err := <-exited:
		t.Fatalf("chromium exited (%v) before the page reported; its output:\n%s", err, stderr())
	case <-timer.C:
		t.Fatalf("the page did not report within 2 minutes; chromium's output:\n%s", stderr())
	}
}
