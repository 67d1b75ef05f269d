//go:build !unix && !js

package wsstream

import "syscall"

// rawWriteSupported says whether output may write to the socket with
// non-blocking system calls of its own: not on this system, where every
// write blocks as net.Conn's do.
const rawWriteSupported = false

func rawWrite(uintptr, []byte) (int, error) { return 0, syscall.EINVAL }

func rawRead(uintptr, []byte) (int, error) { return 0, syscall.EINVAL }
