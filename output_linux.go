//go:build linux

package wsstream

import (
	"syscall"
	"unsafe"
)

// kernelUnsent returns how many bytes the socket fd holds that the peer
// has not acknowledged (SIOCOUTQ).
func kernelUnsent(fd uintptr) int {
	var n int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&n)))
	if errno != 0 {
		return 0
	}
	return int(n)
}
