//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// ensureFiles makes sure the process may open n file descriptors,
// raising its soft limit up to the hard limit if needed.
func ensureFiles(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("reading the file descriptor limit: %w", err)
	}
	if lim.Cur >= uint64(n) {
		return nil
	}
	if lim.Max < uint64(n) {
		return fmt.Errorf("need %d file descriptors per process but the hard limit is %d: raise it (ulimit -Hn, as root) or lower -n", n, lim.Max)
	}
	lim.Cur = uint64(n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raising the file descriptor limit to %d: %w", n, err)
	}
	return nil
}
