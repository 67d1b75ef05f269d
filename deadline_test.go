//go:build !js

package wsstream

import (
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

func TestDeadline(t *testing.T) {
	t.Run("ZeroNeverPasses", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d := makeDeadline()
			time.Sleep(time.Hour)
			if d.passed() {
				t.Fatal("a deadline never set has passed")
			}
		})
	})
	t.Run("FuturePassesOnTime", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d := makeDeadline()
			start := time.Now()
			d.set(start.Add(time.Second))
			if d.passed() {
				t.Fatal("passed before its time")
			}
			<-d.wait()
			if got := time.Since(start); got != time.Second {
				t.Fatalf("passed after %v, want 1s", got)
			}
		})
	})
	t.Run("PastPassesAtOnce", func(t *testing.T) {
		d := makeDeadline()
		d.set(time.Now().Add(-time.Second))
		if !d.passed() {
			t.Fatal("a deadline in the past has not passed")
		}
	})
	t.Run("ExtendingKeepsTheChannel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d := makeDeadline()
			start := time.Now()
			d.set(start.Add(time.Second))
			ch := d.wait()
			d.set(start.Add(3 * time.Second))
			<-ch // a waiter that took the channel before the move sees the new time
			if got := time.Since(start); got != 3*time.Second {
				t.Fatalf("passed after %v, want 3s", got)
			}
		})
	})
	t.Run("MovingIntoThePastWakesWaiters", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d := makeDeadline()
			ch := d.wait()
			woke := make(chan time.Duration)
			start := time.Now()
			go func() {
				<-ch
				woke <- time.Since(start)
			}()
			time.Sleep(time.Minute)
			d.set(time.Unix(1, 0))
			if got := <-woke; got != time.Minute {
				t.Fatalf("woke after %v, want 1m", got)
			}
		})
	})
	t.Run("ClearingAfterPassingResets", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d := makeDeadline()
			d.set(time.Now().Add(time.Second))
			time.Sleep(2 * time.Second)
			if !d.passed() {
				t.Fatal("not passed")
			}
			d.set(time.Time{})
			if d.passed() {
				t.Fatal("still passed after clearing")
			}
			d.set(time.Now().Add(time.Second))
			time.Sleep(500 * time.Millisecond)
			if d.passed() {
				t.Fatal("passed early after re-arming")
			}
			time.Sleep(time.Second)
			if !d.passed() {
				t.Fatal("re-armed deadline did not pass")
			}
		})
	})
	t.Run("ClearingStopsTheTimer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d := makeDeadline()
			d.set(time.Now().Add(time.Second))
			d.set(time.Time{})
			time.Sleep(time.Hour)
			if d.passed() {
				t.Fatal("a cleared deadline passed")
			}
			// Setting again after a stop must not wait for a callback that
			// will never run.
			d.set(time.Now().Add(time.Second))
			d.stop()
			d.set(time.Now().Add(time.Second))
			time.Sleep(2 * time.Second)
			if !d.passed() {
				t.Fatal("deadline set after stop did not pass")
			}
		})
	})
}

func TestDeadlineError(t *testing.T) {
	var ne net.Error
	if !errors.As(errDeadline, &ne) || !ne.Timeout() {
		t.Fatalf("%v is not a net.Error with Timeout() == true", errDeadline)
	}
	if !errors.Is(errDeadline, os.ErrDeadlineExceeded) {
		t.Fatalf("%v does not match os.ErrDeadlineExceeded", errDeadline)
	}
}
