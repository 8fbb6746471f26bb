package amd64

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAMD64Printer(t *testing.T) {
	var f File
	f.Build = "amd64 && !purego"
	fn := f.Func("addf", 8, "func addf(p *args)")
	fn.MOVQ(Arg{"p", 0}, AX)
	fn.MOVQ(At(AX, 8), CX)
	fn.Align(64)
	fn.Label("loop")
	fn.VBROADCASTSS(At(SI, 4).Idx(R8, 2), Z(30))
	fn.VFNMADD231PS(Z(1), Z(30), Z(0))
	fn.VMOVUPS_K(Z(0), K(1), At(DX, -64))
	fn.SUBQ(Imm(4), CX)
	fn.JNZ(Label("loop"))
	fn.VZEROUPPER()
	fn.RET()
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

// TestInstructionsGenerated checks that zinstr.go is what gen_instr.go
// writes from its table.
func TestInstructionsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	out := filepath.Join(t.TempDir(), "zinstr.go")
	cmd := exec.Command("go", "run", "gen_instr.go", "-out", out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	want, err := os.ReadFile(out)
	require.NoError(t, err)
	got, err := os.ReadFile("zinstr.go")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "zinstr.go is stale: run go generate in codegen/isa/amd64")
}

// TestOperandTypes checks that an operand of the wrong kind is a compile
// error in a kernel generator, not a bad line in a generated .s file: the
// type checker rejects each of these calls.
func TestOperandTypes(t *testing.T) {
	for _, call := range []string{
		"fn.VADDPS(Z(1), AX, Z(0))",             // a general-purpose register as a vector source
		"fn.MOVQ(SI, Z(0))",                     // a vector register as a MOVQ destination
		"fn.VMOVUPS(Z(0), K(1), At(DX, 0))",     // a mask on the unmasked form
		"fn.VFMADD231PS_BCST(Z(2), Z(1), Z(0))", // a broadcast from a register
		"fn.JNZ(CX)",                            // a register as a branch target
	} {
		src := "package amd64\n\nfunc bad(fn *Func) {\n\t" + call + "\n}\n"
		if err := typeCheck(t, src); err == nil {
			t.Errorf("%s type-checks", call)
		}
	}
	if err := typeCheck(t, "package amd64\n\nfunc good(fn *Func) {\n\tfn.VADDPS(At(SI, 64), Z(1), Z(0))\n}\n"); err != nil {
		t.Errorf("a valid call fails to type-check: %v", err)
	}
}

// typeCheck type-checks the package's own files (tests excluded) with
// src added. The importer, which type-checks the dependencies from
// source, is shared, so they are checked once.
func typeCheck(t *testing.T, src string) error {
	t.Helper()
	if checkFset == nil {
		checkFset = token.NewFileSet()
		checkImporter = importer.ForCompiler(checkFset, "source", nil)
	}
	pkgs, err := parser.ParseDir(checkFset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go") && fi.Name() != "gen_instr.go"
	}, 0)
	require.NoError(t, err)
	var files []*ast.File
	for _, f := range pkgs["amd64"].Files {
		files = append(files, f)
	}
	extra, err := parser.ParseFile(checkFset, "extra.go", src, 0)
	require.NoError(t, err)
	conf := types.Config{Importer: checkImporter}
	_, err = conf.Check("amd64", checkFset, append(files, extra), nil)
	return err
}

var (
	checkFset     *token.FileSet
	checkImporter types.Importer
)
