//go:build !js

package main

import (
	"bufio"
	_ "embed"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/wsstream/wsstream"
)

//go:embed index.html
var page string

// report is what a page said on its chat stream.
type report struct {
	remote string // the page's address
	line   string
}

// server serves the page, its assets and the WebSocket at /ws.
type server struct {
	mux      *http.ServeMux
	assets   assets
	onReport func(report)
	log      *log.Logger

	mu    sync.Mutex
	conns map[*wsstream.Conn]struct{} // open WebSockets, dropped by close
	wg    sync.WaitGroup              // running WebSocket handlers
}

func newServer(a assets, onReport func(report), logger *log.Logger) *server {
	s := &server{mux: http.NewServeMux(), assets: a, onReport: onReport, log: logger, conns: make(map[*wsstream.Conn]struct{})}
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	s.mux.HandleFunc("GET /wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, a.execJS)
	})
	s.mux.HandleFunc("GET /client.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, a.wasm)
	})
	s.mux.HandleFunc("/ws", s.serveWS)
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// close drops every WebSocket and waits for their handlers.
func (s *server) close() {
	s.mu.Lock()
	for c := range s.conns {
		c.CloseNow()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serveWS runs a yamux server session over the page's WebSocket. Each
// stream the page opens starts with a line naming it: "echo" streams are
// echoed until the page closes its side; on a "chat" stream the server
// greets the page and reads one line back, its report.
func (s *server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	c, err := wsstream.Accept(w, r, nil)
	if err != nil {
		s.log.Printf("accept: %v", err)
		return
	}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.CloseNow()
	}()

	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	sess, err := yamux.Server(c, cfg)
	if err != nil {
		return
	}
	defer sess.Close()
	var streams sync.WaitGroup
	defer streams.Wait()
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			return // the page closed the session
		}
		streams.Go(func() {
			defer st.Close()
			// A stream is served for at most a minute.
			st.SetDeadline(time.Now().Add(time.Minute))
			br := bufio.NewReader(st)
			name, err := br.ReadString('\n')
			if err != nil {
				return
			}
			switch strings.TrimSpace(name) {
			case "echo":
				io.Copy(st, br)
			case "chat":
				io.WriteString(st, "hello from the Go server, over yamux stream "+strconv.FormatUint(uint64(st.StreamID()), 10)+" over wsstream\n")
				line, err := br.ReadString('\n')
				if err == nil {
					s.onReport(report{remote: r.RemoteAddr, line: strings.TrimSpace(line)})
				}
			}
		})
	}
}
