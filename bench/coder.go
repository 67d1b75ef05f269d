package bench

import (
	"context"
	"net"
	"net/http"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream"
)

// listenCoderNetConn serves coder/websocket connections wrapped by
// websocket.NetConn on both ends. NetConn lifts coder's 32 KiB read limit
// itself; its context is never cancelled, as the connections outlive the
// handshake.
func listenCoderNetConn(serve serveFunc) (dialFunc, func() error, error) {
	s := newWSServer(func(g *serveGroup) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := websocket.Accept(w, r, nil)
			if err != nil {
				return // Accept has written the HTTP error; the dial fails
			}
			g.run(websocket.NetConn(context.Background(), ws, websocket.MessageBinary), serve)
		})
	})
	dial := func(ctx context.Context) (net.Conn, error) {
		ws, _, err := websocket.Dial(ctx, s.url, nil)
		if err != nil {
			return nil, err
		}
		return websocket.NetConn(context.Background(), ws, websocket.MessageBinary), nil
	}
	return dial, s.stop, nil
}

// listenWSStream serves Conns made by wsstream.Accept, dialed by
// wsstream.Dial, default options.
func listenWSStream(serve serveFunc) (dialFunc, func() error, error) {
	s := newWSServer(func(g *serveGroup) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := wsstream.Accept(w, r, nil)
			if err != nil {
				return // Accept has written the HTTP error; the dial fails
			}
			g.run(c, serve)
		})
	})
	dial := func(ctx context.Context) (net.Conn, error) {
		c, _, err := wsstream.Dial(ctx, s.url, nil)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return dial, s.stop, nil
}
