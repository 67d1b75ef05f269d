// Command grpc serves gRPC over WebSocket: a grpc.Server on a
// wsstream.Listener, and a client whose connections are made by
// wsstream.Dial through grpc.WithContextDialer. gRPC's HTTP/2 runs inside
// the WebSocket, so it passes proxies and load balancers that only speak
// HTTP/1.1 and WebSocket.
//
// The server offers the standard health service and Echo, a bidirectional
// streaming method defined here without code generation: a hand-written
// grpc.ServiceDesc whose messages are raw bytes, marshalled by the "raw"
// codec.
//
// Run it with no arguments: it starts the server on 127.0.0.1, connects,
// checks health and echoes a few messages over one stream.
//
//	go run ./grpc [-listen 127.0.0.1:0] [-n 5]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"

	"github.com/wsstream/wsstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "grpc:", err)
		os.Exit(1)
	}
}

// run runs the demo: a server, a client, a health check and an echo
// stream. It writes what it does to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("grpc", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "TCP `address` of the server's WebSocket listener")
	n := fs.Int("n", 5, "`count` of messages to echo over the stream")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: grpc [flags]\n\nRuns a gRPC server on a wsstream Listener and calls it over wsstream.Dial.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	srv, err := startServer(*listen)
	if err != nil {
		return err
	}
	defer srv.stop()
	url := "ws://" + srv.l.Addr().String() + "/grpc"
	fmt.Fprintf(stdout, "gRPC server on a WebSocket listener at %s\n", url)

	cc, err := newClient(url, nil)
	if err != nil {
		return err
	}
	defer cc.Close()

	hc := healthpb.NewHealthClient(cc)
	for _, svc := range []string{"", echoServiceName} {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			return fmt.Errorf("health check of %q: %w", svc, err)
		}
		fmt.Fprintf(stdout, "health check %-26q %v\n", svc, resp.GetStatus())
	}

	msgs := make([][]byte, *n)
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, "message %d over gRPC over WebSocket", i)
	}
	got, err := echo(ctx, cc, msgs)
	if err != nil {
		return err
	}
	for i := range got {
		fmt.Fprintf(stdout, "echo stream: sent %q, received %q\n", msgs[i], got[i])
	}
	return nil
}

// server is a gRPC server with the health and Echo services, serving a
// wsstream Listener.
type server struct {
	l      *wsstream.Listener
	gs     *grpc.Server
	doneCh chan struct{} // closed when Serve has returned
}

// startServer listens on the TCP address addr and serves gRPC over
// every WebSocket connection made to it, on any path.
func startServer(addr string) (*server, error) {
	l, err := wsstream.Listen(addr, nil)
	if err != nil {
		return nil, err
	}
	gs := grpc.NewServer()
	hs := health.NewServer() // reports "" as SERVING
	hs.SetServingStatus(echoServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	gs.RegisterService(&echoServiceDesc, echoService{})

	s := &server{l: l, gs: gs, doneCh: make(chan struct{})}
	go func() {
		defer close(s.doneCh)
		gs.Serve(l) // returns once stop has called gs.Stop
	}()
	return s, nil
}

// stop closes the listener and every connection, and waits for Serve to
// return.
func (s *server) stop() {
	s.gs.Stop() // closes s.l too
	<-s.doneCh
}

// newClient returns a gRPC client whose connections are WebSockets to
// url. dialed, when not nil, is called for every WebSocket dialed. The
// gRPC target is a placeholder: the dialer ignores the address gRPC
// resolves and dials url.
func newClient(url string, dialed func()) (*grpc.ClientConn, error) {
	d := &wsstream.Dialer{URL: url}
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		if dialed != nil {
			dialed()
		}
		return d.DialAddr(ctx, addr)
	}
	return grpc.NewClient("passthrough:///wsstream",
		grpc.WithContextDialer(dialer),
		// The WebSocket may be wss://, but gRPC does not see that.
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
}

// echo sends msgs over one Echo stream while receiving the replies, and
// returns the replies.
func echo(ctx context.Context, cc *grpc.ClientConn, msgs [][]byte) ([][]byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if receiving fails
	stream, err := cc.NewStream(ctx, &echoServiceDesc.Streams[0], echoMethod, grpc.CallContentSubtype(rawCodec{}.Name()))
	if err != nil {
		return nil, err
	}

	sendErrCh := make(chan error, 1)
	go func() {
		for _, m := range msgs {
			if err := stream.SendMsg(&m); err != nil {
				sendErrCh <- err
				return
			}
		}
		sendErrCh <- stream.CloseSend()
	}()

	var got [][]byte
	for {
		var m []byte
		err := stream.RecvMsg(&m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return got, fmt.Errorf("echo: receiving: %w", err)
		}
		got = append(got, m)
	}
	if err := <-sendErrCh; err != nil && !errors.Is(err, io.EOF) {
		return got, fmt.Errorf("echo: sending: %w", err)
	}
	return got, nil
}

// The Echo service, written by hand: what protoc-gen-go-grpc would
// generate for
//
//	service Echo { rpc Echo(stream bytes) returns (stream bytes); }
//
// with the raw codec instead of protobuf.
const (
	echoServiceName = "wsstream.examples.Echo"
	echoMethod      = "/" + echoServiceName + "/Echo"
)

// echoServer is the interface an implementation of the Echo service
// satisfies; grpc.Server.RegisterService checks it.
type echoServer interface {
	Echo(grpc.ServerStream) error
}

var echoServiceDesc = grpc.ServiceDesc{
	ServiceName: echoServiceName,
	HandlerType: (*echoServer)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "Echo",
		Handler:       func(srv any, stream grpc.ServerStream) error { return srv.(echoServer).Echo(stream) },
		ServerStreams: true,
		ClientStreams: true,
	}},
}

// echoService implements Echo: it sends back every message it receives,
// in order, and ends the stream when the client has finished sending.
type echoService struct{}

func (echoService) Echo(stream grpc.ServerStream) error {
	for {
		var m []byte
		err := stream.RecvMsg(&m)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.SendMsg(&m); err != nil {
			return err
		}
	}
}

// rawCodec is the codec of the Echo service: a message is a *[]byte and
// its wire format is its bytes. Calls select it with
// grpc.CallContentSubtype("raw"); the server finds it in the registry by
// that name.
type rawCodec struct{}

func init() {
	encoding.RegisterCodec(rawCodec{})
}

func (rawCodec) Name() string { return "raw" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot marshal %T, only *[]byte", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T, only *[]byte", v)
	}
	*b = append((*b)[:0], data...) // data belongs to gRPC
	return nil
}
