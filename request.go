package wsstream

import (
	"context"
	"net/http"
)

// Request returns a copy of the HTTP request that [Accept] upgraded to
// this Conn (through a [Listener] too), so that a server learns who
// connected: method, URL (with r.PathValue of the route it matched),
// headers, cookies, RemoteAddr, Host, TLS (the connection state of a
// wss:// upgrade, nil for ws://), and the values of the request's
// context, such as the identity an authentication middleware stored
// with context.WithValue before the upgrade.
//
// Its context has the values of the request's context but not its
// cancellation or deadline: the request ended when the connection was
// upgraded, and the Conn outlives it. Its Body is [http.NoBody] (a
// handshake has none). Each call returns a new copy, which the caller may
// modify; TLS is shared and must not be modified.
//
// The Conn keeps the *http.Request that Accept was given, not a copy of
// it, and copies it on each call: what a server holds for an idle Conn
// stays small (a copy is about 1.4 KiB). As net/http asks of handlers, a
// handler must not modify that request, nor let middleware modify it,
// once Accept returned; what it modifies shows in the copies Request
// makes after.
//
// Request returns nil for a Conn made by [Dial] or [New].
func (c *Conn) Request() *http.Request {
	if c.req == nil {
		return nil
	}
	rc := c.req.Clone(context.WithoutCancel(c.req.Context()))
	rc.Body = http.NoBody
	rc.GetBody = nil
	return rc
}
