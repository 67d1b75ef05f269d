//go:build js && wasm

package browser

import (
	"context"
	"sync"
	"syscall/js"

	"github.com/coder/websocket"
)

// CloseReadBufferOverflow is the close code the Conn sends when the unread
// messages exceed Options.ReadBufferLimit (a private-use code: browsers
// cannot send 1009).
const CloseReadBufferOverflow websocket.StatusCode = 4009

// Conn is a browser WebSocket. Reader must be called by one goroutine at a
// time, and so must Write; Close, CloseNow, Ping and Subprotocol may be
// called from any goroutine.
type Conn struct {
	ws   js.Value
	opts Options

	opened chan struct{} // closed by the open event
	done   chan struct{} // closed by finish: the socket has ended
	ready  chan struct{} // signalled (cap 1) when queue or end changes

	finishOnce sync.Once
	openOnce   sync.Once
	funcs      []js.Func
	listeners  []string // event names of funcs, in the same order

	mu          sync.Mutex
	queue       []message // received, not yet taken by Reader
	queued      int       // bytes in queue
	end         error     // Reader's error once queue is empty; nil while open
	closeEv     error     // from the close event: nil, CloseError or ErrConnectionLost
	closeCalled bool      // Close or CloseNow was called
}

type message struct {
	typ  websocket.MessageType
	data []byte
}

// newConn registers the event listeners on ws.
func newConn(ws js.Value, opts Options) *Conn {
	c := &Conn{
		ws:     ws,
		opts:   opts,
		opened: make(chan struct{}),
		done:   make(chan struct{}),
		ready:  make(chan struct{}, 1),
	}
	c.listen("open", func(js.Value) { c.openOnce.Do(func() { close(c.opened) }) })
	c.listen("message", c.onMessage)
	c.listen("close", c.onClose)
	// An "error" event is always followed by a "close" event, which is
	// all the browser says about the failure: no listener is needed.
	return c
}

func (c *Conn) listen(event string, fn func(js.Value)) {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		fn(args[0])
		return nil
	})
	c.funcs = append(c.funcs, f)
	c.listeners = append(c.listeners, event)
	c.ws.Call("addEventListener", event, f)
}

// finish ends the Conn once: it removes and releases every listener, so
// no event reaches Go any more, and closes done.
func (c *Conn) finish() {
	c.finishOnce.Do(func() {
		for i, f := range c.funcs {
			c.ws.Call("removeEventListener", c.listeners[i], f)
			f.Release()
		}
		c.funcs, c.listeners = nil, nil
		close(c.done)
	})
}

// signal wakes Reader.
func (c *Conn) signal() {
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// onClose records how the socket ended, after every message queued so far.
func (c *Conn) onClose(e js.Value) {
	code := websocket.StatusCode(e.Get("code").Int())
	var err error
	if code == websocket.StatusAbnormalClosure {
		err = ErrConnectionLost
	} else {
		err = websocket.CloseError{Code: code, Reason: e.Get("reason").String()}
	}
	c.mu.Lock()
	c.closeEv = err
	if c.end == nil {
		c.end = err
	}
	c.mu.Unlock()
	c.signal()
	c.finish()
}

// Subprotocol returns the subprotocol the server chose, or "".
func (c *Conn) Subprotocol() string {
	return c.ws.Get("protocol").String()
}

// Ping returns ErrPingUnsupported: browsers give scripts no way to send a
// ping or to see the pings they answer. Keepalive must be done with data
// messages, or left to the server's pings, which the browser answers.
func (c *Conn) Ping(context.Context) error {
	return ErrPingUnsupported
}
