package wsstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// pingCall is a ping waiting for its pong. Its fields are written before
// doneCh is closed and never after.
type pingCall struct {
	doneCh chan struct{}
	start  time.Time
	rtt    time.Duration
	err    error
}

// startPing returns the ping in flight, starting one if there is none.
// The ping runs on a goroutine of its own with the Conn's context, never a
// caller's: coder/websocket drops the connection when the context of a
// frame it writes ends, so a caller's context must never reach it. The
// goroutine ends with the pong or with the Conn.
func (c *Conn) startPing() *pingCall {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	if c.ping != nil {
		return c.ping
	}
	p := &pingCall{doneCh: make(chan struct{}), start: time.Now()}
	c.ping = p
	c.pingers.Add(1)
	go func() {
		defer c.pingers.Done()
		err := c.ws.Ping(c.ctx)
		p.rtt, p.err = time.Since(p.start), err
		c.pingMu.Lock()
		c.ping = nil
		c.pingMu.Unlock()
		close(p.doneCh)
	}()
	return p
}

// Ping sends a ping to the peer and waits for its pong, returning the
// round-trip time. The peer's read loop (or any WebSocket peer that
// reads) answers even when its application does not read. Concurrent
// calls share one ping; a call that joins a ping in flight reports the
// time since that ping was sent.
//
// ctx bounds only the wait: when it ends first, Ping returns an error
// wrapping ctx's error and the Conn is unaffected (the ping stays in
// flight, and a later Ping joins it). A ctx that has already ended sends
// nothing. After a local Close, Ping returns [net.ErrClosed]; once the
// Conn has ended, the cause that Write reports. In a browser (GOOS=js)
// Ping returns an error wrapping [ErrPingUnsupported] and the Conn is
// unaffected.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	if err := c.pingStop(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("wsstream: ping: %w", err)
	}
	p := c.startPing()
	select {
	case <-p.doneCh:
		if p.err == nil {
			return p.rtt, nil
		}
		if errors.Is(p.err, ErrPingUnsupported) {
			return 0, p.err
		}
		// The WebSocket closed: the read loop publishes why.
		select {
		case <-c.end.wait():
		case <-c.closing.wait():
		case <-ctx.Done():
			return 0, fmt.Errorf("wsstream: ping: %w", ctx.Err())
		}
		return 0, c.pingStop()
	case <-ctx.Done():
		if err := c.pingStop(); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("wsstream: ping: %w", ctx.Err())
	case <-c.end.wait():
		return 0, c.pingStop()
	case <-c.closing.wait():
		return 0, net.ErrClosed
	}
}

// pingStop says why a ping cannot be sent, or returns nil.
func (c *Conn) pingStop() error {
	switch {
	case c.closing.isSet():
		return net.ErrClosed
	case c.end.done():
		return c.end.writeErr()
	}
	return nil
}

// keepalive runs KeepaliveInterval after the peer last sent anything. It
// pings the peer and drops the connection when neither the pong nor
// anything else arrives within KeepaliveTimeout, so a dead peer is noticed
// within KeepaliveInterval + KeepaliveTimeout of its last byte.
//
// Any byte from the peer is a sign of life: on a slow link the pong may
// wait behind data the peer is sending. While written data waits for the
// socket, the peer is not reading and would not see a ping either:
// keepalive then leaves detection to TCP, so that a peer that only reads
// slowly is not taken for a dead one.
func (c *Conn) keepalive() {
	c.kaMu.Lock()
	if c.kaStopped {
		c.kaMu.Unlock()
		return
	}
	c.kaRunning.Add(1)
	c.kaMu.Unlock()
	defer c.kaRunning.Done()

	next := c.opts.KeepaliveInterval
	if idle := time.Since(c.lastReceived()); idle < next {
		// The peer spoke during the interval: check again one interval
		// after it last did.
		next -= idle
	} else if !c.sending() && !c.keepalivePing() {
		return
	}

	c.kaMu.Lock()
	if !c.kaStopped {
		c.kaTimer.Reset(next)
	}
	c.kaMu.Unlock()
}

// keepalivePing pings the peer and waits up to KeepaliveTimeout for a sign
// of life. It reports false when the Conn ended or was dropped.
func (c *Conn) keepalivePing() bool {
	sent := time.Now()
	p := c.startPing()
	t := time.NewTimer(c.opts.KeepaliveTimeout)
	defer t.Stop()
	select {
	case <-p.doneCh:
		// A failed ping means the Conn ended, or that pings are not
		// available (in a browser): either way keepalive stops, and the
		// Conn is left as it is.
		return p.err == nil
	case <-c.end.wait():
		return false
	case <-c.closing.wait():
		return false
	case <-t.C:
	}
	// Bytes that arrived while the pong was awaited prove the peer alive:
	// its pong may be queued behind the data it is sending.
	if c.sending() || c.lastReceived().After(sent) {
		return true
	}
	if c.closing.isSet() {
		return false // a local Close is ending the Conn
	}
	c.end.fail(fmt.Errorf("%w: no pong within %v", ErrKeepaliveTimeout, c.opts.KeepaliveTimeout))
	c.abort()
	return false
}

// sending reports whether written data waits for the socket or for the
// peer to read it.
func (c *Conn) sending() bool {
	return c.send.isRunning() || (c.tr != nil && c.tr.out.backlogged())
}

// lastReceived is when something last arrived from the peer: any byte on
// the transport of a Conn made by Dial or Accept, even part of a frame, or
// data for a Conn made by New. It is the zero time before anything
// arrived.
func (c *Conn) lastReceived() time.Time {
	last := c.recvAt.Load()
	if c.tr != nil {
		last = c.tr.readAt.Load()
	}
	if last == 0 {
		return time.Time{}
	}
	return time.Unix(0, last)
}
