// Package faultproxy implements a fault-injecting TCP proxy on loopback for
// tests. It sits between a client and a server and can freeze, slow down,
// cut, corrupt or reset the byte stream of each proxied connection, in each
// direction independently.
//
// Each direction of a [Link] is pumped by its own goroutine. Every fault
// takes effect promptly, even while that goroutine is blocked reading from
// its source: the reader is woken by an expired read deadline, which loses no
// data.
package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Direction names one direction of the byte stream of a [Link]. The client
// is whoever connected to the proxy; the server is the target.
type Direction int

const (
	// ClientToServer is the stream from the connecting peer to the target.
	ClientToServer Direction = iota
	// ServerToClient is the stream from the target to the connecting peer.
	ServerToClient
)

// String returns "client->server" or "server->client".
func (d Direction) String() string {
	if d == ClientToServer {
		return "client->server"
	}
	return "server->client"
}

// ErrLinkDone is returned by [Link.WaitForwarded] when the link ended before
// the requested number of bytes was forwarded.
var ErrLinkDone = errors.New("faultproxy: link done")

// bufSize is the size of each pump's read buffer.
const bufSize = 32 << 10

// Proxy accepts TCP connections on 127.0.0.1 and forwards each of them to a
// fixed target address as a [Link]. A Proxy must be closed with [Proxy.Close].
type Proxy struct {
	target string
	ln     *net.TCPListener
	cancel context.CancelFunc // aborts an in-progress dial to the target
	wg     sync.WaitGroup     // the accept goroutine and every pump

	mu        sync.Mutex    // guards the fields below
	links     []*Link       // all links, in accept order
	next      int           // index in links of the link WaitConn returns next
	closed    bool          // Close has been called
	changedCh chan struct{} // closed and replaced when links or closed change
}

// New returns a Proxy listening on 127.0.0.1 on an ephemeral port that
// forwards every accepted connection to target, a TCP address. Connections
// are accepted and dialed one at a time. If dialing target fails, the
// accepted connection is reset and no Link is created.
func New(target string) (*Proxy, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{target: target, ln: ln, cancel: cancel, changedCh: make(chan struct{})}
	p.wg.Add(1)
	go p.accept(ctx)
	return p, nil
}

// Addr returns the host:port address clients dial to reach the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops listening, closes both sides of every link with a FIN (a peer
// with unread data in the proxy's socket may see a reset instead, as usual
// in TCP) and waits for all goroutines of the Proxy to exit. Close is
// idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	links := p.links
	p.notifyLocked()
	p.mu.Unlock()

	err := p.ln.Close()
	p.cancel()
	for _, l := range links {
		l.mu.Lock()
		l.shutdownLocked(false)
		l.mu.Unlock()
	}
	p.wg.Wait()
	return err
}

// Conns returns all links created so far, in accept order, including ended
// ones.
func (p *Proxy) Conns() []*Link {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Link(nil), p.links...)
}

// WaitConn returns the next link, in accept order, that no earlier call to
// WaitConn returned, waiting for it to be created if necessary. It fails
// with ctx's error, or with [net.ErrClosed] once the Proxy is closed and
// every link has been returned.
func (p *Proxy) WaitConn(ctx context.Context) (*Link, error) {
	for {
		p.mu.Lock()
		if p.next < len(p.links) {
			l := p.links[p.next]
			p.next++
			p.mu.Unlock()
			return l, nil
		}
		closed, ch := p.closed, p.changedCh
		p.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (p *Proxy) notifyLocked() {
	close(p.changedCh)
	p.changedCh = make(chan struct{})
}

// accept accepts and dials serially until the listener is closed.
func (p *Proxy) accept(ctx context.Context) {
	defer p.wg.Done()
	var d net.Dialer
	for {
		client, err := p.ln.AcceptTCP()
		if err != nil {
			return
		}
		c, err := d.DialContext(ctx, "tcp", p.target)
		if err != nil {
			client.SetLinger(0)
			client.Close()
			continue
		}
		l := &Link{
			p:         p,
			conns:     [2]*net.TCPConn{client, c.(*net.TCPConn)},
			limit:     [2]int64{-1, -1},
			pumps:     2,
			changedCh: make(chan struct{}),
			doneCh:    make(chan struct{}),
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			l.conns[0].Close()
			l.conns[1].Close()
			return
		}
		p.links = append(p.links, l)
		p.wg.Add(2)
		p.notifyLocked()
		p.mu.Unlock()
		go l.pump(ClientToServer)
		go l.pump(ServerToClient)
	}
}

// Link is one proxied connection: the accepted client connection and the
// connection dialed to the server. Its methods are safe for concurrent use;
// the fault methods are no-ops once the link has ended. A Direction other
// than ClientToServer or ServerToClient makes them panic.
type Link struct {
	p      *Proxy
	conns  [2]*net.TCPConn // [0] client, [1] server; Direction d reads conns[d] and writes conns[1-d]
	doneCh chan struct{}   // closed when both pumps have exited

	mu         sync.Mutex       // guards the fields below
	frozen     [2]bool          // per Direction: Freeze in effect
	drip       [2]time.Duration // per Direction: interval between bytes, 0 for full speed
	limit      [2]int64         // per Direction: Forwarded value at which to truncate, -1 for none
	inject     [2][]byte        // per Direction: bytes queued by Inject
	forwarded  [2]int64         // per Direction: bytes taken from the source for writing
	inRead     [2]bool          // per Direction: the pump is (about to be) blocked reading conns[d]
	kicked     [2]bool          // per Direction: conns[d] has a past read deadline to wake the pump
	connClosed [2]bool          // per conn: closed by the proxy
	closed     bool             // the link was shut down; the pumps must exit
	keepOpen   bool             // CloseSide was used: do not close the other peer when the pumps exit
	pumps      int              // pumps still running
	changedCh  chan struct{}    // closed and replaced on every change of the fields above
}

// Freeze stops forwarding in direction d. Bytes already read (at most one
// 32 KiB buffer) are held, not dropped, and the pump stops reading its
// source, so TCP backpressure builds up towards the sender. A write
// already in progress completes.
func (l *Link) Freeze(d Direction) { l.set(d, func() { l.frozen[d] = true }) }

// Thaw resumes forwarding in direction d after [Link.Freeze], in order.
func (l *Link) Thaw(d Direction) { l.set(d, func() { l.frozen[d] = false }) }

// Drip makes direction d forward one byte per every from now on; every <= 0
// returns to full speed at once, even in the middle of a wait. The interval
// is a minimum, measured from the previous dripped byte; the first byte
// after a long pause goes at once. Injected bytes are not dripped.
func (l *Link) Drip(d Direction, every time.Duration) {
	l.set(d, func() { l.drip[d] = max(every, 0) })
}

// Truncate lets only after more bytes through in direction d (counted from
// [Link.Forwarded] at the time of the call), then closes both sides of the
// link as [Proxy.Close] does, as when a frame is cut mid-way. Truncate(d, 0)
// closes at once. Injected bytes are not counted.
func (l *Link) Truncate(d Direction, after int64) {
	l.set(d, func() { l.limit[d] = l.forwarded[d] + max(after, 0) })
}

// Inject queues a copy of b to be written in direction d at the current
// position of the stream: after the bytes counted by [Link.Forwarded] (once
// any write in progress completes) and before any later byte. Injected
// bytes respect Freeze but not Drip or Truncate, and are not counted by
// Forwarded.
func (l *Link) Inject(d Direction, b []byte) {
	l.set(d, func() { l.inject[d] = append(l.inject[d], b...) })
}

// Reset aborts both sides of the link with a TCP RST (SO_LINGER 0, then
// close), so each peer sees a connection reset rather than EOF.
func (l *Link) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shutdownLocked(true)
}

// CloseSide closes the connection towards the receiver of direction d with
// a FIN and nothing else: the other peer is not notified and its
// connection stays open, unread, until [Link.Reset] or [Proxy.Close]. Both
// pumps exit, so Done is closed. If that receiver still has data unread by
// the proxy, the kernel follows the FIN with a RST.
func (l *Link) CloseSide(d Direction) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keepOpen = true
	l.closeConnLocked(1-int(d), false)
	l.changedLocked(ClientToServer)
	l.changedLocked(ServerToClient)
}

// Forwarded returns the number of bytes of direction d the proxy has read
// from the source and written, or is writing, to the receiver. Injected
// bytes are not counted.
func (l *Link) Forwarded(d Direction) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.forwarded[d]
}

// WaitForwarded waits until Forwarded(d) >= n. It fails with ctx's error,
// or with [ErrLinkDone] if the link ends first.
func (l *Link) WaitForwarded(ctx context.Context, d Direction, n int64) error {
	for {
		l.mu.Lock()
		fwd, ch := l.forwarded[d], l.changedCh
		l.mu.Unlock()
		if fwd >= n {
			return nil
		}
		select {
		case <-ch:
		case <-l.doneCh:
			if l.Forwarded(d) >= n {
				return nil
			}
			return ErrLinkDone
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Done returns a channel closed when both pump goroutines of the link have
// exited. Unless [Link.CloseSide] was used, both connections are closed by
// then.
func (l *Link) Done() <-chan struct{} { return l.doneCh }

// set applies f to the state of direction d under l.mu and wakes its pump.
func (l *Link) set(d Direction, f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
	l.changedLocked(d)
}

// notifyLocked wakes every goroutine waiting on l.changedCh.
func (l *Link) notifyLocked() {
	close(l.changedCh)
	l.changedCh = make(chan struct{})
}

// changedLocked wakes every waiter, including the pump of direction d if
// it is blocked reading (by setting a past read deadline; no data is lost).
func (l *Link) changedLocked(d Direction) {
	l.notifyLocked()
	if l.inRead[d] && !l.kicked[d] {
		l.kicked[d] = true
		l.conns[d].SetReadDeadline(time.Unix(1, 0))
	}
}

// closeConnLocked closes conns[i], with a RST if reset, otherwise with a FIN.
func (l *Link) closeConnLocked(i int, reset bool) {
	if l.connClosed[i] {
		return
	}
	l.connClosed[i] = true
	if reset {
		l.conns[i].SetLinger(0)
	} else {
		l.conns[i].CloseWrite() // FIN before a possible RST for unread data
	}
	l.conns[i].Close()
}

// shutdownLocked closes both connections and makes the pumps exit.
func (l *Link) shutdownLocked(reset bool) {
	l.closed = true
	l.closeConnLocked(0, reset)
	l.closeConnLocked(1, reset)
	l.changedLocked(ClientToServer)
	l.changedLocked(ServerToClient)
}

// deadLocked reports whether the pumps must exit: the link was shut down or
// one of its connections was closed by the proxy.
func (l *Link) deadLocked() bool { return l.closed || l.connClosed[0] || l.connClosed[1] }

// fail ends the link with a RST after an I/O error the proxy did not cause.
func (l *Link) fail() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.deadLocked() {
		l.shutdownLocked(true)
	}
}

func (l *Link) pumpExited() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pumps--; l.pumps > 0 {
		return
	}
	if !l.keepOpen {
		l.shutdownLocked(false)
	}
	close(l.doneCh)
	l.notifyLocked()
}

// pump forwards direction d until EOF, an error or shutdown. On EOF from
// its source, it half-closes the receiver once all held bytes are written.
func (l *Link) pump(d Direction) {
	defer l.p.wg.Done()
	defer l.pumpExited()
	src, dst := l.conns[d], l.conns[1-d]
	buf := make([]byte, bufSize)
	var held []byte // read from src, not yet forwarded
	var eof bool
	var lastDrip time.Time
	for {
		l.mu.Lock()
		if l.deadLocked() {
			l.mu.Unlock()
			return
		}
		if l.frozen[d] {
			ch := l.changedCh
			l.mu.Unlock()
			<-ch
			continue
		}
		if inj := l.inject[d]; len(inj) > 0 {
			l.inject[d] = nil
			l.mu.Unlock()
			if _, err := dst.Write(inj); err != nil {
				l.fail()
				return
			}
			continue
		}
		rem := l.limit[d] - l.forwarded[d]
		if l.limit[d] >= 0 && rem <= 0 {
			l.shutdownLocked(false)
			l.mu.Unlock()
			return
		}
		if len(held) > 0 {
			n := len(held)
			if l.limit[d] >= 0 && rem < int64(n) {
				n = int(rem)
			}
			if every := l.drip[d]; every > 0 {
				if wait := time.Until(lastDrip.Add(every)); wait > 0 {
					ch := l.changedCh
					l.mu.Unlock()
					t := time.NewTimer(wait)
					select {
					case <-t.C:
					case <-ch:
					}
					t.Stop()
					continue
				}
				n, lastDrip = 1, time.Now()
			}
			l.forwarded[d] += int64(n)
			l.notifyLocked()
			l.mu.Unlock()
			if _, err := dst.Write(held[:n]); err != nil {
				l.fail()
				return
			}
			held = held[n:]
			continue
		}
		if eof {
			l.mu.Unlock()
			dst.CloseWrite()
			return
		}
		l.inRead[d] = true
		l.mu.Unlock()

		n, err := src.Read(buf)

		l.mu.Lock()
		l.inRead[d] = false
		if l.kicked[d] {
			l.kicked[d] = false
			src.SetReadDeadline(time.Time{})
		}
		l.mu.Unlock()
		held = buf[:n]
		switch {
		case err == nil || errors.Is(err, os.ErrDeadlineExceeded):
		case err == io.EOF:
			eof = true
		default:
			l.fail()
			return
		}
	}
}
