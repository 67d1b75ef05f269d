//go:build !js

package wsstream_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/wsstream/wsstream"
)

// echoLine serves c as a line-echo server would serve a TCP connection:
// it reads one line and writes it back in upper case, then closes c.
func echoLine(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	io.WriteString(c, strings.ToUpper(line))
}

// askLine writes line to c and returns the line read back.
func askLine(c net.Conn, line string) (string, error) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// A server written for net.Listener accepts WebSocket clients: Listen
// serves HTTP on a TCP address and hands out each upgraded connection as
// a net.Conn.
func ExampleListen() {
	ln, err := wsstream.Listen("127.0.0.1:0", &wsstream.ListenerOptions{Backlog: 16})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			c, err := ln.Accept() // fails once ln is closed
			if err != nil {
				return
			}
			echoLine(c)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := wsstream.Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	reply, err := askLine(c, "hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(reply)
	ln.Close()
	<-served

	// Output: HELLO
}

// A Listener mounted on a mux of your own serves WebSockets at one path,
// next to the application's other handlers.
func ExampleNewListener() {
	ln := wsstream.NewListener(&wsstream.ListenerOptions{Backlog: 16})
	defer ln.Close()
	mux := http.NewServeMux()
	mux.Handle("/stream", ln)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			c, err := ln.Accept() // fails once ln is closed
			if err != nil {
				return
			}
			echoLine(c)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := wsstream.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/stream", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	reply, err := askLine(c, "hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(reply)
	fmt.Println(ln.Addr())
	ln.Close()
	<-served

	// Output:
	// HELLO
	// websocket/handler
}

// Dial connects to a WebSocket server and returns a net.Conn; its
// response is the server's handshake response.
func ExampleDial() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsstream.Accept(w, r, nil)
		if err != nil {
			return
		}
		echoLine(c)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := &wsstream.DialOptions{Options: wsstream.Options{CloseTimeout: 2 * time.Second}}
	c, resp, err := wsstream.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println(resp.Status)
	reply, err := askLine(c, "hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(reply)
	// The server closed after its reply: the stream ends with io.EOF.
	_, err = c.Read(make([]byte, 1))
	fmt.Println(err == io.EOF)

	// Output:
	// 101 Switching Protocols
	// HELLO
	// true
}

// New turns a coder/websocket connection made elsewhere into a net.Conn.
// Its addresses are placeholders unless Options.LocalAddr and
// Options.RemoteAddr are set.
func ExampleNew() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		echoLine(wsstream.New(ws, nil))
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := wsstream.New(ws, nil) // c owns ws from now on
	defer c.Close()
	reply, err := askLine(c, "hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(reply)
	fmt.Println(c.LocalAddr().Network())

	// Output:
	// HELLO
	// websocket
}
