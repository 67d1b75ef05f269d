package registry

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// regWatchdog bounds how long a test waits for something that must happen; it
// only turns a hang into a failure and is never used for synchronisation.
const regWatchdog = 20 * time.Second

// regModes are the delivery regModes every behavioural test runs under.
var regModes = []struct {
	name   string
	buffer int
}{
	{"bounded", 1000},
	{"unbounded", -1},
}

// regRecvAll receives from ch until it is closed.
func regRecvAll[E any](t *testing.T, ch <-chan E) []E {
	t.Helper()
	var got []E
	timeout := time.After(regWatchdog)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, e)
		case <-timeout:
			t.Fatalf("channel not closed after %v; received %d events", regWatchdog, len(got))
		}
	}
}

// seq returns [from, to).
func regSeq(from, to int) []int {
	s := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func TestRegistryOrdering(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, m := range regModes {
		t.Run(m.name, func(t *testing.T) {
			r := New[int](nil)
			r.Publish(-2) // before Subscribe: not seen
			s1 := r.Subscribe(Config[int]{Buffer: m.buffer})
			r.Publish(-3) // seen by s1 only
			s2 := r.Subscribe(Config[int]{Buffer: m.buffer})
			for i := range 500 {
				r.Publish(i)
			}
			r.Close(-1)
			want := append(regSeq(0, 500), -1)
			if diff := sliceDiff(append([]int{-3}, want...), regRecvAll(t, s1.Events())); diff != "" {
				t.Errorf("s1 events\n%s", diff)
			}
			if diff := sliceDiff(want, regRecvAll(t, s2.Events())); diff != "" {
				t.Errorf("s2 events\n%s", diff)
			}
		})
	}
}

func TestRegistryFilter(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tests := []struct {
		name   string
		filter func() func(int) bool // fresh filter per subscriber
		want   []int
	}{
		{"nil", func() func(int) bool { return nil }, regSeq(0, 10)},
		{"even", func() func(int) bool {
			return func(e int) bool { return e%2 == 0 }
		}, []int{0, 2, 4, 6, 8}},
		{"stateful every second event", func() func(int) bool {
			n := 0
			return func(int) bool { n++; return n%2 == 0 }
		}, []int{1, 3, 5, 7, 9}},
		{"reject all", func() func(int) bool {
			return func(int) bool { return false }
		}, nil},
	}
	for _, m := range regModes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				r := New[int](nil)
				// Two subscribers with separate state: each filter
				// must see every event exactly once.
				a := r.Subscribe(Config[int]{Filter: tt.filter(), Buffer: m.buffer})
				b := r.Subscribe(Config[int]{Filter: tt.filter(), Buffer: m.buffer})
				for i := range 10 {
					r.Publish(i)
				}
				r.Close(-1)
				want := append(slices.Clone(tt.want), -1)
				for name, s := range map[string]*Sub[int]{"a": a, "b": b} {
					if diff := sliceDiff(want, regRecvAll(t, s.Events())); diff != "" {
						t.Errorf("%s events\n%s", name, diff)
					}
				}
			})
		}
	}
}

func TestRegistryBoundedDrop(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tests := []struct {
		name      string
		buffer    int
		published int
		kept      int
	}{
		{"buffer 10", 10, 100, 10},
		{"buffer 1", 1, 100, 1},
		{"default buffer", 0, 100, defaultBuffer},
		{"not full", 10, 7, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New[int](nil)
			s := r.Subscribe(Config[int]{Buffer: tt.buffer})
			for i := range tt.published {
				r.Publish(i)
			}
			r.Close(-1)
			if diff := sliceDiff(append(regSeq(0, tt.kept), -1), regRecvAll(t, s.Events())); diff != "" {
				t.Errorf("events\n%s", diff)
			}
			if got, want := s.Dropped(), uint64(tt.published-tt.kept); got != want {
				t.Errorf("Dropped() = %d, want %d", got, want)
			}
		})
	}
	t.Run("reading frees slots", func(t *testing.T) {
		r := New[int](nil)
		s := r.Subscribe(Config[int]{Buffer: 2})
		r.Publish(0)
		r.Publish(1)
		r.Publish(2) // dropped
		if e := <-s.Events(); e != 0 {
			t.Fatalf("got %d, want 0", e)
		}
		r.Publish(3)
		r.Close(-1)
		if diff := sliceDiff([]int{1, 3, -1}, regRecvAll(t, s.Events())); diff != "" {
			t.Errorf("events\n%s", diff)
		}
		if s.Dropped() != 1 {
			t.Errorf("Dropped() = %d, want 1", s.Dropped())
		}
	})
}

func TestRegistryUnboundedNoLoss(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	r := New[int](nil)
	s := r.Subscribe(Config[int]{Buffer: -1})
	errCh := make(chan error, 1)
	go func() {
		next := 0
		for e := range s.Events() {
			if next == n {
				if e != -1 {
					errCh <- fmt.Errorf("after %d events got %d, want final -1", n, e)
					return
				}
				next++
				continue
			}
			if e != next {
				errCh <- fmt.Errorf("got %d, want %d", e, next)
				return
			}
			next++
		}
		if next != n+1 {
			errCh <- fmt.Errorf("received %d events, want %d", next, n+1)
			return
		}
		errCh <- nil
	}()
	for i := range n {
		r.Publish(i)
	}
	r.Close(-1)
	select {
	case err := <-errCh:
		if err != nil {
			s.Unsubscribe()
			t.Fatal(err)
		}
	case <-time.After(regWatchdog):
		t.Fatal("consumer did not finish")
	}
	if s.Dropped() != 0 {
		t.Errorf("Dropped() = %d, want 0", s.Dropped())
	}
}

func TestRegistryStuckSubscriberDoesNotBlockPublish(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, closeFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("close=%v", closeFirst), func(t *testing.T) {
			r := New[int](nil)
			subs := []*Sub[int]{
				r.Subscribe(Config[int]{Buffer: 1}),
				r.Subscribe(Config[int]{}),
				r.Subscribe(Config[int]{Buffer: -1}),
			}
			const n = 100_000
			doneCh := make(chan struct{})
			go func() {
				defer close(doneCh)
				for i := range n {
					r.Publish(i)
				}
				if closeFirst {
					r.Close(-1)
				}
			}()
			select {
			case <-doneCh:
			case <-time.After(regWatchdog):
				t.Fatal("Publish blocked on subscribers that never read")
			}
			if got, want := subs[0].Dropped(), uint64(n-1); got != want {
				t.Errorf("Dropped() = %d, want %d", got, want)
			}
			// Unsubscribe stops the unbounded subscriber's forwarder,
			// which is blocked on a full channel; goleak checks it.
			for _, s := range subs {
				s.Unsubscribe()
			}
			if r.Len() != 0 {
				t.Errorf("Len() = %d, want 0", r.Len())
			}
		})
	}
}

func TestRegistryUnsubscribe(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, m := range regModes {
		t.Run(m.name+"/inside range loop", func(t *testing.T) {
			r := New[int](nil)
			s := r.Subscribe(Config[int]{Buffer: m.buffer})
			other := r.Subscribe(Config[int]{Buffer: m.buffer})
			for i := range 100 {
				r.Publish(i)
			}
			var got []int
			for e := range s.Events() {
				got = append(got, e)
				if e == 5 {
					s.Unsubscribe()
					s.Unsubscribe() // idempotent
				}
			}
			if diff := sliceDiff(regSeq(0, 6), got); diff != "" {
				t.Errorf("events\n%s", diff)
			}
			if r.Len() != 1 {
				t.Errorf("Len() = %d, want 1", r.Len())
			}
			r.Publish(100)
			r.Close(-1)
			if diff := sliceDiff(append(regSeq(0, 101), -1), regRecvAll(t, other.Events())); diff != "" {
				t.Errorf("other subscriber's events\n%s", diff)
			}
		})
		t.Run(m.name+"/from another goroutine", func(t *testing.T) {
			r := New[int](nil)
			s := r.Subscribe(Config[int]{Buffer: m.buffer})
			doneCh := make(chan []int)
			go func() {
				var got []int
				for e := range s.Events() {
					got = append(got, e)
				}
				doneCh <- got
			}()
			r.Publish(1)
			s.Unsubscribe()
			r.Publish(2)
			select {
			case got := <-doneCh:
				// Event 1 may or may not have been received first.
				if len(got) > 1 || len(got) == 1 && got[0] != 1 {
					t.Errorf("got %v, want [] or [1]", got)
				}
			case <-time.After(regWatchdog):
				t.Fatal("range loop did not end")
			}
		})
		t.Run(m.name+"/discards final after Close", func(t *testing.T) {
			r := New[int](nil)
			s := r.Subscribe(Config[int]{Buffer: m.buffer})
			r.Publish(1)
			r.Close(-1)
			s.Unsubscribe()
			if got := regRecvAll(t, s.Events()); len(got) != 0 {
				t.Errorf("got %v after Unsubscribe, want nothing", got)
			}
		})
	}
}

func TestRegistryFinalAlwaysDelivered(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	reject := func(int) bool { return false }
	tests := []struct {
		name string
		cfg  Config[int]
		want []int
	}{
		{"bounded full buffer", Config[int]{Buffer: 3}, []int{0, 1, 2, -1}},
		{"bounded rejecting filter", Config[int]{Buffer: 3, Filter: reject}, []int{-1}},
		{"bounded full default buffer rejecting filter", Config[int]{Filter: reject}, []int{-1}},
		{"unbounded backlog", Config[int]{Buffer: -1}, append(regSeq(0, 10), -1)},
		{"unbounded rejecting filter", Config[int]{Buffer: -1, Filter: reject}, []int{-1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New[int](nil)
			s := r.Subscribe(tt.cfg)
			for i := range 10 {
				r.Publish(i)
			}
			r.Close(-1)
			if diff := sliceDiff(tt.want, regRecvAll(t, s.Events())); diff != "" {
				t.Errorf("events\n%s", diff)
			}
		})
	}
}

func TestRegistrySubscribeAfterClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, m := range regModes {
		t.Run(m.name, func(t *testing.T) {
			r := New[int](func(e int) int { return e })
			r.Close(42)
			r.Close(7) // ignored
			r.Publish(1)
			s := r.Subscribe(Config[int]{Buffer: m.buffer, Filter: func(int) bool { return false }})
			if r.Len() != 0 {
				t.Errorf("Len() = %d, want 0", r.Len())
			}
			if diff := sliceDiff([]int{42}, regRecvAll(t, s.Events())); diff != "" {
				t.Errorf("events\n%s", diff)
			}
			s.Unsubscribe()
		})
	}
}

func TestRegistryLen(t *testing.T) {
	r := New[int](nil)
	a := r.Subscribe(Config[int]{})
	b := r.Subscribe(Config[int]{Buffer: -1})
	c := r.Subscribe(Config[int]{})
	if r.Len() != 3 {
		t.Fatalf("Len() = %d, want 3", r.Len())
	}
	b.Unsubscribe()
	b.Unsubscribe()
	if r.Len() != 2 {
		t.Fatalf("after Unsubscribe Len() = %d, want 2", r.Len())
	}
	r.Close(0)
	if r.Len() != 0 {
		t.Fatalf("after Close Len() = %d, want 0", r.Len())
	}
	a.Unsubscribe()
	c.Unsubscribe()
}

func TestRegistryClonePerSubscriber(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var clones int // guarded by the registry's lock: clone runs under it
	r := New(func(e []int) []int {
		clones++
		return slices.Clone(e)
	})
	a := r.Subscribe(Config[[]int]{})
	b := r.Subscribe(Config[[]int]{Buffer: -1})
	reject := r.Subscribe(Config[[]int]{Filter: func([]int) bool { return false }})
	full := r.Subscribe(Config[[]int]{Buffer: 1})
	orig := []int{1, 2, 3}
	r.Publish(orig)
	r.Publish(orig) // dropped by full: not cloned for it
	final := []int{9}
	r.Close(final)

	gotA := regRecvAll(t, a.Events())
	for _, e := range gotA {
		e[0] = 100
	}
	gotB := regRecvAll(t, b.Events())
	want := [][]int{{1, 2, 3}, {1, 2, 3}, {9}}
	if diff := sliceDiff(want, gotB); diff != "" {
		t.Errorf("b's events changed by mutating a's\n%s", diff)
	}
	if diff := sliceDiff([][]int{{9}}, regRecvAll(t, reject.Events())); diff != "" {
		t.Errorf("rejecting subscriber's events\n%s", diff)
	}
	if diff := sliceDiff([][]int{{1, 2, 3}, {9}}, regRecvAll(t, full.Events())); diff != "" {
		t.Errorf("full subscriber's events\n%s", diff)
	}
	if orig[0] != 1 || final[0] != 9 {
		t.Errorf("published payloads mutated: %v %v", orig, final)
	}
	// a: 2+final, b: 2+final, reject: final, full: 1+final.
	if clones != 3+3+1+2 {
		t.Errorf("clone called %d times, want 9", clones)
	}
}

func TestRegistryConcurrentStress(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	type event struct{ pub, seq int }
	const (
		publishers  = 4
		perPub      = 5000
		subscribers = 24
	)
	r := New(func(e event) event { return e })
	final := event{pub: -1}
	halfCh := make(chan struct{})
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range perPub {
				if p == 0 && i == perPub/2 {
					close(halfCh)
				}
				r.Publish(event{p, i})
				_ = r.Len()
			}
		})
	}
	wg.Go(func() {
		<-halfCh
		r.Close(final)
	})
	errCh := make(chan error, subscribers)
	for i := range subscribers {
		wg.Go(func() {
			cfg := Config[event]{Buffer: []int{4, 0, -1}[i%3]}
			if i%4 == 3 {
				cfg.Filter = func(e event) bool { return e.seq%2 == 0 }
			}
			// i%4: 0 reads to the end, 1 unsubscribes in the loop,
			// 2 is unsubscribed concurrently by another goroutine,
			// 3 reads to the end with a filter.
			s := r.Subscribe(cfg)
			if i%4 == 2 {
				wg.Go(s.Unsubscribe)
			}
			last := make(map[int]int)
			sawFinal, n := false, 0
			for e := range s.Events() {
				n++
				if sawFinal {
					errCh <- fmt.Errorf("sub %d: event %v after final", i, e)
					s.Unsubscribe()
					return
				}
				if e == final {
					sawFinal = true
					continue
				}
				if prev, ok := last[e.pub]; ok && e.seq <= prev {
					errCh <- fmt.Errorf("sub %d: publisher %d: seq %d after %d", i, e.pub, e.seq, prev)
					s.Unsubscribe()
					return
				}
				last[e.pub] = e.seq
				if i%4 == 1 && n == 100 {
					s.Unsubscribe()
				}
			}
			if (i%4 == 0 || i%4 == 3) && !sawFinal {
				errCh <- fmt.Errorf("sub %d: channel closed without final event", i)
			}
		})
	}
	wg.Wait()
	close(errCh)
	for err := range errCh {
		t.Error(err)
	}
	if r.Len() != 0 {
		t.Errorf("Len() = %d after Close, want 0", r.Len())
	}
}

// BenchmarkRegistryPublish reports the cost of one Publish. subs=0 is the
// floor (lock and unlock). The target of issue #3 compares the two others:
// with 100 subscribers that never read (subs=100-stuck), the publisher
// must stay within 2x of the same fan-out to 100 subscribers that read
// (subs=100-reading). A stuck subscriber costs a length check and an
// atomic increment; Publish never blocks on it.
func BenchmarkRegistryPublish(b *testing.B) {
	b.Run("subs=0", func(b *testing.B) {
		r := New[int](nil)
		for b.Loop() {
			r.Publish(1)
		}
	})
	for _, reading := range []bool{true, false} {
		name := "subs=100-stuck"
		if reading {
			name = "subs=100-reading"
		}
		b.Run(name, func(b *testing.B) {
			r := New[int](nil)
			var readers sync.WaitGroup
			subs := make([]*Sub[int], 100)
			for i := range subs {
				subs[i] = r.Subscribe(Config[int]{})
				if reading {
					readers.Go(func() {
						for range subs[i].Events() {
						}
					})
				}
			}
			for b.Loop() {
				r.Publish(1)
			}
			for _, s := range subs {
				s.Unsubscribe()
			}
			readers.Wait()
		})
	}
}

// sliceDiff describes how got differs from want, or returns "" when they
// are equal.
func sliceDiff[E any](want, got []E) string {
	if fmt.Sprint(want) == fmt.Sprint(got) {
		return ""
	}
	return fmt.Sprintf("want %v\n got %v", want, got)
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
