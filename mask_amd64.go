//go:build !js && !purego

package wsstream

// maskBlocks sets dst to src XOR k, k repeated; len(src) is a positive
// multiple of 64 and len(dst) == len(src). In mask_amd64.s.
//
//go:noescape
func maskBlocks(dst, src []byte, k uint64)
