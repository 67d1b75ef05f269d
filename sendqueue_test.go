//go:build !js

package wsstream

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"
)

func TestSendQueueCoalescesAndSplits(t *testing.T) {
	q := newSendQueue(4, 10)
	n, start := q.push([]byte("ab"))
	if n != 2 || !start {
		t.Fatalf("first push: %d, start %v; want 2, true", n, start)
	}
	n, start = q.push([]byte("cdefg"))
	if n != 5 || start {
		t.Fatalf("second push: %d, start %v; want 5, false (a writer runs)", n, start)
	}
	// 7 bytes queued out of 10: only 3 more fit.
	if n, _ = q.push([]byte("hijkl")); n != 3 {
		t.Fatalf("push into a nearly full queue took %d bytes, want 3", n)
	}
	var msgs []string
	for b := q.pop(); b != nil; b = q.pop() {
		msgs = append(msgs, string(*b))
		q.sent(b, true)
	}
	want := []string{"abcd", "efgh", "ij"}
	if len(msgs) != len(want) {
		t.Fatalf("messages %q, want %q", msgs, want)
	}
	for i := range want {
		if msgs[i] != want[i] {
			t.Fatalf("messages %q, want %q", msgs, want)
		}
	}
	if q.bytes != 0 {
		t.Errorf("%d bytes still counted after everything was sent", q.bytes)
	}
}

func TestSendQueueFailDropsAndRefuses(t *testing.T) {
	q := newSendQueue(4, 16)
	q.push(bytes.Repeat([]byte{1}, 12))
	b := q.pop()
	q.sent(b, false)
	if !q.hasFailed() {
		t.Fatal("a failed send did not fail the queue")
	}
	if q.pop() != nil {
		t.Error("pop returned a buffer from a failed queue")
	}
	if n, _ := q.push([]byte{1}); n != 0 {
		t.Errorf("a failed queue took %d bytes", n)
	}
	if q.bytes != 0 {
		t.Errorf("a failed queue still counts %d bytes", q.bytes)
	}
}

func TestSendQueueLingerExits(t *testing.T) {
	q := newSendQueue(4, 16)
	if _, start := q.push([]byte{1}); !start {
		t.Fatal("push did not ask for a writer")
	}
	q.sent(q.pop(), true)
	if q.linger(new(latch)) {
		t.Fatal("linger on an empty queue reported more data")
	}
	if q.isRunning() {
		t.Fatal("the writer still counts as running after linger said exit")
	}
	if !q.waitExit(time.After(testTimeout)) {
		t.Fatal("waitExit did not see the writer exit")
	}
	// A push after the exit must start a new writer.
	if _, start := q.push([]byte{2}); !start {
		t.Error("push after the writer exited did not ask for a new one")
	}
}

func TestSendQueueLingerSeesLateData(t *testing.T) {
	q := newSendQueue(4, 16)
	q.push([]byte{1})
	q.sent(q.pop(), true)
	// Data queued while the writer lingers is picked up by it.
	if _, start := q.push([]byte{2}); start {
		t.Fatal("push started a second writer while one lingers")
	}
	if !q.linger(new(latch)) {
		t.Fatal("linger missed data queued before it waited")
	}
}

// TestSendQueueStopIfEmptyWakesWaitExit: a Write that sent everything
// from its own goroutine clears running with stopIfEmpty; a Close waiting
// in waitExit meanwhile must learn of it then, not at its timeout.
func TestSendQueueStopIfEmptyWakesWaitExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newSendQueue(1024, 4096)
		if _, start := q.push([]byte("x")); !start {
			t.Fatal("push into an idle queue did not ask for a sender")
		}
		exited := make(chan bool, 1)
		go func() { exited <- q.waitExit(nil) }()
		synctest.Wait() // the waiter is blocked
		b := q.pop()
		q.sent(b, true)
		if !q.stopIfEmpty() {
			t.Fatal("stopIfEmpty on an empty queue reported more to send")
		}
		synctest.Wait()
		select {
		case ok := <-exited:
			if !ok {
				t.Fatal("waitExit reported a sender still running")
			}
		default:
			t.Fatal("waitExit still waits after stopIfEmpty cleared running")
		}
	})
}
