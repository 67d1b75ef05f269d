//go:build !js

package wsstream_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/wsstream/wsstream"
)

// A server logs what its peers say besides data: pings and the close
// code and reason.
func ExampleConn_Subscribe() {
	subscribed := make(chan struct{})
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsstream.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer close(done)
		sub := c.Subscribe(wsstream.SubscribeOptions{})
		close(subscribed)
		go io.Copy(io.Discard, c) // the application's own use of the stream

		for e := range sub.Events() {
			switch e := e.(type) {
			case wsstream.PingEvent:
				fmt.Printf("ping %q\n", e.Data)
			case wsstream.CloseFrameEvent:
				fmt.Printf("peer closed with %d %q\n", e.Code, e.Reason)
			case wsstream.ClosedEvent:
				fmt.Printf("ended by %v, handshake %v\n", e.Initiator, e.Handshake)
			}
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := wsstream.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	<-subscribed
	if _, err := c.Ping(ctx); err != nil {
		fmt.Println(err)
	}
	c.CloseWithStatus(4000, "bye")
	<-done

	// Output:
	// ping "1"
	// peer closed with 4000 "bye"
	// ended by peer, handshake true
}

// A client and a server exchange bytes over a WebSocket as over TCP.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsstream.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo until the client closes
	}))
	defer srv.Close()

	c, _, err := wsstream.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Fprintf(c, "hello over %s\n", "WebSocket")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(line)
	// Output: hello over WebSocket
}
