package main

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// drainContext returns a context that is done drain after ctx is done
// (at once when drain is zero or negative), for the tunnels that are open
// when the command is told to stop; log records both moments. When ctx is
// done, stopAccepting (if not nil) is called before anything is logged, so
// that "no new connections" is true when it is read. cancel releases its
// resources and must be called; calling it again does nothing.
func drainContext(ctx context.Context, drain time.Duration, log *slog.Logger, open func() int64,
	stopAccepting func()) (hard context.Context, cancel func()) {
	hard, kill := context.WithCancel(context.WithoutCancel(ctx))
	var timer *time.Timer // set once by the AfterFunc, before stopped is closed
	stopped := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(stopped)
		if stopAccepting != nil {
			stopAccepting()
		}
		if n := open(); n > 0 {
			log.Info("stopping: no new connections; draining open tunnels", "open", n, "drain_timeout", drain)
		}
		timer = time.AfterFunc(max(drain, 0), func() {
			if n := open(); n > 0 {
				log.Warn("drain timeout: resetting open tunnels", "open", n)
			}
			kill()
		})
	})
	var once sync.Once
	return hard, func() {
		once.Do(func() {
			if !stop() { // the AfterFunc runs or ran: wait for it, then stop its timer
				<-stopped
				timer.Stop()
			}
			kill()
		})
	}
}

// serveConns calls handle in a new goroutine for every connection l
// accepts, until ctx is done or Accept fails; stopAccepting is then called
// (it must make Accept fail, e.g. by closing l). The tunnels still open
// get drain to finish: the context handle gets is done drain after ctx
// (see drainContext). Each handle gets a connection id, counting from 1.
//
// serveConns returns once every handle has returned: nil after ctx is
// done, or Accept's error.
func serveConns(ctx context.Context, l net.Listener, stopAccepting func(), drain time.Duration, log *slog.Logger,
	handle func(ctx context.Context, id uint64, c net.Conn)) error {
	var open atomic.Int64
	hard, cancel := drainContext(ctx, drain, log, open.Load, stopAccepting)
	defer cancel()

	var wg sync.WaitGroup
	defer wg.Wait()
	for id := uint64(1); ; id++ {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			stopAccepting()
			cancel() // no drain: this is no orderly stop
			return err
		}
		open.Add(1)
		wg.Go(func() {
			defer open.Add(-1)
			handle(hard, id, nc)
		})
	}
}
