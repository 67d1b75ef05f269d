//go:build js && wasm

package browser

import (
	"context"
	"fmt"
	"net"
	"syscall/js"
	"time"

	"github.com/coder/websocket"
)

// Polling bufferedAmount starts at minPoll and doubles up to maxPoll while
// the browser's send buffer stays above the high-water mark.
const (
	minPoll = time.Millisecond
	maxPoll = 20 * time.Millisecond
)

// Write sends p as one message of type typ, then waits until the browser's
// bufferedAmount is at or below Options.WriteBufferSize, polling it with a
// timer (the browser has no event for it). p may be reused when Write
// returns: it has been copied into the browser.
//
// Write returns net.ErrClosed if Close or CloseNow was called or the socket
// is no longer open; if the socket ends while Write waits, Write returns
// the error Reader will report for the end (or net.ErrClosed), and the
// message may not have been sent. If ctx ends while Write waits, Write
// returns ctx.Err(); the message stays queued in the browser.
func (c *Conn) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	if err := c.checkWritable(); err != nil {
		return err
	}
	if err := c.send(typ, p); err != nil {
		return err
	}
	if c.buffered() <= c.opts.WriteBufferSize {
		return nil
	}
	timer := time.NewTimer(minPoll)
	defer timer.Stop()
	for wait := minPoll; ; {
		select {
		case <-timer.C:
		case <-c.done:
			return c.endErr()
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.buffered() <= c.opts.WriteBufferSize {
			return nil
		}
		if err := c.checkWritable(); err != nil {
			return err
		}
		wait = min(2*wait, maxPoll)
		timer.Reset(wait)
	}
}

// checkWritable returns net.ErrClosed unless the socket is open and
// neither Close nor CloseNow was called.
func (c *Conn) checkWritable() error {
	c.mu.Lock()
	closing := c.closeCalled
	c.mu.Unlock()
	if closing || c.ws.Get("readyState").Int() != 1 { // 1: OPEN
		return net.ErrClosed
	}
	return nil
}

func (c *Conn) buffered() int {
	return c.ws.Get("bufferedAmount").Int()
}

func (c *Conn) send(typ websocket.MessageType, p []byte) (err error) {
	if typ != websocket.MessageBinary && typ != websocket.MessageText {
		return fmt.Errorf("browser: unknown message type %v", typ)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("browser: send: %w", err)
		}
	}()
	defer catchException(&err)
	if typ == websocket.MessageBinary {
		b := uint8Array.New(len(p))
		js.CopyBytesToJS(b, p)
		c.ws.Call("send", b)
	} else {
		c.ws.Call("send", string(p))
	}
	return nil
}
