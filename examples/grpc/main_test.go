package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// setup starts a server and a client for it; dials counts the
// WebSockets the client dialed. Both stop when the test ends.
func setup(t *testing.T) (*grpc.ClientConn, *atomic.Int32) {
	t.Helper()
	srv, err := startServer("127.0.0.1:0")
	if err != nil {
		t.Fatalf("startServer: %v", err)
	}
	t.Cleanup(srv.stop)
	dials := new(atomic.Int32)
	cc, err := newClient("ws://"+srv.l.Addr().String()+"/grpc", func() { dials.Add(1) })
	if err != nil {
		t.Fatalf("newClient: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc, dials
}

// TestHealth checks the health service over the WebSocket: the server
// and the Echo service are SERVING, an unknown service is NotFound.
func TestHealth(t *testing.T) {
	cc, dials := setup(t)
	hc := healthpb.NewHealthClient(cc)
	ctx := testContext(t)
	for _, svc := range []string{"", echoServiceName} {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("Check(%q): %v", svc, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, want SERVING", svc, resp.GetStatus())
		}
	}
	_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("Check of an unknown service: %v, want code NotFound", err)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d WebSockets dialed, want 1", n)
	}
}

// TestBidiEcho runs 8 concurrent Echo streams on one WebSocket, each
// sending 200 messages of random sizes (up to 64 KiB, one of 1 MiB) while
// receiving: every stream gets its messages back in order, byte-exact.
func TestBidiEcho(t *testing.T) {
	cc, dials := setup(t)
	ctx := testContext(t)
	const streams, perStream = 8, 200
	var wg sync.WaitGroup
	for s := range streams {
		wg.Go(func() {
			var seed [32]byte
			seed[0] = byte(s)
			src := rand.NewChaCha8(seed)
			rng := rand.New(src)
			msgs := make([][]byte, perStream)
			for i := range msgs {
				size := rng.IntN(64 << 10)
				if i == perStream/2 {
					size = 1 << 20
				}
				msgs[i] = make([]byte, size)
				src.Read(msgs[i])
			}
			got, err := echo(ctx, cc, msgs)
			if err != nil {
				t.Errorf("stream %d: %v", s, err)
				return
			}
			if len(got) != len(msgs) {
				t.Errorf("stream %d: %d messages back, want %d", s, len(got), len(msgs))
				return
			}
			for i := range msgs {
				if !bytes.Equal(got[i], msgs[i]) {
					t.Errorf("stream %d: message %d differs (%d bytes back, want %d)", s, i, len(got[i]), len(msgs[i]))
					return
				}
			}
		})
	}
	wg.Wait()
	if n := dials.Load(); n != 1 {
		t.Errorf("%d WebSockets dialed for %d streams, want 1", n, streams)
	}
}

// TestRun runs the demo as `go run ./grpc` does.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(testContext(t), []string{"-n", "3"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		`health check ""`,
		"SERVING",
		`sent "message 2 over gRPC over WebSocket", received "message 2 over gRPC over WebSocket"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
