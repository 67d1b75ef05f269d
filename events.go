package wsstream

import (
	"bytes"
	"fmt"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/wsstream/wsstream/internal/registry"
)

// The events through which a Conn reports what its byte stream cannot
// carry: pings, pongs, the peer's close frame, errors, and its end.

// Event is something a Conn reports besides its data. The event types of
// this package are the only implementations: [PingEvent], [PongEvent],
// [CloseFrameEvent], [ErrorEvent] and [ClosedEvent].
type Event interface {
	isEvent()
}

// PingEvent reports a ping from the peer, which the Conn answered with a
// pong. Data is the ping's payload (at most 125 bytes).
type PingEvent struct{ Data []byte }

// PongEvent reports a pong from the peer, the answer to a ping of
// [Conn.Ping] or of keepalive, or an unsolicited one. Data is its payload.
type PongEvent struct{ Data []byte }

// CloseFrameEvent reports the close frame the peer sent: the status code and
// reason. When the peer's frame answers a local Close and arrives in the
// middle of a data message, coder/websocket consumes it itself; the event
// then carries the code, which it checked equals ours, and an empty
// reason.
type CloseFrameEvent struct {
	Code   websocket.StatusCode
	Reason string
}

// ErrorEvent reports an error that ended, or is ending, the Conn: a text
// message refused ([ErrTextMessage], followed by the 1003 close), a
// protocol violation reported by coder/websocket or a transport failure
// ([ErrConnectionLost]), a keepalive ping left unanswered
// ([ErrKeepaliveTimeout]), or a close handshake that timed out
// ([ErrCloseTimeout]).
type ErrorEvent struct{ Err error }

// ClosedEvent is always the last event of a Conn, sent when it has
// finished: the WebSocket is closed and the Conn's goroutines have exited.
type ClosedEvent struct {
	// Initiator says who started the end of the Conn.
	Initiator Initiator
	// Code and Reason are the close frame that started the close: ours
	// for a local close, the peer's for a peer's close, and
	// websocket.StatusAbnormalClosure (1006) with no reason when the
	// connection ended without a close frame.
	Code   websocket.StatusCode
	Reason string
	// Handshake reports whether both close frames were exchanged.
	Handshake bool
	// Err is nil for a clean end: a close handshake with status 1000 or
	// 1001 or, for a local close, with the status given to
	// CloseWithStatus. Otherwise it says what went wrong, with the errors
	// of this package (ErrPeerClosed, ErrConnectionLost, ...).
	Err error
}

// Initiator says who started the end of a Conn.
type Initiator int

const (
	// InitiatorNone: the connection ended without a close frame (a
	// transport failure, a protocol error, a keepalive timeout).
	InitiatorNone Initiator = iota
	// InitiatorLocal: this side sent the first close frame, from Close,
	// CloseWithStatus, or because the peer sent a text message.
	InitiatorLocal
	// InitiatorPeer: the peer sent the first close frame.
	InitiatorPeer
)

func (i Initiator) String() string {
	switch i {
	case InitiatorLocal:
		return "local"
	case InitiatorPeer:
		return "peer"
	default:
		return "none"
	}
}

func (PingEvent) isEvent()       {}
func (PongEvent) isEvent()       {}
func (CloseFrameEvent) isEvent() {}
func (ErrorEvent) isEvent()      {}
func (ClosedEvent) isEvent()     {}

// cloneEvent gives each subscriber its own copy of a payload.
func cloneEvent(e Event) Event {
	switch e := e.(type) {
	case PingEvent:
		return PingEvent{Data: bytes.Clone(e.Data)}
	case PongEvent:
		return PongEvent{Data: bytes.Clone(e.Data)}
	}
	return e
}

// SubscribeOptions configure a [Subscription]. The zero value subscribes
// to every event with a buffer of 64 events.
type SubscribeOptions struct {
	// Filter, if set, selects the events the subscriber receives; the
	// final ClosedEvent is always delivered. It is called from the Conn's
	// goroutines (mostly its read loop), once per event and never
	// concurrently: it may keep state, must be fast, and must not call
	// methods of the Conn or the Subscription. A Filter that panics does
	// not bring the Conn or the process down: the panic is recovered, and
	// from then on the subscriber receives only the ClosedEvent; the
	// events it misses are counted by [Subscription.Dropped].
	Filter func(Event) bool

	// Buffer selects the delivery. Greater than zero, up to
	// [MaxSubscribeBuffer]: a buffer of that many events; when it is
	// full, new events are dropped for this subscriber and counted by
	// [Subscription.Dropped]. Zero: a buffer of 64 events. Negative:
	// unbounded; nothing is ever dropped and memory grows with the backlog
	// of a subscriber that falls behind. Subscribe panics when Buffer
	// exceeds MaxSubscribeBuffer.
	Buffer int
}

// MaxSubscribeBuffer is the largest bounded buffer a Subscription can
// have: a channel of that many events is allocated at once.
const MaxSubscribeBuffer = 1 << 16

// Subscription receives the events of a Conn. See [Conn.Subscribe].
type Subscription struct {
	sub *registry.Sub[Event]
	// filterPanicked is set when the filter panicked; only filter, under
	// the registry's lock, uses it.
	filterPanicked bool
	// refused counts the events a panicked filter kept from the
	// subscriber.
	refused atomic.Uint64
}

// Subscribe registers an observer of the Conn's events. The Subscription
// receives, in order, the events that happen after Subscribe returns and
// pass opts.Filter, then the [ClosedEvent], after which its channel is
// closed. Subscribing after the Conn has finished returns a Subscription
// whose channel delivers the ClosedEvent and closes.
//
// Delivering events never blocks the Conn: a subscriber that does not
// read loses events (bounded buffer) or accumulates them in memory
// (unbounded), but never delays data, pings or the close handshake. An
// unbounded subscriber must read its channel to the end or Unsubscribe,
// or the goroutine that feeds it stays blocked.
func (c *Conn) Subscribe(opts SubscribeOptions) *Subscription {
	if opts.Buffer > MaxSubscribeBuffer {
		panic(fmt.Sprintf("wsstream: SubscribeOptions.Buffer %d exceeds MaxSubscribeBuffer (%d)", opts.Buffer, MaxSubscribeBuffer))
	}
	s := &Subscription{}
	cfg := registry.Config[Event]{Filter: opts.Filter, Buffer: opts.Buffer}
	if f := opts.Filter; f != nil {
		cfg.Filter = func(e Event) bool { return s.filter(f, e) }
	}
	s.sub = c.events.Subscribe(cfg)
	return s
}

// filter runs the user's filter f on e, containing a panic: a subscriber
// whose filter panicked receives no more events but the ClosedEvent.
// It runs under the registry's lock, never concurrently.
func (s *Subscription) filter(f func(Event) bool, e Event) (ok bool) {
	if s.filterPanicked {
		s.refused.Add(1)
		return false
	}
	defer func() {
		if recover() != nil {
			s.filterPanicked = true
			s.refused.Add(1)
			ok = false
		}
	}()
	return f(e)
}

// Events returns the channel of events, closed after the ClosedEvent or
// by Unsubscribe.
func (s *Subscription) Events() <-chan Event { return s.sub.Events() }

// Unsubscribe ends the subscription: events not yet received are
// discarded and the channel is closed before Unsubscribe returns. It is
// idempotent and may be called from any goroutine, including from a loop
// over Events.
func (s *Subscription) Unsubscribe() { s.sub.Unsubscribe() }

// Dropped reports how many events this subscriber lost: to a full
// buffer, or after its Filter panicked.
func (s *Subscription) Dropped() uint64 { return s.sub.Dropped() + s.refused.Load() }

// publish reports e to the Conn's subscribers, if any. It never blocks on
// a subscriber.
func (c *Conn) publish(e Event) {
	if c.events.Len() > 0 {
		c.events.Publish(e)
	}
}
