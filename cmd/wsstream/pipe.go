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
	// halfCloseTimeout is how long a tunnel waits, after passing the
	// WebSocket's end on to the local side, for the local side to finish
	// too when the WebSocket is gone and nothing it sends can be
	// delivered any more.
	halfCloseTimeout = 30 * time.Second
	// copyBufferSize is the buffer of each copy direction.
	copyBufferSize = 32 << 10
)

// How a direction of a tunnel ended, as logged.
const (
	endEOF       = "eof"        // end of stream, passed on as a close
	endHalfClose = "half-close" // end of stream, passed on as a half-close
	endClosed    = "closed"     // closed here: the other direction or shutdown
	endTimeout   = "timeout"    // the local side did not finish after the end
	endFailed    = "failed"     // an error, passed on as a reset or status 1011
	endShutdown  = "shutdown"   // cut short: the command stopped
)

// local is the local end of a tunnel: a TCP connection (tcpLocal) or
// standard input and output (stdioLocal).
type local interface {
	io.ReadWriter
	// CloseWrite passes the end of the stream on: the local side reads
	// EOF after every byte written.
	CloseWrite() error
	// SetReadDeadline bounds how long Read may block.
	SetReadDeadline(time.Time) error
	// Abort ends the connection as a failure (a TCP reset), so the local
	// side does not take a truncated stream for a complete one.
	Abort()
	Close() error
}

// tcpLocal is a TCP connection as a tunnel's local end.
type tcpLocal struct{ *net.TCPConn }

func (t tcpLocal) Abort() {
	t.SetLinger(0)
	t.Close()
}

// stats count what a tunnel endpoint carried. Safe for concurrent use.
type stats struct {
	conns  atomic.Int64 // tunnels that have ended
	toWS   atomic.Int64 // bytes read locally and written to a WebSocket
	fromWS atomic.Int64 // bytes read from a WebSocket and written locally
}

// pipe carries bytes both ways between ws and lc until both directions
// have ended, then closes both, adds what it carried to st and logs one
// record: bytes each way, duration and how each direction ended.
//
// The end of a stream is passed on as a half-close where both sides can
// do one, and as a close otherwise:
//   - EOF from the local side (it shut down writing, or closed): when
//     ws.CloseWrite succeeds (the peer negotiated half-close), the far
//     end reads EOF and the other direction goes on, so an answer sent
//     after the half-close arrives. Otherwise ws is closed with status
//     1000 after every byte read before the EOF has been sent: the far
//     end reads EOF too, but data still on its way back is lost.
//   - EOF from the WebSocket (the far end half-closed, or closed with
//     status 1000 or 1001): lc.CloseWrite, so the local side reads
//     everything, then EOF. Once the WebSocket's Conn has finished (at
//     once after a close; after the far end's half of a half-close), the
//     local side has at most halfCloseTimeout to finish; what it sends
//     meanwhile is dropped.
//
// Failures are passed on as failures: when the local side fails (a
// reset), ws is closed with status 1011 (internal error); when the
// WebSocket ends with another status or is lost, lc is aborted (a TCP
// reset).
//
// Shutting down cuts streams short, so it is a failure too: when ctx is
// done, ws is closed with status 1012 (service restart), not 1001 (going
// away), which the far end would take for EOF, and lc is aborted.
//
// pipe returns how each direction ended: local to WebSocket (up), and
// WebSocket to local (down).
func pipe(ctx context.Context, ws *wsstream.Conn, lc local, log *slog.Logger, st *stats) (up, down string) {
	start := time.Now()
	shutdownDoneCh := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(shutdownDoneCh)
		lc.Abort()
		ws.CloseWithStatus(websocket.StatusServiceRestart, "wsstream: shutting down")
	})
	var toWS, fromWS int64
	var wg, watch sync.WaitGroup
	wg.Go(func() { toWS, up = localToWS(ws, lc, log) })
	wg.Go(func() { fromWS, down = wsToLocal(ws, lc, log, &watch) })
	wg.Wait()
	if !stop() {
		<-shutdownDoneCh
		up, down = endShutdown, endShutdown
	}
	lc.Close()
	if err := ws.Close(); err != nil {
		log.Warn("closing the WebSocket", "err", err)
	}
	watch.Wait() // returns once ws has finished

	st.conns.Add(1)
	st.toWS.Add(toWS)
	st.fromWS.Add(fromWS)
	log.Info("tunnel closed", "bytes_to_ws", toWS, "bytes_from_ws", fromWS,
		"duration", time.Since(start).Round(time.Millisecond), "local_end", up, "ws_end", down)
	return up, down
}

// localToWS copies from lc to ws and reacts to the end of lc's stream as
// pipe describes. It returns the bytes copied and how the copy ended.
func localToWS(ws *wsstream.Conn, lc local, log *slog.Logger) (int64, string) {
	n, rerr, werr := copyStream(ws, lc)
	switch {
	case werr != nil:
		// The WebSocket ended: wsToLocal says why. What the local side
		// sent after that is dropped.
		return n, endClosed
	case rerr == nil:
		err := ws.CloseWrite()
		if err == nil {
			return n, endHalfClose
		}
		log.Debug("half-closing the WebSocket failed; closing it", "err", err)
		// Close sends every byte written before the close frame.
		if err := ws.Close(); err != nil {
			log.Warn("closing the WebSocket after EOF", "err", err)
		}
		return n, endEOF
	case errors.Is(rerr, net.ErrClosed), errors.Is(rerr, os.ErrClosed):
		// Closed here: by wsToLocal after a failure, or on shutdown.
		return n, endClosed
	case errors.Is(rerr, os.ErrDeadlineExceeded):
		// Set after passing the WebSocket's end on.
		log.Info("the local side did not finish after the end of the WebSocket; dropping it", "timeout", halfCloseTimeout)
		return n, endTimeout
	default:
		log.Warn("reading the local side failed", "err", rerr)
		ws.CloseWithStatus(websocket.StatusInternalError, "wsstream: local connection failed")
		return n, endFailed
	}
}

// wsToLocal copies from ws to lc and reacts to the end of ws's stream as
// pipe describes. It returns the bytes copied and how the copy ended. It
// may start a goroutine in watch that returns when ws has finished.
func wsToLocal(ws *wsstream.Conn, lc local, log *slog.Logger, watch *sync.WaitGroup) (int64, string) {
	n, rerr, werr := copyStream(lc, ws)
	switch {
	case werr != nil:
		if !errors.Is(werr, net.ErrClosed) && !errors.Is(werr, os.ErrClosed) {
			log.Warn("writing to the local side failed", "err", werr)
		}
		ws.CloseWithStatus(websocket.StatusInternalError, "wsstream: local connection failed")
		lc.Close() // ends localToWS
		return n, endFailed
	case rerr == nil:
		// EOF: the far end half-closed, or closed normally.
		lc.CloseWrite()
		// Maybe only a half-close: the local side may still send, until
		// the Conn has finished.
		watch.Go(func() {
			sub := ws.Subscribe(wsstream.SubscribeOptions{Filter: func(wsstream.Event) bool { return false }})
			for range sub.Events() { // only the ClosedEvent
			}
			lc.SetReadDeadline(time.Now().Add(halfCloseTimeout))
		})
		return n, endHalfClose
	case errors.Is(rerr, net.ErrClosed):
		// Closed here: by localToWS after EOF or a failure, or on
		// shutdown. After an EOF, the local side waits for ours.
		lc.CloseWrite()
		return n, endClosed
	default:
		log.Warn("the WebSocket failed; resetting the local connection", "err", rerr)
		lc.Abort() // ends localToWS
		return n, endFailed
	}
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
