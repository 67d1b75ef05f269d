//go:build !js

package browser

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// wsServer serves the WebSocket endpoints the js tests use, all under
// /ws/. Handlers end when their connection ends or quit is closed; wg
// counts them.
type wsServer struct {
	quit chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	seen map[string]chan string // /ws/record id -> how the close looked
}

func newWSServer() *wsServer {
	return &wsServer{quit: make(chan struct{}), seen: make(map[string]chan string)}
}

// stop ends every handler and waits for them.
func (s *wsServer) stop() {
	close(s.quit)
	s.wg.Wait()
}

func (s *wsServer) register(mux *http.ServeMux) {
	mux.HandleFunc("/ws/echo", s.handle(s.echo))
	mux.HandleFunc("/ws/write", s.handle(s.write))
	mux.HandleFunc("/ws/close", s.handle(s.close))
	mux.HandleFunc("/ws/record", s.handle(s.record))
	mux.HandleFunc("/ws/sink", s.handle(s.sink))
	mux.HandleFunc("/ws/slow", s.handle(s.slow))
	mux.HandleFunc("/ws/drop", s.handle(s.drop))
	mux.HandleFunc("/hang", s.hang)
	mux.HandleFunc("/seen", s.seenResult)
}

// handle upgrades the request and runs h, dropping the connection when
// quit is closed.
func (s *wsServer) handle(h func(*websocket.Conn, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.wg.Add(1)
		defer s.wg.Done()
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"wsstream-test"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(-1)
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

// echo sends every message back with its type until the connection ends.
func (s *wsServer) echo(c *websocket.Conn, r *http.Request) {
	for {
		typ, p, err := c.Read(r.Context())
		if err != nil {
			return
		}
		if err := c.Write(r.Context(), typ, p); err != nil {
			return
		}
	}
}

// write sends n bytes of pattern seed in binary messages of 1 to 64 KiB,
// then closes with code and reason.
func (s *wsServer) write(c *websocket.Conn, r *http.Request) {
	n, seed := queryInt(r, "n", 0), queryInt(r, "seed", 0)
	code := websocket.StatusCode(queryInt(r, "code", 1000))
	gen := newPattern(uint64(seed))
	buf := make([]byte, 64<<10)
	for sent, i := 0, 0; sent < n; i++ {
		m := buf[:min(n-sent, 1+(i*7919)%len(buf))]
		gen.Read(m)
		if err := c.Write(r.Context(), websocket.MessageBinary, m); err != nil {
			return
		}
		sent += len(m)
	}
	c.Close(code, r.URL.Query().Get("reason"))
}

// close closes at once with code and reason.
func (s *wsServer) close(c *websocket.Conn, r *http.Request) {
	c.Close(websocket.StatusCode(queryInt(r, "code", 1000)), r.URL.Query().Get("reason"))
}

// record reads until the connection ends and makes how it ended available
// at /seen?id=ID as "CODE REASON" or "error: ...".
func (s *wsServer) record(c *websocket.Conn, r *http.Request) {
	ch := s.seenChan(r.URL.Query().Get("id"))
	for {
		if _, _, err := c.Read(r.Context()); err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				ch <- fmt.Sprintf("%d %s", ce.Code, ce.Reason)
			} else {
				ch <- "error: " + err.Error()
			}
			return
		}
	}
}

func (s *wsServer) seenChan(id string) chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.seen[id]
	if !ok {
		ch = make(chan string, 1)
		s.seen[id] = ch
	}
	return ch
}

// seenResult answers /seen?id=ID, waiting up to 20 s for /ws/record.
func (s *wsServer) seenResult(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	select {
	case v := <-s.seenChan(r.URL.Query().Get("id")):
		io.WriteString(w, v)
	case <-time.After(20 * time.Second):
		http.Error(w, "no close recorded within 20s", http.StatusGatewayTimeout)
	case <-s.quit:
	}
}

// drop ends the connection without a close frame.
func (s *wsServer) drop(c *websocket.Conn, r *http.Request) {
	c.CloseNow()
}

// hang never answers the handshake; it returns when the client goes away
// or quit is closed.
func (s *wsServer) hang(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	select {
	case <-r.Context().Done():
	case <-s.quit:
	}
}

// sink never reads; it holds the connection until quit.
func (s *wsServer) sink(c *websocket.Conn, r *http.Request) {
	<-s.quit
}

// slow reads n bytes slowly, 16 KiB at a time with a pause, checks them
// against pattern seed, and closes 1000 "ok", or 4002 saying what was
// wrong.
func (s *wsServer) slow(c *websocket.Conn, r *http.Request) {
	n, seed := queryInt(r, "n", 0), queryInt(r, "seed", 0)
	gen := newPattern(uint64(seed))
	got, want := make([]byte, 16<<10), make([]byte, 16<<10)
	for off := 0; off < n; {
		_, rd, err := c.Reader(r.Context())
		if err != nil {
			return
		}
		for {
			k, err := rd.Read(got)
			gen.Read(want[:k])
			if !bytes.Equal(got[:k], want[:k]) {
				c.Close(4002, fmt.Sprintf("mismatch in %d bytes at %d", k, off))
				return
			}
			off += k
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
			// The pause makes this peer slower than the writer; it is
			// the load, not a synchronisation.
			time.Sleep(200 * time.Microsecond)
		}
	}
	c.Close(websocket.StatusNormalClosure, "ok")
}
