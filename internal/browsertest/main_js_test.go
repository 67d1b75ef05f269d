//go:build js && wasm

package browsertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsstream/wsstream"
	"github.com/wsstream/wsstream/internal/jsharness"
	"go.uber.org/goleak"
)

// The js tests run only in a browser, started by TestBrowser of the native
// build, which serves the endpoints they use. runtime.handleEvent is the
// runtime's goroutine for browser events, not a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}

// testTimeout bounds every wait in a test.
const testTimeout = 60 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// serverURL returns the native test server's URL, http://127.0.0.1:PORT.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(jsharness.EnvServer)
	if u == "" {
		t.Skipf("%s is unset: the js tests run in Chromium, started by TestBrowser (go test ./internal/browsertest)", jsharness.EnvServer)
	}
	return u
}

// dial dials path on the test server and drops the Conn when the test
// ends.
func dial(t testing.TB, path string, opts *wsstream.Options) *wsstream.Conn {
	t.Helper()
	do := &wsstream.DialOptions{Subprotocols: []string{"wsstream-test"}}
	if opts != nil {
		do.Options = *opts
	}
	url := "ws" + strings.TrimPrefix(serverURL(t), "http") + path
	c, resp, err := wsstream.Dial(testContext(t), url, do)
	if err != nil {
		t.Fatalf("Dial %s: %v", path, err)
	}
	if resp != nil {
		t.Errorf("Dial returned a response in a browser: %v", resp.Status)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

var ids atomic.Int64

// newID returns an id for /ws/check, /release and /seen unique in this run.
func newID(t testing.TB) string {
	return fmt.Sprintf("%s-%d", t.Name(), ids.Add(1))
}

// get requests path on the test server and returns the body of its 200
// answer.
func get(t testing.TB, path string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), "GET", serverURL(t)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %q %v", path, resp.Status, b, err)
	}
	return string(b)
}

// readPattern reads from c, checking every byte against pattern seed,
// until Read fails, and returns how many bytes it read and the error.
// pause, if not zero, is slept after every Read: it makes the reader
// slow, as load, not as synchronisation.
func readPattern(t testing.TB, c *wsstream.Conn, seed uint64, bufSize int, pause time.Duration) (int, error) {
	t.Helper()
	gen := jsharness.Pattern(seed)
	got, want := make([]byte, bufSize), make([]byte, bufSize)
	n := 0
	for {
		k, err := c.Read(got)
		gen.Read(want[:k])
		if string(got[:k]) != string(want[:k]) {
			t.Fatalf("the %d bytes read at offset %d differ from what the server sent", k, n)
		}
		n += k
		if err != nil {
			return n, err
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
}
