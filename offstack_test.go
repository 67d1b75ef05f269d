package wsstream

import "testing"

// TestOffStackPanicsOnTheCaller: a panic in the work Accept and Dial run
// on a goroutine of their own reaches the caller, where net/http's
// recovery of a handler's panic (or the caller's own) can catch it,
// rather than end the process from a goroutine nobody can recover.
func TestOffStackPanicsOnTheCaller(t *testing.T) {
	ran := false
	offStack(func() { ran = true })
	if !ran {
		t.Fatal("offStack returned before f ran")
	}
	defer func() {
		if p := recover(); p != "in f" {
			t.Fatalf("recovered %v; want the panic of f", p)
		}
	}()
	offStack(func() { panic("in f") })
	t.Fatal("offStack returned after f panicked")
}
