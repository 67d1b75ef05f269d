package bench

import (
	"context"
	"net"
	"net/http"

	"golang.org/x/net/websocket"
)

// xnetOrigin is the Origin the x/net client sends; the server (a
// websocket.Server without Handshake) does not check it.
const xnetOrigin = "http://127.0.0.1/"

// listenXNet serves golang.org/x/net/websocket connections, whose *Conn
// is a net.Conn: one binary frame per Write, a Read returns data of one
// frame at most. PayloadType is set to BinaryFrame on both ends.
// Closing a Conn sends a close frame, and the peer's Read then returns
// io.EOF.
func listenXNet(serve serveFunc) (dialFunc, func() error, error) {
	s := newWSServer(func(g *serveGroup) http.Handler {
		return websocket.Server{Handler: func(ws *websocket.Conn) {
			ws.PayloadType = websocket.BinaryFrame
			g.run(ws, serve)
		}}
	})
	cfg, err := websocket.NewConfig(s.url, xnetOrigin)
	if err != nil {
		s.stop()
		return nil, nil, err
	}
	dial := func(ctx context.Context) (net.Conn, error) {
		ws, err := cfg.DialContext(ctx)
		if err != nil {
			return nil, err
		}
		ws.PayloadType = websocket.BinaryFrame
		return ws, nil
	}
	return dial, s.stop, nil
}
