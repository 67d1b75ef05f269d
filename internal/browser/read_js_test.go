//go:build js && wasm

package browser

import (
	"bytes"
	"errors"
	"testing"
)

// TestReadBufferLimit: a server writing 1 MiB to a Conn that does not
// read, with ReadBufferLimit 256 KiB, ends the Conn: Reader returns the
// messages that fitted, unchanged, then ErrReadBufferOverflow.
func TestReadBufferLimit(t *testing.T) {
	const limit = 256 << 10
	c := dial(t, "/ws/write?n=1048576&seed=4", &Options{ReadBufferLimit: limit})
	waitEnded(t, c)
	got, err := readAll(testContext(t), c)
	if !errors.Is(err, ErrReadBufferOverflow) {
		t.Fatalf("Reader: %v, want ErrReadBufferOverflow", err)
	}
	want := make([]byte, len(got))
	newPattern(4).Read(want)
	if len(got) > limit || !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes before the overflow, want at most %d, unchanged", len(got), limit)
	}
}
