//go:build !linux && !js

package wsstream

// kernelUnsent returns how many bytes the socket fd holds that the peer
// has not acknowledged: unknown on this system, where only the output's
// own backlog counts.
func kernelUnsent(uintptr) int { return 0 }
