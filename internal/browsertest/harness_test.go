//go:build !js

package browsertest

import (
	"testing"

	"github.com/wsstream/wsstream/internal/jsharness"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestBrowser runs this package's js tests in headless Chromium against
// the endpoints of newServer. Set WSSTREAM_BROWSERTEST_RUN to pass
// -test.run to them.
func TestBrowser(t *testing.T) {
	s := newServer()
	jsharness.RunTests(t, jsharness.Config{
		Register: s.register,
		Stop:     s.stop,
		RunEnv:   "WSSTREAM_BROWSERTEST_RUN",
	})
}
