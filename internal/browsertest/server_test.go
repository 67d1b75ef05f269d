//go:build !js

package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream"
	"github.com/wsstream/wsstream/internal/jsharness"
)

// server serves the wsstream endpoints the js tests use, all under /ws/,
// plus /release and /seen. Handlers end when their Conn ends or quit is
// closed; wg counts them.
type server struct {
	quit chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	seen     map[string]chan string   // /ws/check id -> its report
	released map[string]chan struct{} // /ws/check?hold=1 id -> closed by /release
}

func newServer() *server {
	return &server{
		quit:     make(chan struct{}),
		seen:     make(map[string]chan string),
		released: make(map[string]chan struct{}),
	}
}

// stop ends every handler and waits for them.
func (s *server) stop() {
	close(s.quit)
	s.wg.Wait()
}

func (s *server) register(mux *http.ServeMux) {
	mux.HandleFunc("/ws/echo", s.handle(s.echo))
	mux.HandleFunc("/ws/write", s.handle(s.write))
	mux.HandleFunc("/ws/check", s.handle(s.check))
	mux.HandleFunc("/ws/drop", s.handle(s.drop))
	mux.HandleFunc("/ws/text", s.text)
	mux.HandleFunc("/release", s.release)
	mux.HandleFunc("/seen", s.seenResult)
}

// handle accepts the WebSocket as a wsstream Conn and runs h, dropping the
// Conn when quit is closed.
func (s *server) handle(h func(*wsstream.Conn, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.wg.Add(1)
		defer s.wg.Done()
		opts := &wsstream.AcceptOptions{}
		opts.Subprotocols = []string{"wsstream-test"}
		c, err := wsstream.Accept(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ended := make(chan struct{})
		defer close(ended)
		go func() {
			select {
			case <-s.quit:
				c.CloseNow()
			case <-ended:
			}
		}()
		h(c, r)
	}
}

func queryInt(r *http.Request, name string, def int) int {
	if v, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil {
		return v
	}
	return def
}

// echo copies what it reads back until the client closes, then closes.
func (s *server) echo(c *wsstream.Conn, r *http.Request) {
	if _, err := io.Copy(c, c); err == nil {
		c.Close()
	}
}

// write writes n bytes of pattern seed in writes of random sizes up to
// 64 KiB, then closes with code and reason. With id set, it reports the
// error that ended its writing (or "ok") at /seen?id=ID.
func (s *server) write(c *wsstream.Conn, r *http.Request) {
	n, seed := queryInt(r, "n", 0), queryInt(r, "seed", 0)
	code := websocket.StatusCode(queryInt(r, "code", 1000))
	gen, sizes := jsharness.Pattern(uint64(seed)), rand.New(rand.NewPCG(uint64(seed), 1))
	buf := make([]byte, 64<<10)
	var werr error
	for sent := 0; sent < n && werr == nil; {
		m := buf[:min(n-sent, 1+sizes.IntN(len(buf)))]
		gen.Read(m)
		_, werr = c.Write(m)
		sent += len(m)
	}
	if id := r.URL.Query().Get("id"); id != "" {
		s.report(id, describeEnd(werr))
	}
	if werr == nil {
		c.CloseWithStatus(code, r.URL.Query().Get("reason"))
	}
}

// check reads until the Conn ends, comparing the bytes with pattern seed,
// and reports at /seen?id=ID "bytes=N ok|mismatch end=..." where end
// describes Read's final error. With hold=1 it reads nothing until
// /release?id=ID is requested.
func (s *server) check(c *wsstream.Conn, r *http.Request) {
	id := r.URL.Query().Get("id")
	if r.URL.Query().Get("hold") == "1" {
		select {
		case <-s.releaseChan(id):
		case <-s.quit:
			return
		}
	}
	gen := jsharness.Pattern(uint64(queryInt(r, "seed", 0)))
	got, want := make([]byte, 64<<10), make([]byte, 64<<10)
	n, verdict := 0, "ok"
	var err error
	for {
		var k int
		k, err = c.Read(got)
		gen.Read(want[:k])
		if verdict == "ok" && !bytes.Equal(got[:k], want[:k]) {
			verdict = fmt.Sprintf("mismatch in the %d bytes at %d", k, n)
		}
		n += k
		if err != nil {
			break
		}
	}
	s.report(id, fmt.Sprintf("bytes=%d %s end=%s", n, verdict, describeEnd(err)))
	if err == io.EOF {
		c.Close()
	}
}

// describeEnd says how a Read or Write error ended the stream: "EOF",
// "CODE REASON" for a close frame, "ok" for nil, or the error.
func describeEnd(err error) string {
	var ce websocket.CloseError
	switch {
	case err == nil:
		return "ok"
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, wsstream.ErrPeerClosed) && errors.As(err, &ce):
		return fmt.Sprintf("%d %s", ce.Code, ce.Reason)
	}
	return "error: " + err.Error()
}

// text is a plain coder/websocket peer (a wsstream Conn never sends
// text): it sends "abc" in a binary message, then a text message, and
// reports at /seen?id=ID the close frame it receives, "CODE REASON".
func (s *server) text(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"wsstream-test"}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		select {
		case <-s.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	if c.Write(ctx, websocket.MessageBinary, []byte("abc")) != nil || c.Write(ctx, websocket.MessageText, []byte("t")) != nil {
		return
	}
	_, _, err = c.Read(ctx)
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		s.report(r.URL.Query().Get("id"), fmt.Sprintf("%d %s", ce.Code, ce.Reason))
	} else {
		s.report(r.URL.Query().Get("id"), fmt.Sprintf("error: %v", err))
	}
}

// drop drops the connection without a close frame.
func (s *server) drop(c *wsstream.Conn, r *http.Request) {
	c.CloseNow()
}

func (s *server) report(id, v string) {
	select {
	case s.seenChan(id) <- v:
	default: // reported already
	}
}

func (s *server) seenChan(id string) chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.seen[id]
	if !ok {
		ch = make(chan string, 1)
		s.seen[id] = ch
	}
	return ch
}

func (s *server) releaseChan(id string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.released[id]
	if !ok {
		ch = make(chan struct{})
		s.released[id] = ch
	}
	return ch
}

// release lets /ws/check?hold=1&id=ID start reading.
func (s *server) release(w http.ResponseWriter, r *http.Request) {
	ch := s.releaseChan(r.URL.Query().Get("id"))
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// seenResult answers /seen?id=ID with the report of the endpoint with
// that id, waiting up to 30 s for it.
func (s *server) seenResult(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case v := <-s.seenChan(r.URL.Query().Get("id")):
		io.WriteString(w, v)
	case <-t.C:
		http.Error(w, "nothing reported within 30s", http.StatusGatewayTimeout)
	case <-s.quit:
	}
}
