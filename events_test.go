//go:build !js

package wsstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestEventsPingAndPong(t *testing.T) {
	c, peer := newServerWithRawClient(t, nil)
	s := c.Subscribe(SubscribeOptions{})
	peerCtx := peer.CloseRead(testContext(t))
	if err := peer.Ping(peerCtx); err != nil {
		t.Fatal(err)
	}
	// coder/websocket's pings carry a counter: the first is "1".
	if e, ok := nextEvent(t, s).(PingEvent); !ok || string(e.Data) != "1" {
		t.Fatalf("got %#v, want PingEvent with data %q", e, "1")
	}
	rtt, err := c.Ping(testContext(t))
	if err != nil || rtt <= 0 {
		t.Fatalf("Ping = %v, %v", rtt, err)
	}
	if e, ok := nextEvent(t, s).(PongEvent); !ok || len(e.Data) == 0 {
		t.Fatalf("got %#v, want a PongEvent with the ping's data", e)
	}
}

func TestEventsPeerClose(t *testing.T) {
	c, peer := newServerWithRawClient(t, nil)
	s := c.Subscribe(SubscribeOptions{})
	go peer.Close(4001, "bye")
	before, closed := expectClosed(t, s)
	if len(before) != 1 || before[0] != (CloseFrameEvent{Code: 4001, Reason: "bye"}) {
		t.Fatalf("events before ClosedEvent: %#v, want CloseFrameEvent{4001, bye}", before)
	}
	if closed.Initiator != InitiatorPeer || closed.Code != 4001 || closed.Reason != "bye" || !closed.Handshake || !errors.Is(closed.Err, ErrPeerClosed) {
		t.Fatalf("ClosedEvent = %+v", closed)
	}
}

func TestEventsTextRejected(t *testing.T) {
	c, peer := newServerWithRawClient(t, nil)
	s := c.Subscribe(SubscribeOptions{})
	ctx := testContext(t)
	peer.Write(ctx, websocket.MessageText, []byte("hello"))
	if _, _, err := peer.Read(ctx); websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		t.Fatalf("the peer read %v, want a close with status 1003", err)
	}
	before, closed := expectClosed(t, s)
	if len(before) == 0 {
		t.Fatal("no ErrorEvent")
	}
	if e, ok := before[0].(ErrorEvent); !ok || !errors.Is(e.Err, ErrTextMessage) {
		t.Fatalf("first event %#v, want an ErrorEvent matching ErrTextMessage", before[0])
	}
	if closed.Initiator != InitiatorLocal || closed.Code != websocket.StatusUnsupportedData || !errors.Is(closed.Err, ErrTextMessage) {
		t.Fatalf("ClosedEvent = %+v", closed)
	}
}

func TestEventsTransportCut(t *testing.T) {
	client, server := newPair(t, pairOptions{})
	s := client.Subscribe(SubscribeOptions{})
	server.tr.abort()
	before, closed := expectClosed(t, s)
	if len(before) != 1 {
		t.Fatalf("events before ClosedEvent: %#v, want one ErrorEvent", before)
	}
	if e, ok := before[0].(ErrorEvent); !ok || !errors.Is(e.Err, ErrConnectionLost) {
		t.Fatalf("got %#v, want an ErrorEvent matching ErrConnectionLost", before[0])
	}
	if closed.Initiator != InitiatorNone || closed.Code != websocket.StatusAbnormalClosure || closed.Handshake || !errors.Is(closed.Err, ErrConnectionLost) {
		t.Fatalf("ClosedEvent = %+v", closed)
	}
}

func TestEventsLocalClose(t *testing.T) {
	client, _ := newPair(t, pairOptions{})
	s := client.Subscribe(SubscribeOptions{})
	if err := client.CloseWithStatus(4002, "done"); err != nil {
		t.Fatal(err)
	}
	before, closed := expectClosed(t, s)
	if len(before) != 1 || before[0].(CloseFrameEvent).Code != 4002 {
		t.Fatalf("events before ClosedEvent: %#v, want the peer's CloseFrameEvent echoing 4002", before)
	}
	want := ClosedEvent{Initiator: InitiatorLocal, Code: 4002, Reason: "done", Handshake: true}
	if closed != want {
		t.Fatalf("ClosedEvent = %+v, want %+v", closed, want)
	}
	// Subscribing after the end still yields the ClosedEvent.
	if _, late := expectClosed(t, client.Subscribe(SubscribeOptions{})); late != want {
		t.Fatalf("late ClosedEvent = %+v, want %+v", late, want)
	}
}

// TestStuckSubscribersDoNotStallConn checks that subscribers that never
// read delay neither data, pings nor the close handshake.
func TestStuckSubscribersDoNotStallConn(t *testing.T) {
	c, peer := newServerWithRawClient(t, nil)
	bounded := c.Subscribe(SubscribeOptions{Buffer: 1})
	unbounded := c.Subscribe(SubscribeOptions{Buffer: -1})
	defer unbounded.Unsubscribe()
	// The peer must read to see its pongs; it gets no data messages.
	ctx := peer.CloseRead(testContext(t))
	data := randBytes(rand.New(rand.NewPCG(9, 9)), 8<<20)
	go func() {
		for i := 0; i < len(data); i += 32 << 10 {
			peer.Write(ctx, websocket.MessageBinary, data[i:i+32<<10])
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := peer.Ping(pctx); err != nil {
				t.Errorf("ping: %v", err)
			}
			cancel()
		}
		peer.Close(websocket.StatusNormalClosure, "")
	}()
	got := readAllExact(t, c)
	if !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
	if bounded.Dropped() == 0 {
		t.Fatal("the bounded subscriber dropped nothing: the test did not fill its buffer")
	}
	_, closed := expectClosed(t, bounded)
	if closed.Initiator != InitiatorPeer {
		t.Fatalf("ClosedEvent = %+v", closed)
	}
	n := 0
	for e := range unbounded.Events() {
		if _, ok := e.(PingEvent); ok {
			n++
		}
	}
	if n != len(data)/(32<<10) {
		t.Fatalf("the unbounded subscriber got %d pings, want %d", n, len(data)/(32<<10))
	}
}

// BenchmarkStuckSubscriber measures bulk transfer through a Conn with no
// subscriber and with subscribers that never read, one of them
// unbounded. Compare the MB/s of the sub-benchmarks.
func BenchmarkStuckSubscriber(b *testing.B) {
	for _, subs := range []int{0, 100} {
		b.Run(fmt.Sprintf("stuck=%d", subs), func(b *testing.B) {
			client, server := newPair(b, pairOptions{})
			for i := range subs {
				s := server.Subscribe(SubscribeOptions{Buffer: 1 - 2*(i%2)}) // half bounded, half unbounded
				defer s.Unsubscribe()
			}
			msg := make([]byte, 32<<10)
			done := make(chan error, 1)
			go func() {
				_, err := io.CopyN(io.Discard, server, int64(b.N)*int64(len(msg)))
				done <- err
			}()
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			for range b.N {
				if _, err := client.Write(msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := recv(b, done); err != nil {
				b.Fatal(err)
			}
		})
	}
}
