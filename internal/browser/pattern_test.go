package browser

import (
	"math/rand/v2"

	"github.com/wsstream/wsstream/internal/jsharness"
)

// newPattern returns the deterministic byte stream number seed, which the
// native test server and the js tests both generate.
func newPattern(seed uint64) *rand.ChaCha8 { return jsharness.Pattern(seed) }
