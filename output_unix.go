//go:build unix

package wsstream

import "syscall"

// rawWriteSupported says whether output may write to the socket with
// non-blocking system calls of its own.
const rawWriteSupported = true

func rawWrite(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }

func rawRead(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }
