package arm64

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestARM64Printer(t *testing.T) {
	var f File
	f.Build = "arm64 && !purego"
	fn := &Func{Name: "k", Args: 8, Doc: []string{"func k(p *args)"}}
	f.Funcs = append(f.Funcs, fn)
	fn.MOVD(Arg{"p", 0}, R(0))
	fn.MOVD(At(R(0), 8), R(1))
	fn.Align(32)
	fn.Label("loop")
	fn.VLD1_P(ByReg(R(1), R(8)), V(28).S4s(4))
	fn.FMOVQ_P(At(R(9), 16), V(20).F())
	fn.Encode(FMLSE, V(20).S(3), V(31).S4(), V(19).S4())
	fn.VST1(V(0).S4s(2), At(R(2), 0))
	fn.SUBS(Imm(1), R(5))
	fn.BNE(Label("loop"))
	fn.RET()
	want := `//go:build arm64 && !purego

#include "textflag.h"

// func k(p *args)
TEXT ·k(SB), NOSPLIT, $0-8
	MOVD p+0(FP), R0
	MOVD 8(R0), R1
	PCALIGN $32
loop:
	VLD1.P (R1)(R8), [V28.S4, V29.S4, V30.S4, V31.S4]
	FMOVQ.P 16(R9), F20
	WORD $0x4fb45bf3 // fmls v19.4s, v31.4s, v20.s[3]
	VST1 [V0.S4, V1.S4], (R2)
	SUBS $1, R5
	BNE loop
	RET
`
	require.Equal(t, want, f.ARM64())
}

func TestRegisterRanges(t *testing.T) {
	require.Panics(t, func() { R(18) })
	require.Panics(t, func() { R(26) })
	require.Panics(t, func() { V(32) })
	require.Panics(t, func() { V(1).S(4) })
	require.Panics(t, func() { V(30).S4s(3) })
}

// TestInstructionsGenerated checks that zinstr.go is what gen_instr.go
// writes from its table.
func TestInstructionsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	out := filepath.Join(t.TempDir(), "zinstr.go")
	msg, err := exec.Command("go", "run", "gen_instr.go", "-out", out).CombinedOutput()
	require.NoError(t, err, "%s", msg)
	want, err := os.ReadFile(out)
	require.NoError(t, err)
	got, err := os.ReadFile("zinstr.go")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "zinstr.go is stale: run go generate in codegen/isa/arm64")
}
