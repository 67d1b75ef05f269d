package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// chanListener is a net.Listener whose connections come from a channel,
// so that a synctest bubble sees Accept as durably blocked.
type chanListener struct {
	conns     chan net.Conn
	closeOnce sync.Once
	closed    chan struct{}
}

func newChanListener() *chanListener {
	return &chanListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }

// TestServeConnsStopsAcceptingFirst: when told to stop, serveConns stops
// accepting before it logs "no new connections", so that a reader of the
// log (an operator, a test) can rely on it. The stop is made slow, as
// net/http's Shutdown can be; the log must wait for it. Then the open
// tunnel gets its drain time, and serveConns returns nil once it ends.
func TestServeConnsStopsAcceptingFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newChanListener()
		var logBuf syncBuffer
		log := slog.New(slog.NewTextHandler(&logBuf, nil))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		letStop := make(chan struct{})   // stopAccepting may close l
		endTunnel := make(chan struct{}) // the one tunnel may end
		stopAccepting := func() {
			<-letStop
			l.Close()
		}
		served := make(chan error, 1)
		go func() {
			served <- serveConns(ctx, l, stopAccepting, time.Minute, log, func(ctx context.Context, _ uint64, c net.Conn) {
				defer c.Close()
				select {
				case <-endTunnel:
				case <-ctx.Done():
				}
			})
		}()
		c1, c2 := net.Pipe()
		defer c2.Close()
		l.conns <- c1

		cancel()
		synctest.Wait() // everything is blocked, stopAccepting included
		if s := logBuf.String(); strings.Contains(s, "no new connections") {
			t.Fatalf("logged while the listener still accepted:\n%s", s)
		}
		close(letStop)
		synctest.Wait()
		if s := logBuf.String(); !strings.Contains(s, "no new connections") {
			t.Fatalf("no log of the stop:\n%s", s)
		}
		select {
		case err := <-served:
			t.Fatalf("serveConns returned %v with a tunnel open", err)
		default:
		}

		close(endTunnel)
		if err := <-served; err != nil {
			t.Fatalf("serveConns returned %v after the stop, want nil", err)
		}
		if s := logBuf.String(); strings.Contains(s, "drain timeout") {
			t.Errorf("the drain timer fired:\n%s", s)
		}
	})
}

// TestServeConnsDrainTimeout: a tunnel still open drain after the stop
// has its context cancelled, and the reset is logged.
func TestServeConnsDrainTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newChanListener()
		var logBuf syncBuffer
		log := slog.New(slog.NewTextHandler(&logBuf, nil))
		ctx, cancel := context.WithCancel(context.Background())

		ended := make(chan time.Time, 1)
		served := make(chan error, 1)
		go func() {
			served <- serveConns(ctx, l, func() { l.Close() }, time.Minute, log, func(ctx context.Context, _ uint64, c net.Conn) {
				defer c.Close()
				<-ctx.Done()
				ended <- time.Now()
			})
		}()
		c1, c2 := net.Pipe()
		defer c2.Close()
		l.conns <- c1

		start := time.Now()
		cancel()
		if err := <-served; err != nil {
			t.Fatalf("serveConns returned %v, want nil", err)
		}
		if d := (<-ended).Sub(start); d != time.Minute {
			t.Errorf("the tunnel was cut after %v, want the drain timeout of 1m", d)
		}
		if s := logBuf.String(); !strings.Contains(s, "drain timeout: resetting open tunnels") {
			t.Errorf("the reset was not logged:\n%s", s)
		}
	})
}

// TestServeConnsAcceptError: when Accept fails on its own (the server
// below failed), serveConns stops accepting and returns the error at
// once, without a drain, and releases what it holds.
func TestServeConnsAcceptError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newChanListener()
		stops := 0
		served := make(chan error, 1)
		go func() {
			served <- serveConns(context.Background(), l, func() { stops++; l.Close() }, time.Minute,
				slog.New(slog.DiscardHandler), func(context.Context, uint64, net.Conn) {})
		}()
		l.Close()
		synctest.Wait()
		select {
		case err := <-served:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("serveConns returned %v, want Accept's net.ErrClosed", err)
			}
		default:
			t.Fatal("serveConns did not return after Accept failed")
		}
		if stops != 1 {
			t.Errorf("stopAccepting was called %d times, want 1", stops)
		}
	})
}
