//go:build !js

package wsstream

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Close closes the Listener. Blocked and future Accepts return an error
// matching [net.ErrClosed]; requests are answered 503. For a Listener made
// by Listen or Serve, the HTTP server stops (see [Serve]) and Close waits
// for its Serve loop to return.
//
// Close closes every Conn still queued with status 1001 (going away),
// concurrently, each bounded by its Options.CloseTimeout. Meanwhile it
// waits for upgrades in progress, but at most the Listener's
// Options.CloseTimeout (default [DefaultCloseTimeout]): a handler stuck
// in middleware or in the handshake does not hold Close. An upgrade that
// completes after Close began, even after Close returned, is closed with
// status 1001 by its own ServeHTTP; it never reaches Accept. So Close
// returns within about one CloseTimeout. Conns already returned by
// Accept stay open: they are the caller's to close.
//
// Close returns an error only when shutting the server of Listen or Serve
// down failed. It is idempotent: a later call waits for the first to
// finish and returns nil.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.doneCh
		return nil
	}
	l.closed = true
	close(l.closeCh)
	if l.upgrading == 0 {
		close(l.upgradedCh)
	}
	l.mu.Unlock()

	var err error
	if l.srv != nil {
		// Close, not Shutdown: Shutdown waits for connections that have
		// not sent a request yet, for up to five seconds each. Close
		// drops every connection that is not hijacked.
		err = l.srv.Close()
		<-l.serveDoneCh
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	}

	// No Conn is queued once closed is set: every one queued is here.
	var wg sync.WaitGroup
drain:
	for {
		select {
		case c := <-l.connCh:
			l.releaseSlot()
			wg.Go(func() { closeGoingAway(c) })
		default:
			break drain
		}
	}

	wait := time.NewTimer(l.closeWait)
	select {
	case <-l.upgradedCh:
	case <-wait.C:
	}
	wait.Stop()
	wg.Wait()

	close(l.doneCh)
	return err
}

// closeGoingAway closes a Conn that never reached the application.
func closeGoingAway(c *Conn) {
	c.CloseWithStatus(websocket.StatusGoingAway, "wsstream: listener closed")
}
