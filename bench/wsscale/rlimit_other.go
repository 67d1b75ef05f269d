//go:build !unix

package main

// ensureFiles does nothing where file descriptor limits are not
// per-process rlimits.
func ensureFiles(int) error { return nil }
