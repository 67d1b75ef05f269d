package wsstream

import (
	"syscall"
	"time"
)

// output is the write side of a native transport (output.go). In the js
// build there is no transport below a Conn (its tr is always nil); this
// type only lets the shared code compile, and its methods are never
// called.
type output struct {
	raw    syscall.RawConn
	framed bool
}

func (*output) cork()                                {}
func (*output) sendFrame([]byte, bool) (bool, error) { return false, nil }
func (*output) sendNow([]byte) (bool, error)         { return false, nil }
func (*output) uncork() error                        { return nil }
func (*output) backlogged() bool                     { return false }
func (*output) busy() bool                           { return false }
func (*output) waitIdle(<-chan time.Time) bool       { return true }
