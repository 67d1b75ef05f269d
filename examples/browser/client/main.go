//go:build js && wasm

// Command client is the Go program of the browser example's page, built
// for GOOS=js GOARCH=wasm by the example's server (see ../main.go). It
// dials the server with wsstream.Dial, runs a yamux client session over
// the Conn, and shows on the page what it does: it echoes 1 MiB on one
// stream and chats on another, where it reports its result to the server.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall/js"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/wsstream/wsstream"
)

func main() {
	err := run()
	status := "done: every check passed"
	if err != nil {
		status = "failed: " + err.Error()
		printf("error: %v", err)
	}
	js.Global().Get("document").Call("getElementById", "status").Set("textContent", status)
}

// printf appends a line to the page's log.
func printf(format string, args ...any) {
	doc := js.Global().Get("document")
	doc.Call("getElementById", "log").Call("append", fmt.Sprintf(format, args...)+"\n")
}

func run() error {
	loc := js.Global().Get("location")
	scheme := "ws"
	if loc.Get("protocol").String() == "https:" {
		scheme = "wss"
	}
	url := scheme + "://" + loc.Get("host").String() + "/ws"

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	printf("dialing %s with wsstream.Dial (the browser's WebSocket below)", url)
	c, _, err := wsstream.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	sess, err := yamux.Client(c, cfg)
	if err != nil {
		return err
	}
	// Closing the session closes the Conn with a clean WebSocket close.
	defer sess.Close()
	printf("yamux session open over the wsstream Conn")

	chat, err := open(sess, "chat")
	if err != nil {
		return err
	}
	defer chat.Close()
	br := bufio.NewReader(chat)
	greeting, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	printf("chat stream %d: the server says %q", chat.StreamID(), strings.TrimSpace(greeting))

	result := "ok: 1048576 bytes echoed and verified by SHA-256 on a second stream"
	if err := echo(sess, 1<<20); err != nil {
		result = "failed: " + err.Error()
	}
	printf("reporting on the chat stream: %s", result)
	if _, err := io.WriteString(chat, result+"\n"); err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	if !strings.HasPrefix(result, "ok") {
		return errors.New(result)
	}
	if err := sess.Close(); err != nil {
		return err
	}
	printf("session closed")
	return nil
}

// open opens a stream and names it.
func open(sess *yamux.Session, name string) (*yamux.Stream, error) {
	st, err := sess.OpenStream()
	if err != nil {
		return nil, err
	}
	st.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(st, name+"\n"); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// echo sends n random bytes on an "echo" stream, closes its side, reads
// the echo to the end and compares it by SHA-256.
func echo(sess *yamux.Session, n int) error {
	st, err := open(sess, "echo")
	if err != nil {
		return err
	}
	defer st.Close()
	data := make([]byte, n)
	rand.Read(data)
	printf("echo stream %d: sending %d random bytes", st.StreamID(), n)
	writeErr := make(chan error, 1)
	go func() {
		_, err := st.Write(data)
		if err == nil {
			err = st.Close() // half-close: the server's copy sees EOF
		}
		writeErr <- err
	}()
	var got bytes.Buffer
	if _, err := io.Copy(&got, st); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	if err := <-writeErr; err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	if sha256.Sum256(got.Bytes()) != sha256.Sum256(data) {
		return fmt.Errorf("echo: %d bytes came back, not the %d sent", got.Len(), n)
	}
	printf("echo stream %d: %d bytes back, SHA-256 matches", st.StreamID(), got.Len())
	return nil
}
