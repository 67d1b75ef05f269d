package wsstream

import "net/http"

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
// Request returns nil for a Conn made by [Dial] or [New].
func (c *Conn) Request() *http.Request {
	if c.req == nil {
		return nil
	}
	return c.req.Clone(c.req.Context())
}
