//go:build !js

package browser

import (
	"testing"

	"github.com/wsstream/wsstream/internal/jsharness"
)

// TestBrowser runs this package's js tests (*_js_test.go) in headless
// Chromium (see jsharness.RunTests), with the WebSocket endpoints they use
// served by newWSServer. Set WSSTREAM_BROWSER_RUN to pass -test.run to
// them.
func TestBrowser(t *testing.T) {
	ws := newWSServer()
	jsharness.RunTests(t, jsharness.Config{
		Register: ws.register,
		Stop:     ws.stop,
		RunEnv:   "WSSTREAM_BROWSER_RUN",
	})
}
