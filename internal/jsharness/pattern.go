package jsharness

import (
	"encoding/binary"
	"math/rand/v2"
)

// Pattern returns the deterministic byte stream number seed. The native
// test servers and the js tests both generate it, so either side can
// check what the other sent.
func Pattern(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return rand.NewChaCha8(s)
}

// EnvServer is the environment variable through which RunTests tells the
// js tests the URL of its server, http://127.0.0.1:PORT.
const EnvServer = "WSSTREAM_BROWSER_SERVER"
