package browser

import (
	"encoding/binary"
	"math/rand/v2"
)

// newPattern returns the deterministic byte stream number seed. The native
// test server and the js tests both generate it, so either side can check
// what the other sent.
func newPattern(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return rand.NewChaCha8(s)
}

// Environment variables through which the native harness tells the js
// tests where its server is.
const (
	envServer = "WSSTREAM_BROWSER_SERVER" // http://127.0.0.1:PORT
)
