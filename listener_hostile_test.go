//go:build !js

package wsstream

// 200 hostile TCP clients against the HTTP server of Listen, while real
// clients keep using it. docs/reliability.md lists the bounds.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hostileTimeouts replace Listen's 10-second bounds in the test, so that
// it runs in seconds.
var hostileTimeouts = serverTimeouts{readHeader: time.Second, read: time.Second, write: time.Second}

// hostileGoneWithin bounds, in the test, how long after connecting a
// hostile client may stay connected: the timeouts above, plus the half
// second net/http lingers before closing a connection whose announced
// body it did not read, plus slack for a loaded machine.
const hostileGoneWithin = 6 * time.Second

// hostileKind is one way of holding a connection to the server.
type hostileKind struct {
	name string
	// run does its harm on c, then returns once the server has closed c
	// (nil) or failed to within hostileGoneWithin of start.
	run func(c net.Conn, start time.Time) error
}

var hostileKinds = []hostileKind{
	{"silent", func(c net.Conn, start time.Time) error {
		return awaitClose(c, start, nil)
	}},
	{"trickle", func(c net.Conn, start time.Time) error {
		// One byte every 100ms of a request line that would take 20s.
		line := "GET /" + strings.Repeat("a", 200) + " HTTP/1.1\r\n"
		var buf [512]byte
		for i := 0; ; i++ {
			if time.Since(start) > hostileGoneWithin {
				return fmt.Errorf("still open after %v", time.Since(start))
			}
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			_, err := c.Read(buf[:])
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				if _, err := c.Write([]byte{line[i%len(line)]}); err != nil {
					return nil // closed by the server
				}
			case err != nil:
				return nil // EOF or reset: closed
			}
		}
	}},
	{"unsent-body", func(c net.Conn, start time.Time) error {
		if _, err := c.Write([]byte(rawUpgradeRequest("Content-Length: 10\r\n"))); err != nil {
			return err
		}
		return awaitClose(c, start, []int{http.StatusBadRequest})
	}},
	{"idle-after-426", func(c net.Conn, start time.Time) error {
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: wsstream.test\r\n\r\n")); err != nil {
			return err
		}
		return awaitClose(c, start, []int{http.StatusUpgradeRequired})
	}},
}

// awaitClose reads c until the server closes it, failing after
// hostileGoneWithin from start. When want is not nil, c must first carry
// one HTTP response with a status in want (a full backlog gives 503).
func awaitClose(c net.Conn, start time.Time, want []int) error {
	c.SetReadDeadline(start.Add(hostileGoneWithin))
	br := bufio.NewReader(c)
	if want != nil {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return fmt.Errorf("reading the answer: %w", err)
		}
		resp.Body.Close()
		ok := false
		for _, code := range want {
			ok = ok || resp.StatusCode == code
		}
		if !ok {
			return fmt.Errorf("status %d, want one of %v", resp.StatusCode, want)
		}
	}
	_, err := io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("still open after %v", time.Since(start))
	}
	return nil // EOF or reset: closed
}

// openFDs counts the process's open file descriptors, or returns -1
// where /proc/self/fd does not exist.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// pollDown polls count until it is at most want, for up to 10 seconds.
func pollDown(t *testing.T, what string, want int, count func() int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	n := count()
	for n > want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		n = count()
	}
	if n > want {
		t.Errorf("%s: %d, want at most the baseline %d", what, n, want)
	}
}

// TestListenerHostileClients opens 200 hostile connections to Listen's
// server, 50 of each hostileKind, while real clients dial, echo and
// close in a loop. Every real round trip succeeds; every hostile
// connection is closed by the server within hostileGoneWithin; then the
// process's file descriptors and goroutines return to their baseline.
func TestListenerHostileClients(t *testing.T) {
	l, err := Listen("127.0.0.1:0", &ListenerOptions{timeouts: &hostileTimeouts})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer l.Close()
	var echoes sync.WaitGroup
	echoes.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			echoes.Go(func() {
				io.Copy(c, c)
				c.Close()
			})
		}
	})
	defer waitGroup(t, &echoes)
	defer l.Close()

	baseFDs, baseGoroutines := openFDs(), runtime.NumGoroutine()
	addr := l.Addr().String()

	// Real clients, one after another, until the hostiles are gone.
	stop := make(chan struct{})
	var roundTrips atomic.Int64
	realErrCh := make(chan error, 1)
	go func() {
		realErrCh <- func() error {
			msg := bytes.Repeat([]byte("x"), 4096)
			got := make([]byte, len(msg))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return nil
				default:
				}
				start := time.Now()
				c, _, err := Dial(testContext(t), "ws://"+addr+"/", nil)
				if err != nil {
					return fmt.Errorf("round trip %d: Dial: %w", i, err)
				}
				c.SetDeadline(time.Now().Add(testTimeout))
				_, werr := c.Write(msg)
				_, rerr := io.ReadFull(c, got)
				cerr := c.Close()
				if err := errors.Join(werr, rerr, cerr); err != nil {
					return fmt.Errorf("round trip %d: %w", i, err)
				}
				if !bytes.Equal(got, msg) {
					return fmt.Errorf("round trip %d: echo differs", i)
				}
				if d := time.Since(start); d > 5*time.Second {
					return fmt.Errorf("round trip %d took %v", i, d)
				}
				roundTrips.Add(1)
			}
		}()
	}()

	var hostiles sync.WaitGroup
	hostileErrs := make(chan error, 200)
	for i := range 200 {
		kind := hostileKinds[i%len(hostileKinds)]
		hostiles.Go(func() {
			start := time.Now()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				hostileErrs <- fmt.Errorf("%s #%d: %w", kind.name, i, err)
				return
			}
			defer c.Close()
			if err := kind.run(c, start); err != nil {
				hostileErrs <- fmt.Errorf("%s #%d: %w", kind.name, i, err)
			}
		})
	}
	waitGroup(t, &hostiles)
	close(stop)
	if err := <-realErrCh; err != nil {
		t.Errorf("real client during the attack: %v", err)
	}
	close(hostileErrs)
	for err := range hostileErrs {
		t.Error(err)
	}
	if n := roundTrips.Load(); n < 3 {
		t.Errorf("%d real round trips during the attack, want at least 3", n)
	}
	t.Logf("%d real round trips during the attack", roundTrips.Load())

	// The server let go of every connection while still listening.
	if baseFDs >= 0 {
		pollDown(t, "open file descriptors", baseFDs, openFDs)
	}
	pollDown(t, "goroutines", baseGoroutines, runtime.NumGoroutine)
}
