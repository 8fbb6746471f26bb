package amd64

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAMD64Printer(t *testing.T) {
	var f File
	f.Build = "amd64 && !purego"
	fn := f.Func("addf", 8, "func addf(p *args)")
	fn.I("MOVQ", Arg{"p", 0}, AX)
	fn.I("MOVQ", At(AX, 8), CX)
	fn.Align(64)
	fn.Label("loop")
	fn.I("VBROADCASTSS", At(SI, 4).Idx(R8, 2), Z(30))
	fn.I("VFNMADD231PS", Z(1), Z(30), Z(0))
	fn.I("VMOVUPS", Z(0), K(1), At(DX, -64))
	fn.I("SUBQ", Imm(4), CX)
	fn.I("JNZ", Label("loop"))
	fn.I("VZEROUPPER")
	fn.I("RET")
	want := `//go:build amd64 && !purego

#include "textflag.h"

// func addf(p *args)
TEXT ·addf(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	MOVQ 8(AX), CX
	PCALIGN $64
loop:
	VBROADCASTSS 4(SI)(R8*2), Z30
	VFNMADD231PS Z1, Z30, Z0
	VMOVUPS Z0, K1, -64(DX)
	SUBQ $4, CX
	JNZ loop
	VZEROUPPER
	RET
`
	require.Equal(t, want, f.AMD64())
}

func TestRegisterRanges(t *testing.T) {
	require.Panics(t, func() { Z(32) })
	require.Panics(t, func() { K(8) })
	require.Panics(t, func() { At(SI, 0).Idx(R8, 3) })
}
