//go:build !linux && !js

package wsstream

import "syscall"

// kernelUnsent returns how many bytes the socket fd holds that the peer
// has not acknowledged: unknown on this system, where only the output's
// own backlog counts.
func kernelUnsent(uintptr) int { return 0 }

// rawWritevSupported says whether rawWritev writes a header and a payload
// with one system call: not here, where the Conn copies the payload
// behind its header instead.
const rawWritevSupported = false

func rawWritev(uintptr, []byte, []byte) (int, error) { return 0, syscall.EINVAL }
