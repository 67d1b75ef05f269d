//go:build js && wasm

package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// measureRounds is how often each case of TestMeasureCloseDelivery runs.
const measureRounds = 5

// TestMeasureCloseDelivery measures what reaches the reader when a server
// writes 2 MiB (about 64 messages) and closes 1000: with
// coder/websocket's own js Conn (logged only, as BEFORE) and with this
// package's Conn (logged as AFTER, and asserted: every byte, then the
// CloseError 1000). Each runs with a prompt reader and with a busy one
// that spends 5 ms on each message, as an application does that does
// something with the data; then the close event arrives while messages
// still wait.
func TestMeasureCloseDelivery(t *testing.T) {
	const total = 2 << 20
	path := "/ws/write?n=2097152&seed=5&code=1000&reason=done"
	for _, busy := range []time.Duration{0, 5 * time.Millisecond} {
		reader := fmt.Sprintf("reader busy %v per message", busy)
		t.Run(fmt.Sprintf("coder/busy=%v", busy), func(t *testing.T) {
			for i := range measureRounds {
				n, err := readCoder(t, wsURL(t, path), busy)
				t.Logf("BEFORE coder/websocket js Conn, %s, round %d: %d of %d bytes, then %v", reader, i+1, n, total, err)
			}
		})
		t.Run(fmt.Sprintf("browser/busy=%v", busy), func(t *testing.T) {
			for i := range measureRounds {
				c := dial(t, path, nil)
				n, err := 0, error(nil)
				for {
					var p []byte
					if _, r, rerr := c.Reader(context.Background()); rerr != nil {
						err = rerr
						break
					} else if p, err = io.ReadAll(r); err != nil {
						break
					}
					n += len(p)
					time.Sleep(busy) // the application's work, not a synchronisation
				}
				t.Logf("AFTER internal/browser Conn, %s, round %d: %d of %d bytes, then %v", reader, i+1, n, total, err)
				var ce websocket.CloseError
				if n != total || !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure {
					t.Errorf("round %d: %d bytes then %v; want %d then a CloseError 1000", i+1, n, err, total)
				}
			}
		})
	}
}

// readCoder reads url with coder/websocket's js Conn until Read fails,
// spending busy on each message, and returns the bytes read and the error.
func readCoder(t *testing.T, url string, busy time.Duration) (int, error) {
	ctx := testContext(t)
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(-1)
	for n := 0; ; {
		_, p, err := c.Read(ctx)
		if err != nil {
			return n, err
		}
		n += len(p)
		time.Sleep(busy) // the application's work, not a synchronisation
	}
}
