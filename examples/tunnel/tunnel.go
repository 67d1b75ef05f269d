package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream"
)

const (
	// dialTimeout bounds dialing the target (server) or the WebSocket
	// (client) for one connection.
	dialTimeout = 10 * time.Second
	// halfCloseTimeout is how long a tunnel waits, after passing the far
	// end's EOF on as a TCP half-close, for the local side to close its
	// side too. Nothing it sends can be delivered any more.
	halfCloseTimeout = 30 * time.Second
	// copyBufferSize is the buffer of each copy direction.
	copyBufferSize = 32 << 10
)

// stats count what a tunnel endpoint carried. Safe for concurrent use.
type stats struct {
	conns  atomic.Int64 // tunnelled connections that have ended
	toWS   atomic.Int64 // bytes read from TCP and written to a WebSocket
	fromWS atomic.Int64 // bytes read from a WebSocket and written to TCP
}

// tunnelServer accepts WebSocket connections and connects each to target
// over TCP.
type tunnelServer struct {
	target string // host:port
	log    *slog.Logger
	stats  stats
}

// serve accepts WebSockets from l until ctx is done or l fails, and
// forwards each to a new TCP connection to s.target. When ctx is done it
// closes l and resets every tunnelled connection (see pipe). It returns once every connection has ended: nil
// after ctx is done, or Accept's error.
func (s *tunnelServer) serve(ctx context.Context, l *wsstream.Listener) error {
	return acceptLoop(ctx, l, func(nc net.Conn) {
		ws := nc.(*wsstream.Conn) // a Listener returns nothing else
		log := s.log.With("remote", ws.RemoteAddr().String())

		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		var d net.Dialer
		tc, err := d.DialContext(dctx, "tcp", s.target)
		cancel()
		if err != nil {
			log.Error("dialing the target failed", "target", s.target, "err", err)
			// The client resets its TCP connection when it reads this.
			ws.CloseWithStatus(websocket.StatusBadGateway, "tunnel: target unreachable")
			return
		}
		log.Debug("tunnel opened", "target", s.target)
		pipe(ctx, ws, tc.(*net.TCPConn), log, &s.stats)
	})
}

// tunnelClient accepts local TCP connections and carries each over its
// own WebSocket to url.
type tunnelClient struct {
	url   string // ws:// or wss://
	log   *slog.Logger
	stats stats
}

// serve accepts TCP connections from l until ctx is done or l fails, and
// forwards each over a new WebSocket to c.url. When ctx is done it closes
// l and resets every tunnelled connection (see pipe). It returns once every connection has
// ended: nil after ctx is done, or Accept's error.
func (c *tunnelClient) serve(ctx context.Context, l net.Listener) error {
	return acceptLoop(ctx, l, func(nc net.Conn) {
		tc := nc.(*net.TCPConn) // l is a TCP listener
		log := c.log.With("local", tc.RemoteAddr().String())

		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		ws, _, err := wsstream.Dial(dctx, c.url, nil)
		cancel()
		if err != nil {
			log.Error("dialing the WebSocket failed", "url", c.url, "err", err)
			tc.Close()
			return
		}
		log.Debug("tunnel opened", "url", c.url)
		pipe(ctx, ws, tc, log, &c.stats)
	})
}

// acceptLoop calls handle in a new goroutine for every connection l
// accepts, until ctx is done (it then closes l) or Accept fails. It waits
// for every handle to return; handle must return soon after ctx is done.
func acceptLoop(ctx context.Context, l net.Listener, handle func(net.Conn)) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			l.Close()
			return err
		}
		wg.Go(func() { handle(nc) })
	}
}

// pipe carries bytes both ways between ws and tc until both directions
// have ended, then closes both and adds what it carried to st.
//
// A WebSocket has no half-close, so an end of stream is passed on as
// follows:
//   - EOF from TCP (the local side shut down writing, or closed): close
//     the WebSocket with status 1000 after every byte read before the EOF
//     has been sent. The far end sees EOF. Data still on its way back is
//     lost: a protocol that half-closes and then waits for the answer
//     (`nc -N`, some RPC clients) does not get it through this tunnel.
//   - EOF from the WebSocket (the far end closed with status 1000 or
//     1001): half-close TCP with CloseWrite, so the local side reads
//     everything, then EOF; then wait, at most halfCloseTimeout, for the
//     local side to close too. What it sends meanwhile is dropped.
//
// Failures are passed on as failures: when TCP fails (a reset), the
// WebSocket is closed with status 1011 (internal error); when the
// WebSocket ends with another status or is lost, the TCP connection is
// reset (SO_LINGER 0), so the local side does not take a truncated stream
// for a complete one.
//
// Shutting down cuts streams short, so it is a failure too: when ctx is
// done, the WebSocket is closed with status 1012 (service restart), not
// 1001 (going away), which the far end would take for EOF, and the TCP
// connection is reset.
func pipe(ctx context.Context, ws *wsstream.Conn, tc *net.TCPConn, log *slog.Logger, st *stats) {
	start := time.Now()
	shutdownDoneCh := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(shutdownDoneCh)
		tc.SetLinger(0)
		tc.Close()
		ws.CloseWithStatus(websocket.StatusServiceRestart, "tunnel: shutting down")
	})
	defer func() {
		if !stop() {
			<-shutdownDoneCh
		}
	}()

	var toWS, fromWS int64
	var wg sync.WaitGroup
	wg.Go(func() { toWS = tcpToWS(ws, tc, log) })
	wg.Go(func() { fromWS = wsToTCP(ws, tc, log) })
	wg.Wait()
	tc.Close()
	if err := ws.Close(); err != nil {
		log.Warn("closing the WebSocket", "err", err)
	}

	st.conns.Add(1)
	st.toWS.Add(toWS)
	st.fromWS.Add(fromWS)
	log.Info("tunnel closed", "bytes_to_ws", toWS, "bytes_from_ws", fromWS, "duration", time.Since(start).Round(time.Millisecond))
}

// tcpToWS copies from tc to ws and reacts to the end of tc's stream as
// pipe describes. It returns the bytes copied.
func tcpToWS(ws *wsstream.Conn, tc *net.TCPConn, log *slog.Logger) int64 {
	n, rerr, werr := copyStream(ws, tc)
	switch {
	case werr != nil:
		// The WebSocket ended: wsToTCP says why. What TCP sent after
		// that is dropped.
	case rerr == nil:
		// EOF. Close sends every byte written before the close frame.
		if err := ws.Close(); err != nil {
			log.Warn("closing the WebSocket after EOF from TCP", "err", err)
		}
	case errors.Is(rerr, net.ErrClosed):
		// Closed here: by wsToTCP after a failure, or on shutdown.
	case errors.Is(rerr, os.ErrDeadlineExceeded):
		// Set by wsToTCP after passing the far end's EOF on.
		log.Info("the local side did not close after EOF; dropping it", "timeout", halfCloseTimeout)
	default:
		log.Warn("reading TCP failed", "err", rerr)
		ws.CloseWithStatus(websocket.StatusInternalError, "tunnel: TCP connection failed")
	}
	return n
}

// wsToTCP copies from ws to tc and reacts to the end of ws's stream as
// pipe describes. It returns the bytes copied.
func wsToTCP(ws *wsstream.Conn, tc *net.TCPConn, log *slog.Logger) int64 {
	n, rerr, werr := copyStream(tc, ws)
	switch {
	case werr != nil:
		if !errors.Is(werr, net.ErrClosed) {
			log.Warn("writing TCP failed", "err", werr)
		}
		ws.CloseWithStatus(websocket.StatusInternalError, "tunnel: TCP connection failed")
		tc.Close() // ends tcpToWS
	case rerr == nil:
		// EOF: the far end closed normally.
		tc.CloseWrite()
		tc.SetReadDeadline(time.Now().Add(halfCloseTimeout))
	case errors.Is(rerr, net.ErrClosed):
		// Closed here: by tcpToWS after EOF or a failure, or on
		// shutdown. After an EOF, the local side waits for ours.
		tc.CloseWrite()
	default:
		log.Warn("the WebSocket failed; resetting the TCP connection", "err", rerr)
		tc.SetLinger(0)
		tc.Close() // ends tcpToWS
	}
	return n
}

// copyStream copies from src to dst until src returns EOF (readErr and
// writeErr nil) or an error, which it returns as readErr or writeErr
// depending on which side failed.
func copyStream(dst io.Writer, src io.Reader) (n int64, readErr, writeErr error) {
	buf := make([]byte, copyBufferSize)
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, nil, werr
			}
		}
		if rerr == io.EOF {
			return n, nil, nil
		}
		if rerr != nil {
			return n, rerr, nil
		}
	}
}
