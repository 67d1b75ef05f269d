//go:build !js

package wsstream_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/wsstream/wsstream"
)

// HTTP runs over a WebSocket: an http.Server serves the Conns of a
// Listener, and an http.Transport dials them with a Dialer. gRPC takes
// the Dialer the same way:
//
//	grpc.NewClient("passthrough:///backend", grpc.WithContextDialer(d.DialAddr), ...)
func ExampleDialer() {
	ln, err := wsstream.Listen("127.0.0.1:0", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s%s", r.Host, r.URL.Path)
	})}
	go srv.Serve(ln)
	defer srv.Close() // closes ln too

	d := &wsstream.Dialer{URL: "ws://" + ln.Addr().String() + "/"}
	tr := &http.Transport{DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	// The host in the request's URL is only a name: every connection
	// is a Conn to d.URL.
	resp, err := client.Get("http://backend/status")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))

	// Output:
	// hello from backend/status
}
