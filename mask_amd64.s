//go:build !js && !purego

#include "textflag.h"

// func maskBlocks(dst, src []byte, k uint64)
//
// 64 bytes a round in four SSE2 registers (SSE2 is part of every amd64),
// unaligned loads and stores. Each block is loaded before it is stored,
// so dst may be src.
TEXT ·maskBlocks(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	MOVQ k+48(FP), X0
	PUNPCKLQDQ X0, X0

loop:
	MOVOU 0(SI), X1
	MOVOU 16(SI), X2
	MOVOU 32(SI), X3
	MOVOU 48(SI), X4
	PXOR  X0, X1
	PXOR  X0, X2
	PXOR  X0, X3
	PXOR  X0, X4
	MOVOU X1, 0(DI)
	MOVOU X2, 16(DI)
	MOVOU X3, 32(DI)
	MOVOU X4, 48(DI)
	ADDQ  $64, SI
	ADDQ  $64, DI
	SUBQ  $64, CX
	JNZ   loop
	RET
