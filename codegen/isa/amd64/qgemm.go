package amd64

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
)

// Integer GEMM microkernels (docs/algorithms.md §5.5): C[r×W] (int32) =
// A[r×4·k4] (u8) · B, B a W-column panel packed as runtime/quant.PackS8
// does (per group of 4 k, per column, 4 bytes), for r = 1…MR rows of A
// (row stride lda bytes) — quant.GemmU8S8, bit for bit, which is their
// pure-Go twin. An int8 activation enters as x + 128 (quant.ShiftU8);
// the layer subtracts the shift's 128·Σw (quant.ColumnSums) with its
// bias, and requantizes in Go.
//
//   - avx512vnni (16 columns a vector, tile 8 × 32): per group of 4 k, the
//     two vectors of B once, then per row one VPBROADCASTD of its 4 bytes
//     and a VPDPBUSD per vector — 64 multiply-adds an instruction, with no
//     intermediate saturation (§5.5). Go's assembler encodes VPDPBUSD with
//     EVEX only, so this tier needs AVX512-VNNI and AVX512VL.
//   - avx2 (tile 4 × 8): the exact widened path. B's bytes are
//     sign-extended to 16 bits (VPMOVSXBW: 4 columns × 4 k a register),
//     each row's 4 bytes broadcast and zero-extended (VPBROADCASTD,
//     VPMOVZXBW), VPMADDWD multiplies and sums pairs into 32 bits
//     (|255·128·2| < 2^31: exact for every value, so no 7-bit or
//     sign-transfer condition applies), VPADDD accumulates two partial
//     sums a column; VPHADDD and VPERMQ fold them at the end.
//
// Registers are assigned explicitly (see the file comment of gemm.go):
// rows of A from SI (rowAt) with R8 = lda, R10 = 3·lda, R11 = 5·lda, R12 = 7·lda;
// B from DI, C from DX with R9 = ldc; CX counts groups.

// qgemmArgs offsets: the Go struct the microkernels read (qgemmDecl).
const (
	qOffA   = 0
	qOffB   = 8
	qOffC   = 16
	qOffLda = 24
	qOffLdc = 32
	qOffK4  = 40
)

// QGemmDecl is the Go declaration of the microkernels' argument block
// (driver.QGemmArgs).
var QGemmDecl = driver.QGemmArgs

// QGemmTile is an integer GEMM tier's register tile.
type QGemmTile struct {
	Tier string // "avx512vnni" or "avx2"
	MR   int    // rows
	W    int    // columns: the panel width the weights are packed in
}

// QGemmTiles are the tiles of the integer GEMM's tiers.
var QGemmTiles = []QGemmTile{{"avx512vnni", 8, 32}, {"avx2", 4, 8}}

// QGemmName names the microkernel of tile t for r rows on weights packed
// in panels of t.W columns.
func QGemmName(t QGemmTile, r int) string { return qgemmName(t, r, t.W) }

// qgemmName names the microkernel of tile t for r rows on weights packed
// in panels of pw columns.
func qgemmName(t QGemmTile, r, pw int) string {
	if pw == t.W {
		return fmt.Sprintf("qgemm_%s_%dx%d", t.Tier, r, t.W)
	}
	return fmt.Sprintf("qgemm_%s_%dx%d_pw%d", t.Tier, r, t.W, pw)
}

// QGemmMicros returns tile t's microkernels for 1…MR rows on weights
// packed in panels of t.W columns.
func QGemmMicros(t QGemmTile) []*Func { return qgemmMicros(t, t.W) }

// qgemmMicros returns tile t's microkernels for 1…MR rows on weights
// packed in panels of pw columns (a multiple of t.W: a tile is a slice
// of a panel, its groups 4·pw bytes apart).
func qgemmMicros(t QGemmTile, pw int) []*Func {
	var fns []*Func
	for r := 1; r <= t.MR; r++ {
		fns = append(fns, qgemmMicro(t, r, pw))
	}
	return fns
}

func qgemmMicro(t QGemmTile, r, pw int) *Func {
	if r < 1 || r > t.MR || t.MR > 8 || pw%t.W != 0 {
		panic(fmt.Sprintf("BUG: amd64: qgemm tile %+v has no %d-row kernel on panels of %d", t, r, pw))
	}
	name := qgemmName(t, r, pw)
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *qgemmArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *qgemmArgs)", name),
		fmt.Sprintf("C[%d×%d] (int32) = A[%d×4·k4] (u8) · B (%d columns of a packed s8 panel of %d): quant.GemmU8S8.", r, t.W, r, t.W, pw),
	}}
	args := R13
	fn.MOVQ(Arg{Name: "a", Off: 0}, args)
	fn.MOVQ(At(args, qOffA), SI)
	fn.MOVQ(At(args, qOffB), DI)
	fn.MOVQ(At(args, qOffC), DX)
	fn.MOVQ(At(args, qOffLda), R8)
	fn.MOVQ(At(args, qOffLdc), R9)
	fn.MOVQ(At(args, qOffK4), CX)
	if r > 3 {
		fn.LEAQ(At(R8, 0).Idx(R8, 2), R10)
	}
	if r > 5 {
		fn.LEAQ(At(R8, 0).Idx(R8, 4), R11)
	}
	if r > 7 {
		fn.LEAQ(At(R10, 0).Idx(R8, 4), R12)
	}
	switch t.Tier {
	case "avx512vnni":
		qgemmVNNI(fn, t, r, pw)
	case "avx2":
		qgemmAVX2(fn, t, r, pw)
	default:
		panic("BUG: amd64: no qgemm tier " + t.Tier)
	}
	fn.VZEROUPPER()
	fn.RET()
	return fn
}

// qgemmVNNI: accumulators Z0…Z(2r−1), B in the next two, the broadcast
// after them.
func qgemmVNNI(fn *Func, t QGemmTile, r, pw int) {
	nv := t.W / 16
	acc := func(i, v int) Vec { return Z(i*nv + v) }
	b := func(v int) Vec { return Z(r*nv + v) }
	bc := Z(r*nv + nv)
	for i := range r {
		for v := range nv {
			fn.VPXORD(acc(i, v), acc(i, v), acc(i, v))
		}
	}
	fn.TESTQ(CX, CX)
	fn.JZ(Label("store"))
	fn.Align(64)
	fn.Label("loop")
	for v := range nv {
		fn.VMOVDQU32(At(DI, 64*v), b(v))
	}
	for i := range r {
		fn.VPBROADCASTD(rowAt(i, 0), bc)
		for v := range nv {
			fn.VPDPBUSD(b(v), bc, acc(i, v)) // acc += Σ4 u8(bc)·s8(b)
		}
	}
	fn.ADDQ(Imm(4), SI)
	fn.ADDQ(Imm(4*pw), DI)
	fn.DECQ(CX)
	fn.JNZ(Label("loop"))
	fn.Label("store")
	for i := range r {
		for v := range nv {
			fn.VMOVDQU32(acc(i, v), At(DX, 64*v))
		}
		if i < r-1 {
			fn.ADDQ(R9, DX)
		}
	}
}

// qgemmAVX2: accumulators Y0…Y(2r−1) (two a row: the pair sums of
// columns 0–3 and 4–7), B's words in Y8, Y9, the row's words in Y10, the
// products in Y11.
func qgemmAVX2(fn *Func, t QGemmTile, r, pw int) {
	if t.W != 8 {
		panic("BUG: amd64: the avx2 qgemm tile is 8 columns wide")
	}
	acc := func(i, h int) Vec { return Y(2*i + h) }
	b0, b1, xa, p := Y(8), Y(9), Y(10), Y(11)
	for i := range r {
		for h := range 2 {
			fn.VPXORD(acc(i, h), acc(i, h), acc(i, h))
		}
	}
	fn.TESTQ(CX, CX)
	fn.JZ(Label("store"))
	fn.Align(64)
	fn.Label("loop")
	fn.VPMOVSXBW(At(DI, 0), b0)  // columns 0–3, 4 k each, as words
	fn.VPMOVSXBW(At(DI, 16), b1) // columns 4–7
	for i := range r {
		fn.VPBROADCASTD(rowAt(i, 0), X(10))
		fn.VPMOVZXBW(X(10), xa) // the row's 4 bytes as words, 4 times
		fn.VPMADDWD(b0, xa, p)
		fn.VPADDD(p, acc(i, 0), acc(i, 0))
		fn.VPMADDWD(b1, xa, p)
		fn.VPADDD(p, acc(i, 1), acc(i, 1))
	}
	fn.ADDQ(Imm(4), SI)
	fn.ADDQ(Imm(4*pw), DI)
	fn.DECQ(CX)
	fn.JNZ(Label("loop"))
	fn.Label("store")
	for i := range r {
		// [c0 c0' c1 c1' | c2 c2' c3 c3'] and the same for c4…c7: pairs
		// summed per 128-bit half give [c0 c1 c4 c5 | c2 c3 c6 c7].
		fn.VPHADDD(acc(i, 1), acc(i, 0), acc(i, 0))
		fn.VPERMQ(Imm(0xD8), acc(i, 0), acc(i, 0)) // 64-bit lanes 0, 2, 1, 3
		fn.VMOVDQU(acc(i, 0), At(DX, 0))
		if i < r-1 {
			fn.ADDQ(R9, DX)
		}
	}
}

var tierVNNI = isa.Tier{Name: "vnni", Check: "rt.Supports(rt.TierVNNI)"}

// qgemmPW is the panel width the integer weights are packed in for every
// tier: the VNNI tile's width, four AVX2 tiles.
const qgemmPW = 32

// QGemm runs on the integer GEMM microkernels: VNNI (8 × 32 tiles) where
// the CPU has AVX512-VNNI, the exact widened AVX2 path (4 × 8) else.
func (Target) QGemm(s isa.QGemmSpec) []isa.Kernel {
	if s.PW != qgemmPW {
		return nil
	}
	var ks []isa.Kernel
	for _, t := range QGemmTiles {
		tier := tierVNNI
		if t.Tier == "avx2" {
			tier = tierAVX2
		}
		name := fmt.Sprintf("qgemm_n%d_k%d_pw%d_%s", s.N, s.K, s.PW, tier.Name)
		mk := driver.Micro{Tier: t.Tier, MR: t.MR, W: t.W, Name: func(r int) string { return qgemmName(t, r, s.PW) }}
		src := driver.QGemm(s, name, mk)
		ks = append(ks, isa.Kernel{Family: isa.QGemm, Tier: tier, Name: name, Part: part{src, qgemmMicros(t, s.PW), []string{driver.QGemmArgs}}})
	}
	return ks
}
