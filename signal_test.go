package wsstream

import (
	"sync"
	"sync/atomic"
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

// TestSlot: a slot is held by one goroutine at a time; a release wakes a
// waiter; a waiter that stops waiting after a wake-up passes it on, so
// that no waiter sleeps while the slot is free.
func TestSlot(t *testing.T) {
	t.Run("held", func(t *testing.T) {
		var s slot
		if _, ok := s.take(); !ok {
			t.Fatal("take on a free slot failed")
		}
		freed, ok := s.take()
		if ok || s.tryTake() {
			t.Fatal("a held slot was taken again")
		}
		if isClosed(freed) {
			t.Fatal("a held slot's channel has a wake-up")
		}
		s.release()
		if !isClosed(freed) {
			t.Fatal("release did not wake the waiter")
		}
		if !s.tryTake() {
			t.Fatal("a released slot could not be taken")
		}
	})
	t.Run("stress", func(t *testing.T) {
		var s slot
		var inside, done atomic.Int32
		var wg sync.WaitGroup
		const workers, rounds = 8, 300
		for w := range workers {
			wg.Go(func() {
				for i := range rounds {
					giveUp := (w+i)%5 == 0
					var took bool
					for waited := false; !took; waited = true {
						freed, ok := s.take()
						if ok {
							took = true
							break
						}
						if giveUp && waited {
							s.pass()
							break
						}
						select {
						case <-freed:
						case <-time.After(10 * time.Second):
							t.Error("a waiter slept 10s: the slot was left free")
							return
						}
					}
					if !took {
						continue
					}
					if inside.Add(1) != 1 {
						t.Error("two goroutines hold the slot")
					}
					inside.Add(-1)
					s.release()
				}
				done.Add(1)
			})
		}
		wg.Wait()
		if done.Load() != workers {
			t.Fatalf("%d of %d workers finished", done.Load(), workers)
		}
	})
}
