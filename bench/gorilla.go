package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// closeFrameTimeout bounds how long gorillaConn.Close waits to send its
// close frame.
const closeFrameTimeout = time.Second

// gorillaConn is a minimal net.Conn over a gorilla/websocket connection,
// the adapter a user of gorilla writes: Read reads the current message
// through NextReader and moves to the next one at its end; Write sends
// p as one binary message with WriteMessage; deadlines are the
// connection's SetReadDeadline and SetWriteDeadline.
//
// Caveats, all gorilla's: a Read that times out breaks the connection
// for good (gorilla keeps the first read error), as does any other read
// error; pings are answered only while Read is called. Reads and
// writes are each serialized by a mutex, as gorilla allows one
// concurrent reader and one concurrent writer.
type gorillaConn struct {
	ws *websocket.Conn

	rmu sync.Mutex
	r   io.Reader // the current message; nil between messages

	wmu sync.Mutex
}

// Read reads data of the current message, starting the next one when the
// current one is used up. A normal close (1000) from the peer reads as
// io.EOF.
func (c *gorillaConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.r == nil {
			_, r, err := c.ws.NextReader()
			if err != nil {
				return 0, gorillaReadErr(err)
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		if err != nil {
			return n, gorillaReadErr(err)
		}
		return n, nil
	}
}

// gorillaReadErr turns a normal close into io.EOF.
func gorillaReadErr(err error) error {
	if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		return io.EOF
	}
	return err
}

// Write sends p as one binary message. An empty p sends nothing.
func (c *gorillaConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close sends a normal close frame, waiting at most closeFrameTimeout,
// and closes the TCP connection without waiting for the peer's close
// frame. Data already written was flushed by WriteMessage, so the peer
// reads it all, then io.EOF. It returns the error of closing the TCP
// connection only: a close frame that cannot be sent (the peer is gone)
// is no failure of Close.
func (c *gorillaConn) Close() error {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeFrameTimeout))
	return c.ws.Close()
}

func (c *gorillaConn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *gorillaConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

func (c *gorillaConn) SetDeadline(t time.Time) error {
	return errors.Join(c.ws.SetReadDeadline(t), c.ws.SetWriteDeadline(t))
}

func (c *gorillaConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *gorillaConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }

// listenGorilla serves gorilla/websocket connections behind gorillaConn
// on both ends, with gorilla's default buffers (the Upgrader reuses the
// HTTP server's; the Dialer allocates 4 KiB each way).
func listenGorilla(serve serveFunc) (dialFunc, func() error, error) {
	var up websocket.Upgrader
	s := newWSServer(func(g *serveGroup) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := up.Upgrade(w, r, nil)
			if err != nil {
				return // Upgrade has written the HTTP error; the dial fails
			}
			g.run(&gorillaConn{ws: ws}, serve)
		})
	})
	dial := func(ctx context.Context) (net.Conn, error) {
		ws, _, err := websocket.DefaultDialer.DialContext(ctx, s.url, nil)
		if err != nil {
			return nil, err
		}
		return &gorillaConn{ws: ws}, nil
	}
	return dial, s.stop, nil
}
