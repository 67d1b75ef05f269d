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

// rawWritevSupported and rawReadvSupported say whether rawWritev and
// rawReadv use two buffers with one system call.
const (
	rawWritevSupported = true
	rawReadvSupported  = true
)

// rawWritev writes h and then p with one writev system call; like any
// write, it may take less than all of them.
func rawWritev(fd uintptr, h, p []byte) (int, error) { return rawVector(syscall.SYS_WRITEV, fd, h, p) }

// rawReadv reads once into h and then p, with one readv system call.
func rawReadv(fd uintptr, h, p []byte) (int, error) { return rawVector(syscall.SYS_READV, fd, h, p) }

// rawVector makes the system call trap (writev or readv) on fd with h and
// p as its two buffers.
func rawVector(trap, fd uintptr, h, p []byte) (int, error) {
	var iov [2]syscall.Iovec
	iov[0].Base, iov[1].Base = unsafe.SliceData(h), unsafe.SliceData(p)
	iov[0].SetLen(len(h))
	iov[1].SetLen(len(p))
	n, _, errno := syscall.Syscall(trap, fd, uintptr(unsafe.Pointer(&iov[0])), 2)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
