//go:build !js

package wsstream

// Interop with programs we did not write: Node.js's `ws` package, headless
// Chromium and nginx as a reverse proxy; and with Go's own TLS stack and
// browsers' Origin header.
//
// The tests that need a program skip only when it is missing and the CI
// environment variable is unset; under CI they fail instead. To install
// them on Debian:
//
//	apt-get install -y nodejs npm chromium nginx
//	(cd testdata/interop && npm ci)

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// interopDir holds the Node.js scripts, package.json and the browser page.
const interopDir = "testdata/interop"

// interopMissing skips the test because what is missing, or fails it
// under CI, where every interop test must run.
func interopMissing(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "" {
		t.Skipf("%s is missing; skipping because CI is unset (under CI=true this test fails instead). "+
			"Install: apt-get install -y nodejs npm chromium nginx && (cd %s && npm ci)", what, interopDir)
	}
	t.Fatalf("%s is missing, and interop tests must run under CI. "+
		"Install: apt-get install -y nodejs npm chromium nginx && (cd %s && npm ci)", what, interopDir)
}

// interopProgram returns the path of the program name, looked up in PATH
// and then in the places given.
func interopProgram(t *testing.T, name string, places ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range places {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	interopMissing(t, "the program "+name)
	return ""
}

// interopExchange writes total bytes of stream sendSeed to c in chunks of
// random sizes while reading and checking total bytes of stream recvSeed.
func interopExchange(c *Conn, total int, sendSeed, recvSeed uint32) error {
	werr := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(uint64(sendSeed), 1))
		buf := make([]byte, 256<<10)
		for off := 0; off < total; {
			n := min(total-off, 1+rng.IntN(len(buf)))
			fillPattern(buf[:n], sendSeed, int64(off))
			if _, err := c.Write(buf[:n]); err != nil {
				werr <- fmt.Errorf("Write at %d: %w", off, err)
				return
			}
			off += n
		}
		werr <- nil
	}()
	c.SetDeadline(time.Now().Add(2 * testTimeout))
	defer c.SetDeadline(time.Time{})
	buf := make([]byte, 32<<10)
	want := make([]byte, len(buf))
	var rerr error
	for off := 0; off < total; {
		n, err := c.Read(buf[:min(len(buf), total-off)])
		fillPattern(want[:n], recvSeed, int64(off))
		if !bytes.Equal(buf[:n], want[:n]) {
			rerr = fmt.Errorf("bytes read at %d differ from the bytes sent", off)
			break
		}
		off += n
		if err != nil {
			rerr = fmt.Errorf("Read at %d: %w", off, err)
			break
		}
	}
	return errors.Join(rerr, <-werr)
}

// nodeResult is the last line peer.js prints.
type nodeResult struct {
	Event       string `json:"event"`
	Port        int    `json:"port"`
	OK          bool   `json:"ok"`
	Error       string `json:"error"`
	Received    int    `json:"received"`
	CloseCode   int    `json:"closeCode"`
	CloseReason string `json:"closeReason"`
}

// TestInteropNode exchanges 10 MiB both ways, in messages of random
// sizes, with a peer written with Node.js's `ws` package, as its server
// and as its client, and checks the close code and reason each side sees
// when either side closes, with 1000 or a code of its own.
func TestInteropNode(t *testing.T) {
	node := interopProgram(t, "node", "/usr/bin/node", "/usr/bin/nodejs")
	if _, err := os.Stat(filepath.Join(interopDir, "node_modules", "ws", "package.json")); err != nil {
		interopMissing(t, "the npm package ws ("+err.Error()+"; run npm ci in "+interopDir+")")
	}
	total := 10 << 20
	if testing.Short() {
		total = 1 << 20
	}
	const goSeed, nodeSeed = 31, 32
	cases := []struct {
		name string
		// The side that closes, with its code and reason.
		goCode, nodeCode websocket.StatusCode
		reason           string
	}{
		{name: "GoCloses1000", goCode: websocket.StatusNormalClosure},
		{name: "GoClosesCustom", goCode: 4001, reason: "go-bye"},
		{name: "NodeCloses1000", nodeCode: websocket.StatusNormalClosure},
		{name: "NodeClosesCustom", nodeCode: 4321, reason: "node-bye"},
	}
	for _, role := range []string{"NodeClient", "NodeServer"} {
		for _, tc := range cases {
			t.Run(role+"/"+tc.name, func(t *testing.T) {
				opts, _ := json.Marshal(map[string]any{
					"total": total, "sendSeed": nodeSeed, "recvSeed": goSeed, "maxChunk": 256 << 10,
					"closeCode": int(tc.nodeCode), "closeReason": tc.reason,
				})
				var c *Conn
				var cmd *exec.Cmd
				var lines *bufio.Scanner
				start := func() {
					stdout, err := cmd.StdoutPipe()
					if err != nil {
						t.Fatal(err)
					}
					cmd.Dir = interopDir
					startProcess(t, cmd, "")
					lines = bufio.NewScanner(stdout)
				}
				next := func() nodeResult {
					t.Helper()
					var r nodeResult
					if !lines.Scan() {
						t.Fatalf("peer.js printed nothing more: %v", lines.Err())
					}
					if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
						t.Fatalf("peer.js printed %q: %v", lines.Bytes(), err)
					}
					return r
				}
				if role == "NodeClient" {
					s, accepted := newAcceptServer(t, nil)
					cmd = exec.Command(node, "peer.js", "client", s.url+"/", string(opts))
					start()
					select {
					case c = <-accepted:
					case <-time.After(testTimeout):
						t.Fatal("the Node.js client did not connect")
					}
				} else {
					cmd = exec.Command(node, "peer.js", "server", string(opts))
					start()
					r := next()
					if r.Event != "listening" {
						t.Fatalf("peer.js: %+v, want it listening", r)
					}
					var err error
					c, _, err = Dial(testContext(t), "ws://127.0.0.1:"+strconv.Itoa(r.Port)+"/", nil)
					if err != nil {
						t.Fatalf("Dial the Node.js server: %v", err)
					}
				}
				defer c.Close()

				if err := interopExchange(c, total, goSeed, nodeSeed); err != nil {
					t.Fatalf("exchange: %v", err)
				}
				if tc.goCode != 0 {
					if err := c.CloseWithStatus(tc.goCode, tc.reason); err != nil {
						t.Errorf("CloseWithStatus: %v", err)
					}
				} else {
					_, err := c.Read(make([]byte, 1))
					switch {
					case tc.nodeCode == websocket.StatusNormalClosure:
						if err != io.EOF {
							t.Errorf("Read after the peer closed with 1000: %v, want io.EOF", err)
						}
					default:
						var ce websocket.CloseError
						if !errors.Is(err, ErrPeerClosed) || !errors.As(err, &ce) || ce.Code != tc.nodeCode || ce.Reason != tc.reason {
							t.Errorf("Read after the peer closed: %v, want ErrPeerClosed with %v %q", err, tc.nodeCode, tc.reason)
						}
					}
					if err := c.Close(); err != nil {
						t.Errorf("Close after the peer closed: %v", err)
					}
				}
				r := next()
				if r.Event != "done" || !r.OK || r.Received != total {
					t.Fatalf("peer.js: %+v, want every byte received and checked", r)
				}
				wantCode, wantReason := tc.goCode, tc.reason
				if tc.goCode == 0 {
					// The Go side echoes the status of the peer's close frame.
					wantCode = tc.nodeCode
				}
				if r.CloseCode != int(wantCode) || r.CloseReason != wantReason {
					t.Errorf("peer.js saw the close %d %q, want %d %q", r.CloseCode, r.CloseReason, wantCode, wantReason)
				}
			})
		}
	}
}

// TestInteropBrowser loads a page into headless Chromium whose JavaScript
// opens a WebSocket to a wsstream server, sends binary messages, checks
// the echo, and reports by fetching /result. The server closes with a
// code of its own, which the page must see.
func TestInteropBrowser(t *testing.T) {
	chromium := interopProgram(t, "chromium", "/usr/bin/chromium")
	const total, seed, maxChunk = 4 << 20, 41, 100 << 10
	page, err := os.ReadFile(filepath.Join(interopDir, "browser.html"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(interopDir, "pattern.js"))
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan url.Values, 1)
	served := make(chan error, 1)
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.HandleFunc("/pattern.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(script)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil) // same origin: allowed by default
		if err != nil {
			served <- err
			return
		}
		var tcpOK bool
		_, tcpOK = c.RemoteAddr().(*net.TCPAddr)
		_, err = io.CopyN(c, c, total)
		if err == nil && !tcpOK {
			err = fmt.Errorf("RemoteAddr %v is not a TCP address", c.RemoteAddr())
		}
		if cerr := c.CloseWithStatus(4002, "go-bye"); err == nil {
			err = cerr
		}
		served <- err
	})
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { results <- r.URL.Query() })
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)

	// Everything the browser writes stays in home, whose name is unique
	// to this test and marks the browser's processes.
	home := t.TempDir()
	cmd := exec.Command(chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(home, "profile"),
		fmt.Sprintf("%s/?total=%d&seed=%d&maxChunk=%d", s.URL, total, seed, maxChunk))
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	exited := startProcess(t, cmd, home)

	var res url.Values
	select {
	case res = <-results:
	case err := <-exited:
		t.Fatalf("chromium exited before the page reported: %v", err)
	case <-time.After(3 * testTimeout):
		t.Fatal("the page did not report within a minute")
	}
	if err := recv(t, served); err != nil {
		t.Errorf("server: %v", err)
	}
	if res.Get("ok") != "true" || res.Get("received") != strconv.Itoa(total) {
		t.Errorf("page: %v, want every byte echoed and checked", res)
	}
	if res.Get("code") != "4002" || res.Get("reason") != "go-bye" || res.Get("clean") != "true" {
		t.Errorf("page saw the close %s %q (clean: %s), want a clean 4002 \"go-bye\"", res.Get("code"), res.Get("reason"), res.Get("clean"))
	}
}

// nginxConf is the configuration of TestInteropNginx: a reverse proxy
// for WebSockets, with every path nginx writes inside the prefix.
const nginxConf = `# Generated by wsstream's interop_test.go.
daemon off;
master_process off;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log info;
events {
    worker_connections 64;
}
http {
    access_log {{dir}}/access.log;
    client_body_temp_path {{dir}}/client_body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    server {
        listen 127.0.0.1:{{port}};
        location / {
            proxy_pass http://{{backend}};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            # Idle upgraded connections are closed after this long without
            # data from the backend.
            proxy_read_timeout 2s;
            proxy_send_timeout 2s;
        }
    }
}
`

// startNginx runs nginx as a reverse proxy in front of backend and
// returns the address to dial.
func startNginx(t *testing.T, nginx, backend string) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr, err := tryNginx(t, nginx, backend)
		if err == nil {
			return addr
		}
		if attempt == 5 {
			t.Fatalf("nginx did not start: %v", err)
		}
		t.Logf("nginx, attempt %d: %v; trying another port", attempt, err)
	}
}

// tryNginx starts nginx on a port that was free a moment before. Another
// process can take the port first (the tests of other packages run in
// parallel), so nginx is ready when an HTTP answer signed by nginx comes
// back; until then it may still be starting, or fail to bind and exit.
func tryNginx(t *testing.T, nginx, backend string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	conf := strings.NewReplacer("{{dir}}", dir, "{{port}}", port, "{{backend}}", backend).Replace(nginxConf)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	exited := startProcess(t, cmd, "")
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", log)
		}
	})
	addr := "127.0.0.1:" + port
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	// nginx says nothing when it is ready: poll it, briefly.
	for start := time.Now(); time.Since(start) < testTimeout; {
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			if server := resp.Header.Get("Server"); !strings.HasPrefix(server, "nginx") {
				return "", fmt.Errorf("%s answered, but not nginx (Server: %q)", addr, server)
			}
			return addr, nil
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("nginx exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("nginx does not answer on %s", addr)
}

// TestInteropNginx puts nginx, configured as the usual WebSocket reverse
// proxy with proxy_read_timeout 2s, in front of a Listener: the byte
// stream goes through both ways; idle Conns whose keepalive pings every
// 500ms outlive 5s of idleness; without keepalive nginx drops them.
func TestInteropNginx(t *testing.T) {
	nginx := interopProgram(t, "nginx", "/usr/sbin/nginx")
	keepalive := Options{KeepaliveInterval: 500 * time.Millisecond, KeepaliveTimeout: time.Second}
	noKeepalive := Options{KeepaliveInterval: -1}
	// pair returns a client Conn dialed through nginx and the server Conn
	// the Listener behind it accepted.
	pair := func(t *testing.T, opts Options) (client, server *Conn) {
		ln, err := Listen("127.0.0.1:0", &ListenerOptions{AcceptOptions: AcceptOptions{Options: opts}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		addr := startNginx(t, nginx, ln.Addr().String())
		client, _, err = Dial(testContext(t), "ws://"+addr+"/", &DialOptions{Options: opts})
		if err != nil {
			t.Fatalf("Dial through nginx: %v", err)
		}
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		server = nc.(*Conn)
		t.Cleanup(func() { closeBoth(client, server) })
		return client, server
	}
	// exchange runs interopExchange on both Conns at once.
	exchange := func(t *testing.T, client, server *Conn, total int) {
		t.Helper()
		errs := make(chan error, 2)
		go func() { errs <- interopExchange(client, total, 51, 52) }()
		go func() { errs <- interopExchange(server, total, 52, 51) }()
		for range 2 {
			if err := recv(t, errs); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("Stream", func(t *testing.T) {
		t.Parallel()
		client, server := pair(t, Options{})
		exchange(t, client, server, 8<<20)
		if err := client.Close(); err != nil {
			t.Errorf("client Close: %v", err)
		}
		if _, err := server.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("server Read after the client closed: %v, want io.EOF", err)
		}
	})
	t.Run("IdleWithKeepalive", func(t *testing.T) {
		t.Parallel()
		client, server := pair(t, keepalive)
		exchange(t, client, server, 64<<10)
		// Idle for 5s: each Read must time out, not fail.
		errs := make(chan error, 2)
		for _, c := range []*Conn{client, server} {
			go func() {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err := c.Read(make([]byte, 1))
				errs <- err
			}()
		}
		for range 2 {
			if err := recv(t, errs); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read while idle: %v, want a timeout: the connection did not survive", err)
			}
		}
		client.SetReadDeadline(time.Time{})
		server.SetReadDeadline(time.Time{})
		exchange(t, client, server, 64<<10)
	})
	t.Run("IdleWithoutKeepalive", func(t *testing.T) {
		t.Parallel()
		client, server := pair(t, noKeepalive)
		exchange(t, client, server, 64<<10)
		start := time.Now()
		client.SetReadDeadline(start.Add(testTimeout))
		_, err := client.Read(make([]byte, 1))
		d := time.Since(start)
		if !errors.Is(err, ErrConnectionLost) {
			t.Fatalf("Read while idle without keepalive: %v, want ErrConnectionLost: nginx should have closed the connection", err)
		}
		if d < 1500*time.Millisecond {
			t.Errorf("the connection was lost after %v, before nginx's 2s timeout", d)
		}
		t.Logf("nginx closed the idle connection after %v: %v", d.Round(time.Millisecond), err)
	})
}

// TestInteropTLS runs the stream over wss:// with Go's TLS stack: the
// client trusts the test server's certificate, data goes both ways, and
// the addresses are those of the TCP connection below TLS.
func TestInteropTLS(t *testing.T) {
	accepted := make(chan *Conn, 1)
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		accepted <- c
	}))
	t.Cleanup(s.Close)
	client, resp, err := Dial(testContext(t), "wss://"+s.Listener.Addr().String()+"/", &DialOptions{
		DialOptions: websocket.DialOptions{HTTPClient: s.Client()},
	})
	if err != nil {
		t.Fatalf("Dial wss: %v", err)
	}
	if resp.TLS == nil {
		t.Error("the handshake response did not come over TLS")
	}
	server := recv(t, accepted)
	t.Cleanup(func() { closeBoth(client, server) })

	errs := make(chan error, 2)
	go func() { errs <- interopExchange(client, 2<<20, 61, 62) }()
	go func() { errs <- interopExchange(server, 2<<20, 62, 61) }()
	for range 2 {
		if err := recv(t, errs); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := client.RemoteAddr().String(), s.Listener.Addr().String(); got != want {
		t.Errorf("client RemoteAddr %s, want the server's %s", got, want)
	}
	if got, want := server.LocalAddr().String(), s.Listener.Addr().String(); got != want {
		t.Errorf("server LocalAddr %s, want %s", got, want)
	}
	if client.LocalAddr().String() != server.RemoteAddr().String() {
		t.Errorf("client LocalAddr %s, server RemoteAddr %s: the ends do not match", client.LocalAddr(), server.RemoteAddr())
	}
	if err := client.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := server.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("server Read after the client closed: %v, want io.EOF", err)
	}
}

// TestInteropOrigin checks the Origin header a browser sends with an
// upgrade: a cross-origin upgrade is refused with 403 unless
// AcceptOptions.OriginPatterns allows that origin.
func TestInteropOrigin(t *testing.T) {
	for _, tc := range []struct {
		name     string
		origin   string // "" for no Origin header; "self" for the server's own
		patterns []string
		ok       bool
	}{
		{name: "NoOrigin", origin: "", ok: true},
		{name: "SameOrigin", origin: "self", ok: true},
		{name: "CrossOriginRefused", origin: "https://evil.example", ok: false},
		{name: "CrossOriginAllowedByHost", origin: "https://app.example", patterns: []string{"app.example"}, ok: true},
		{name: "CrossOriginAllowedByWildcard", origin: "https://a.app.example", patterns: []string{"*.app.example"}, ok: true},
		{name: "CrossOriginAllowedBySchemeAndHost", origin: "https://app.example", patterns: []string{"https://app.example"}, ok: true},
		{name: "CrossOriginWrongScheme", origin: "http://app.example", patterns: []string{"https://app.example"}, ok: false},
		{name: "CrossOriginOtherHost", origin: "https://evil.example", patterns: []string{"app.example"}, ok: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			accepted := make(chan *Conn, 1)
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				opts := &AcceptOptions{}
				opts.OriginPatterns = tc.patterns
				c, err := Accept(w, r, opts)
				if err != nil {
					accepted <- nil
					return
				}
				accepted <- c
			})
			opts := &DialOptions{}
			if tc.origin != "" {
				origin := tc.origin
				if origin == "self" {
					origin = s.URL
				}
				opts.HTTPHeader = http.Header{"Origin": {origin}}
			}
			c, resp, err := Dial(testContext(t), s.url, opts)
			server := recv(t, accepted)
			if !tc.ok {
				if err == nil {
					c.Close()
					t.Fatal("Dial succeeded, want the upgrade refused")
				}
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("Dial: %v with response %v, want 403 Forbidden", err, resp)
				}
				if server != nil {
					t.Fatal("Accept returned a Conn for a refused upgrade")
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer closeBoth(c, server)
			if _, err := c.Write([]byte("hi")); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 2)
			if _, err := io.ReadFull(server, got); err != nil || string(got) != "hi" {
				t.Fatalf("server read %q, %v", got, err)
			}
		})
	}
}
