//go:build js && wasm

package browser

import (
	"bytes"
	"context"
	"io"
	"syscall/js"

	"github.com/coder/websocket"
)

var uint8Array = js.Global().Get("Uint8Array")

// onMessage copies a received message into Go memory and queues it. It
// runs on the browser's event loop, so it never waits.
func (c *Conn) onMessage(e js.Value) {
	data := e.Get("data")
	var m message
	if data.Type() == js.TypeString {
		m = message{typ: websocket.MessageText, data: []byte(data.String())}
	} else {
		// binaryType is "arraybuffer": data is an ArrayBuffer.
		b := uint8Array.New(data)
		m = message{typ: websocket.MessageBinary, data: make([]byte, b.Length())}
		js.CopyBytesToGo(m.data, b)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.end != nil {
		return // the Conn gave up; the close event will follow
	}
	if limit := c.opts.ReadBufferLimit; limit > 0 && c.queued+len(m.data) > limit {
		c.end = ErrReadBufferOverflow
		c.signal()
		closeSocket(c.ws, CloseReadBufferOverflow, "read buffer overflow")
		return
	}
	c.queue = append(c.queue, m)
	c.queued += len(m.data)
	c.signal()
}

// Reader returns the next message received, in the order the browser
// received them, waiting for one if none is queued. The io.Reader holds
// the whole message in memory.
//
// Once the queue is empty and the socket has ended, Reader returns, and
// keeps returning: a websocket.CloseError with the peer's code and reason
// after the peer's close frame (also when Close started the handshake);
// ErrConnectionLost when the connection ended without one;
// ErrReadBufferOverflow after an overflow; net.ErrClosed after CloseNow
// (which drops the queue). If ctx ends first, Reader returns ctx.Err() and
// the Conn is unaffected.
func (c *Conn) Reader(ctx context.Context) (websocket.MessageType, io.Reader, error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			m := c.queue[0]
			c.queue[0] = message{}
			c.queue = c.queue[1:]
			if len(c.queue) == 0 {
				c.queue = nil // let the backing array go
			}
			c.queued -= len(m.data)
			c.mu.Unlock()
			return m.typ, bytes.NewReader(m.data), nil
		}
		end := c.end
		c.mu.Unlock()
		if end != nil {
			return 0, nil, end
		}
		select {
		case <-c.ready:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}
