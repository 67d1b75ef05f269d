package wsstream

import (
	"sync"
	"testing"
	"time"
)

// TestLatch: a latch behaves as a channel closed once, whether it is
// waited on before it is set, after, or both at once.
func TestLatch(t *testing.T) {
	t.Run("wait then set", func(t *testing.T) {
		var l latch
		if l.made() != nil || l.isSet() {
			t.Fatal("a new latch has a channel, or is set")
		}
		ch := l.wait()
		if l.wait() != ch || l.made() != ch {
			t.Fatal("a second wait returned another channel")
		}
		if isClosed(ch) || l.isSet() {
			t.Fatal("the latch is set before set")
		}
		l.set()
		if !isClosed(ch) || !l.isSet() {
			t.Fatal("set did not close the waiters' channel")
		}
	})
	t.Run("set then wait", func(t *testing.T) {
		var l latch
		l.set()
		if !l.isSet() || !isClosed(l.made()) || !isClosed(l.wait()) {
			t.Fatal("a latch set before anyone waited is not closed")
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		for range 200 {
			var l latch
			var wg sync.WaitGroup
			woke := make(chan struct{}, 8)
			for range 8 {
				wg.Go(func() {
					<-l.wait()
					woke <- struct{}{}
				})
			}
			wg.Go(l.set)
			for range 8 {
				select {
				case <-woke:
				case <-time.After(10 * time.Second):
					t.Fatal("a waiter was not woken by set")
				}
			}
			wg.Wait()
			if !l.isSet() {
				t.Fatal("isSet false after set")
			}
		}
	})
}
