package wsstream

import "sync/atomic"

// transport is the connection below the WebSocket of a native Conn (see
// transport.go). A browser gives a script no access to it: in the js
// build the Conn's tr is always nil, and this type only lets the shared
// code compile. Its methods are never called.
type transport struct {
	readAt atomic.Int64
	out    output
}

func (*transport) abort()            {}
func (*transport) interrupted() bool { return false }
