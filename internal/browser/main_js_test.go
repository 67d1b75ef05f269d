//go:build js && wasm

package browser

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream/internal/jsharness"
	"go.uber.org/goleak"
)

// The js tests run only in a browser, started by TestBrowser of the native
// build, which serves the endpoints they use.
// runtime.handleEvent is the runtime's goroutine for browser events, not
// a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}

// envServer tells the js tests where the native harness's server is.
const envServer = jsharness.EnvServer

// testTimeout bounds every wait in a test.
const testTimeout = 30 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// serverURL returns the native test server's URL, http://127.0.0.1:PORT.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envServer)
	if u == "" {
		t.Skipf("%s is unset: the js tests run in Chromium, started by TestBrowser (go test ./internal/browser)", envServer)
	}
	return u
}

// wsURL returns the WebSocket URL of path on the test server.
func wsURL(t testing.TB, path string) string {
	return "ws" + strings.TrimPrefix(serverURL(t), "http") + path
}

// dial dials path on the test server and closes the Conn when the test
// ends.
func dial(t testing.TB, path string, opts *Options) *Conn {
	t.Helper()
	c, err := Dial(testContext(t), wsURL(t, path), []string{"wsstream-test"}, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// waitEnded waits until the browser has reported the end of c's socket.
func waitEnded(t testing.TB, c *Conn) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(testTimeout):
		t.Fatal("the socket did not end")
	}
}

// wantReleased fails t unless c has ended and released its js.Funcs.
func wantReleased(t testing.TB, c *Conn) {
	t.Helper()
	waitEnded(t, c)
	if len(c.funcs) != 0 {
		t.Errorf("%d js.Funcs still held after the socket ended", len(c.funcs))
	}
}

// readAll reads messages until Reader fails, appending their bytes to
// buf, and returns the bytes and Reader's error.
func readAll(ctx context.Context, c *Conn) ([]byte, error) {
	var buf []byte
	for {
		_, r, err := c.Reader(ctx)
		if err != nil {
			return buf, err
		}
		b := make([]byte, 64<<10)
		for {
			n, err := r.Read(b)
			buf = append(buf, b[:n]...)
			if err != nil {
				break
			}
		}
	}
}

// wantCloseError fails t unless err is a CloseError with code and reason.
func wantCloseError(t testing.TB, err error, code websocket.StatusCode, reason string) {
	t.Helper()
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
		t.Fatalf("got %v, want a CloseError %d %q", err, code, reason)
	}
}
