//go:build !linux && !js

package wsstream

import "syscall"

// kernelUnsent returns how many bytes the socket fd holds that the peer
// has not acknowledged: unknown on this system, where only the output's
// own backlog counts.
func kernelUnsent(uintptr) int { return 0 }

// rawWritevSupported and rawReadvSupported say whether rawWritev and
// rawReadv use two buffers with one system call: not here, where sendNow
// copies a payload behind its header, and a Read never splits its reads.
const (
	rawWritevSupported = false
	rawReadvSupported  = false
)

func rawWritev(uintptr, []byte, []byte) (int, error) { return 0, syscall.EINVAL }

func rawReadv(uintptr, []byte, []byte) (int, error) { return 0, syscall.EINVAL }
