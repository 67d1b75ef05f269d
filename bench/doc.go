// Package bench compares wsstream with the other ways a Go program can
// carry a byte stream, the way a user choosing a library would: every
// option runs the same benchmark bodies over loopback TCP, so ratios
// within one run are meaningful.
//
// The options (transports), in the order they are run:
//
//   - raw-tcp: net.Dialer.DialContext and net.Listener.Accept, the
//     baseline;
//   - coder-netconn: github.com/coder/websocket's websocket.NetConn on
//     both ends (MessageBinary, a context that is never cancelled);
//   - gorilla: github.com/gorilla/websocket v1.5.3 behind gorillaConn, a
//     minimal net.Conn adapter (see gorilla.go);
//   - x-net: golang.org/x/net/websocket, whose *Conn is a net.Conn, with
//     PayloadType set to BinaryFrame on both ends;
//   - wsstream: wsstream.Dial and wsstream.Accept, default options.
//
// Every accepted connection is served in the goroutine that accepted it
// (the HTTP handler's, or for raw TCP one started per connection, as
// net/http does), so each transport pays for exactly one server
// goroutine per connection, as a real server does.
//
// BenchmarkBulkFloor is not a transport: it measures 32 KiB WebSocket
// frames over raw TCP with no library at all, the least a byte stream over
// WebSocket frames costs, to read BenchmarkBulk's ratios against. run.sh's
// table leaves it out (it has no raw-tcp row); run it alternating with
// Bulk's raw-tcp and wsstream rows.
//
// Run the comparison with run.sh, which prints the medians of five runs
// and their ratios to raw-tcp; `go test ./...` without -bench runs only
// the unit tests of the adapters and of the harness.
package bench
