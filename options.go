package wsstream

import (
	"fmt"
	"net"
	"time"
)

// Defaults for the zero values of [Options].
const (
	// DefaultCloseTimeout bounds Close: flushing written data, the close
	// handshake and, on the client, waiting for the server to close TCP.
	DefaultCloseTimeout = 5 * time.Second
	// DefaultReadBufferSize is how many received bytes a Conn holds for
	// Read before it stops reading the socket.
	DefaultReadBufferSize = 64 << 10
	// DefaultMaxMessageSize is the largest message a Write sends: the
	// default read limit of coder/websocket, so plain WebSocket peers using
	// that library accept every message.
	DefaultMaxMessageSize = 32 << 10
	// DefaultWriteBufferSize is how many bytes Write accepts before they
	// are on the socket; further Writes wait for room.
	DefaultWriteBufferSize = 2 * DefaultMaxMessageSize
	// DefaultKeepaliveInterval is how long a Conn waits after the peer
	// last sent anything before it pings it.
	DefaultKeepaliveInterval = 30 * time.Second
	// DefaultKeepaliveTimeout is how long a keepalive ping waits for the
	// pong before the Conn is dropped.
	DefaultKeepaliveTimeout = 15 * time.Second
)

// Options configure a [Conn]. The zero value is valid: every zero field
// takes its default. Negative values are invalid, except for
// KeepaliveInterval: Dial and Accept then return an error and New panics.
type Options struct {
	// AcceptText makes the payload of text messages stream data, like the
	// payload of binary messages. By default a text message is refused:
	// the Conn closes with status 1003 (unsupported data; 4003 in a
	// browser, which cannot send 1003) and Read
	// returns an error wrapping [ErrTextMessage] after the data received
	// before it.
	AcceptText bool

	// HalfClose offers the half-close extension in the handshake, so that
	// [Conn.CloseWrite] works when the peer offers it too (a wsstream
	// peer with HalfClose set, or any implementation of
	// docs/halfclose.md). It is agreed through the Sec-WebSocket-Protocol
	// token "wsstream.halfclose.v1", offered after the application's own
	// subprotocols: a server that selects one of those does not agree to
	// half-close. [Conn.Subprotocol] never reports the token. For a Conn
	// made by New, HalfClose applies when ws negotiated the token.
	HalfClose bool

	// CloseTimeout bounds Close (default [DefaultCloseTimeout]): writing
	// out the data already accepted by Write, the close handshake and, on
	// the client, waiting for the server to close TCP. When it passes the
	// TCP connection is dropped. To drop a Conn without waiting at all,
	// use [Conn.CloseNow].
	CloseTimeout time.Duration

	// ReadBufferSize is how many received bytes the Conn holds until Read
	// takes them (default [DefaultReadBufferSize]). When it is full the
	// Conn stops reading the socket, so a peer that sends faster than the
	// application reads is slowed down by TCP flow control. The buffer is
	// taken from a pool when data arrives and returned once Read has
	// drained it: an idle Conn holds none.
	//
	// The bytes of a frame still arriving become readable in pieces of up
	// to ReadBufferSize bytes, or at the end of the frame, whichever comes
	// first (coder/websocket reads payloads with io.ReadFull).
	//
	// In a browser (GOOS=js) the Conn cannot stop the browser reading the
	// socket: messages the browser received while this buffer was full
	// wait in memory, up to 256 times ReadBufferSize bytes
	// (16 MiB with the default). A peer that gets further ahead ends the
	// Conn: Read returns every byte held, then an error wrapping
	// [ErrConnectionLost], and the browser closes the WebSocket with status
	// 4009. See docs/browser.md.
	ReadBufferSize int

	// WriteBufferSize is how many bytes Write accepts before they are on
	// the socket (default [DefaultWriteBufferSize]); a Write that finds it
	// full waits, within its deadline, for room.
	//
	// In a browser (GOOS=js) a message is on the socket once the browser
	// holds it; the Conn then waits until the browser's bufferedAmount
	// (bytes it has not yet handed to the network) is at most
	// WriteBufferSize, checking every 1 to 20 ms, before it sends more.
	// So up to twice WriteBufferSize, plus one message, are in flight.
	WriteBufferSize int

	// MaxMessageSize is the largest binary message a Write sends (default
	// [DefaultMaxMessageSize]). Larger writes are split; small writes made
	// while earlier ones still wait for the socket are coalesced. Set it
	// no higher than the peer's message read limit.
	MaxMessageSize int

	// KeepaliveInterval is how long the Conn waits after the peer last
	// sent anything before it pings it (default
	// [DefaultKeepaliveInterval]; negative disables keepalive). When
	// neither the pong nor anything else arrives within KeepaliveTimeout,
	// the Conn is dropped: Read and Write fail with an error wrapping
	// [ErrKeepaliveTimeout]. No ping is sent while written data waits for
	// the socket: a peer that does not read would not answer, dead or
	// merely slow, and TCP notices a dead one then.
	//
	// In a browser (GOOS=js), which cannot send pings, keepalive turns
	// itself off when its first ping fails with [ErrPingUnsupported]; the
	// Conn stays open, and the browser still answers the server's pings.
	KeepaliveInterval time.Duration

	// KeepaliveTimeout is how long a keepalive ping waits for its pong
	// (default [DefaultKeepaliveTimeout]).
	KeepaliveTimeout time.Duration

	// LocalAddr and RemoteAddr are what [Conn.LocalAddr] and
	// [Conn.RemoteAddr] return for a Conn made by [New], which cannot see
	// the connection below the WebSocket. Dial and Accept ignore them.
	LocalAddr, RemoteAddr net.Addr
}

// validate reports the first invalid field of o.
func (o *Options) validate() error {
	if o == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"CloseTimeout", int64(o.CloseTimeout)},
		{"ReadBufferSize", int64(o.ReadBufferSize)},
		{"WriteBufferSize", int64(o.WriteBufferSize)},
		{"MaxMessageSize", int64(o.MaxMessageSize)},
		{"KeepaliveTimeout", int64(o.KeepaliveTimeout)},
	} {
		if f.v < 0 {
			return fmt.Errorf("wsstream: invalid Options: %s is negative", f.name)
		}
	}
	return nil
}

// resolve validates o and returns it with its defaults, and the
// subprotocols to offer: protos, with the half-close token after them
// when o.HalfClose is set. o may be nil.
func (o *Options) resolve(protos []string) (Options, []string, error) {
	if err := o.validate(); err != nil {
		return Options{}, nil, err
	}
	r := o.withDefaults()
	if r.HalfClose {
		protos = offerHalfClose(protos)
	}
	return r, protos, nil
}

// withDefaults returns a copy of o with every zero field set to its
// default. o may be nil.
func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.CloseTimeout == 0 {
		r.CloseTimeout = DefaultCloseTimeout
	}
	if r.ReadBufferSize == 0 {
		r.ReadBufferSize = DefaultReadBufferSize
	}
	if r.MaxMessageSize == 0 {
		r.MaxMessageSize = DefaultMaxMessageSize
	}
	if r.WriteBufferSize == 0 {
		r.WriteBufferSize = DefaultWriteBufferSize
	}
	if r.KeepaliveInterval == 0 {
		r.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if r.KeepaliveTimeout == 0 {
		r.KeepaliveTimeout = DefaultKeepaliveTimeout
	}
	return r
}
