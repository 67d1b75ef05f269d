//go:build js && wasm

package browser

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDialContext: a handshake that does not finish before ctx ends is
// abandoned with ctx's error.
func TestDialContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(testContext(t), 300*time.Millisecond)
	defer cancel()
	c, err := Dial(ctx, wsURL(t, "/hang"), nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) || c != nil {
		t.Fatalf("Dial to a server that never answers: %v, %v; want DeadlineExceeded", c, err)
	}

	ctx, cancel = context.WithCancel(testContext(t))
	cancel()
	if _, err := Dial(ctx, wsURL(t, "/ws/echo"), nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial with a cancelled ctx: %v, want Canceled", err)
	}
}

// TestDialFails: a refused handshake (an HTTP 404) is ErrConnectionLost,
// all the browser tells; a bad URL is the browser's SyntaxError.
func TestDialFails(t *testing.T) {
	if _, err := Dial(testContext(t), wsURL(t, "/not-a-websocket"), nil, nil); !errors.Is(err, ErrConnectionLost) {
		t.Errorf("Dial to a 404: %v, want ErrConnectionLost", err)
	}
	if _, err := Dial(testContext(t), "ftp://127.0.0.1/", nil, nil); err == nil {
		t.Error("Dial to a bad URL succeeded")
	}
}
