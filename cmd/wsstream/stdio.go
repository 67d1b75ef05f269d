package main

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// errTunnelFailed is returned by client -stdio when the tunnel ended with
// a failure rather than an end of stream.
var errTunnelFailed = errors.New("the tunnel failed")

// runStdio carries stdin and stdout over one WebSocket to c.url and
// returns when the tunnel has ended: nil after a clean end, an error when
// the server could not be reached or the tunnel failed. When ctx is done
// the tunnel gets drain to finish before it is reset.
func (c *tunnelClient) runStdio(ctx context.Context, stdin io.Reader, stdout io.Writer, drain time.Duration) error {
	hard, cancel := drainContext(ctx, drain, c.log, func() int64 { return 1 }, nil)
	defer cancel()
	log := c.log.With("id", 1, "remote", "stdio")
	ws, err := c.dialRetry(hard, log)
	if err != nil {
		return err
	}
	lc := newStdioLocal(stdin, stdout)
	up, down := pipe(hard, ws, lc, log, &c.stats)
	if up == endFailed || down == endFailed || up == endShutdown {
		return errTunnelFailed
	}
	return nil
}

// stdioLocal is standard input and output as a tunnel's local end. Reads
// of stdin happen in a goroutine of their own, so that Close and
// SetReadDeadline end a Read at once even where stdin (a pipe, a
// terminal) has no deadlines; that goroutine stays blocked in stdin's
// Read until stdin delivers something or fails, which for a process that
// exits after the tunnel does not matter.
type stdioLocal struct {
	out      io.Writer
	chunks   chan stdinChunk
	closedCh chan struct{}
	close    sync.Once

	mu       sync.Mutex
	pending  []byte        // rest of the last chunk
	pendErr  error         // stdin's error, after pending
	deadline chan struct{} // closed when the read deadline passes
	timer    *time.Timer
}

type stdinChunk struct {
	b   []byte
	err error
}

func newStdioLocal(in io.Reader, out io.Writer) *stdioLocal {
	s := &stdioLocal{out: out, chunks: make(chan stdinChunk), closedCh: make(chan struct{}), deadline: make(chan struct{})}
	go func() {
		for {
			b := make([]byte, copyBufferSize)
			n, err := in.Read(b)
			select {
			case s.chunks <- stdinChunk{b[:n], err}:
			case <-s.closedCh:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

func (s *stdioLocal) Read(p []byte) (int, error) {
	s.mu.Lock()
	if len(s.pending) == 0 && s.pendErr == nil {
		deadline := s.deadline
		s.mu.Unlock()
		select {
		case c := <-s.chunks:
			s.mu.Lock()
			s.pending, s.pendErr = c.b, c.err
		case <-s.closedCh:
			return 0, os.ErrClosed
		case <-deadline:
			return 0, os.ErrDeadlineExceeded
		}
	}
	defer s.mu.Unlock()
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		return n, nil
	}
	return 0, s.pendErr
}

func (s *stdioLocal) Write(p []byte) (int, error) {
	select {
	case <-s.closedCh:
		return 0, os.ErrClosed
	default:
	}
	return s.out.Write(p)
}

// CloseWrite closes stdout, when it can be closed.
func (s *stdioLocal) CloseWrite() error {
	if c, ok := s.out.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func (s *stdioLocal) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
	}
	ch := make(chan struct{})
	s.deadline = ch
	if !t.IsZero() {
		s.timer = time.AfterFunc(time.Until(t), func() { close(ch) })
	}
	return nil
}

func (s *stdioLocal) Abort() { s.Close() }

// Close ends pending and future Reads and Writes and closes stdout.
func (s *stdioLocal) Close() error {
	s.close.Do(func() {
		close(s.closedCh)
		s.CloseWrite()
	})
	return nil
}
