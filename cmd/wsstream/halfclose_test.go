package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
)

// TestHalfClose runs the binaries and checks that a half-close crosses
// the tunnel both ways while the other direction goes on:
//   - Client: the local client shuts down writing (SHUT_WR); the target
//     reads every byte, then EOF, then answers, and the client reads the
//     answer, then EOF (as `nc -N` or an RPC client that half-closes
//     expects);
//   - Target: the target sends a greeting and shuts down writing; the
//     client reads it, then EOF, then sends, and the target reads it.
func TestHalfClose(t *testing.T) {
	const size = 1 << 20

	t.Run("Client", func(t *testing.T) {
		target := startTarget(t, func(c net.Conn) {
			n, err := io.Copy(io.Discard, c) // until EOF
			fmt.Fprintf(c, "got %d bytes, %v", n, err)
		})
		_, _, addr := startPair(t, target, nil, nil)
		c := dialTCP(t, addr)
		if _, err := io.Copy(c, randomReader(1, size)); err != nil {
			t.Fatal(err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		reply, err := io.ReadAll(c)
		if want := fmt.Sprintf("got %d bytes, <nil>", size); err != nil || string(reply) != want {
			t.Fatalf("after our half-close: read %q, %v; want %q, then EOF", reply, err, want)
		}
	})

	t.Run("Target", func(t *testing.T) {
		gotCh := make(chan []byte, 1)
		target := startTarget(t, func(c net.Conn) {
			c.Write([]byte("greeting"))
			c.(*net.TCPConn).CloseWrite()
			b, _ := io.ReadAll(c)
			gotCh <- b
		})
		_, _, addr := startPair(t, target, nil, nil)
		c := dialTCP(t, addr)
		greeting, err := io.ReadAll(c)
		if err != nil || string(greeting) != "greeting" {
			t.Fatalf("read %q, %v; want the greeting, then EOF", greeting, err)
		}
		want := []byte("sent after the target's half-close")
		if _, err := c.Write(want); err != nil {
			t.Fatalf("writing after the target's half-close: %v", err)
		}
		c.CloseWrite()
		if got := <-gotCh; !bytes.Equal(got, want) {
			t.Fatalf("the target read %q, want %q", got, want)
		}
	})
}
