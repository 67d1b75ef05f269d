//go:build !js

package wsstream

import (
	"context"

	"github.com/coder/websocket"
)

// New returns a Conn that owns ws and starts its read loop. opts may be
// nil; New panics if it is invalid (see [Options]).
//
// ws must be fresh: no Reader, Read, CloseRead or NetConn call on it, now
// or later; the Conn is its only user. It applies these caveats, which
// Dial and Accept avoid:
//   - LocalAddr and RemoteAddr return Options.LocalAddr and
//     Options.RemoteAddr, or a placeholder address when they are nil.
//   - The Conn cannot reach the TCP connection below ws. It aborts a stuck
//     close by cancelling the context of its calls into ws, which costs
//     coder/websocket a timer per frame; a close can take up to
//     coder/websocket's own limits (5s for each half of the handshake)
//     when the socket is stuck outside a read or write.
//   - A client Conn does not wait for the server to close TCP.
//   - Pings and pongs are answered but not reported as events:
//     coder/websocket reports them only to the callbacks ws was made
//     with. For the same reason keepalive counts only data as a sign of
//     life, and pings when the peer sent no data for a whole interval.
func New(ws *websocket.Conn, opts *Options) *Conn {
	if err := opts.validate(); err != nil {
		panic(err)
	}
	o := opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	laddr, raddr := o.LocalAddr, o.RemoteAddr
	if laddr == nil {
		laddr = unknownAddr{}
	}
	if raddr == nil {
		raddr = unknownAddr{}
	}
	ws.SetReadLimit(-1) // the read loop streams messages of any size
	c := newConn(ws, nil, o, ctx, cancel, laddr, raddr)
	c.start()
	return c
}
