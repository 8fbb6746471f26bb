package arm64

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
)

// Integer GEMM microkernels (docs/algorithms.md §5.5), the NEON twins of
// codegen/isa/amd64/qgemm.go: C[r×W] (int32) = A[r×4·k4] (u8) · B, B a
// W-column slice of a panel packed as runtime/quant.PackS8 does (per
// group of 4 k, per column, 4 bytes: one 128-bit vector holds 4 columns
// × 4 k), for r = 1…MR rows of A (row stride lda bytes) —
// quant.GemmU8S8, bit for bit, which is their pure-Go twin.
//
// NEON multiplies bytes signed × signed (SDOT, SMULL) or unsigned ×
// unsigned (UDOT, UMULL), not u8 × s8, so the kernels read each byte of A
// as x − 128 (EOR 0x80: an s8) and add 128·Σ_k w per column back at the
// end, computed in the same loop as Σ_k (−128)·w from the same vectors of
// B (a constant row of 0x80 bytes) and subtracted. The sums wrap as int32
// exactly as quant.GemmU8S8's do: Σ (x − 128)·w − Σ (−128)·w = Σ x·w mod
// 2^32, so the result is the twin's for every input, −128 weights and
// 0/255 activations included.
//
//   - dotprod (ARMv8.2's SDOT, tile 8 × 8): per four groups of 4 k, one
//     128-bit load of each row's 16 bytes (EOR'd once), then per group
//     the two vectors of B once, SDOT by element (row i's group s against
//     4 columns × 4 k) into the row's two accumulators, and one SDOT of B
//     against the 0x80 row for the correction; a tail loop takes one
//     group at a time.
//   - neon (ARMv8.0, tile 4 × 8): per group, each row's 4 bytes loaded
//     into every lane (LD1R) and EOR'd, SMULL and SMULL2 multiply them by
//     the low and high halves of each vector of B into eight 16-bit
//     products (|−128·−128| = 2^14 fits), SADALP adds pairs of them into
//     32-bit accumulators — two per vector, [c0 c0' c1 c1'] and
//     [c2 c2' c3 c3'], folded by ADDP at the end. SMLAL (two products in
//     one 16-bit lane) is not exact: (−128)·(−128)·2 = 2^15 overflows.
//
// Registers: R0 the argument block, R1 B, R2 C, R3 lda, R4 ldc, R5 the
// group counter, R6 the constant, R8 B's group stride (4·PW bytes),
// R9–R16 A's rows. Vectors per tier below.

// qgemmArgs offsets: the Go struct the microkernels read (driver.QGemmArgs).
const (
	qOffA   = 0
	qOffB   = 8
	qOffC   = 16
	qOffLda = 24
	qOffLdc = 32
	qOffK4  = 40
)

// QGemmTile is an integer GEMM tier's register tile.
type QGemmTile struct {
	Tier string // "dotprod" or "neon"
	MR   int    // rows
	W    int    // columns: two vectors of four
}

// QGemmTiles are the tiles of the integer GEMM's tiers.
var QGemmTiles = []QGemmTile{{"dotprod", 8, 8}, {"neon", 4, 8}}

// qgemmPW is the panel width the integer weights are packed in for every
// target (codegen's qgemmPW): four tiles of 8 columns.
const qgemmPW = 32

// qgemmName names the microkernel of tile t for r rows on weights packed
// in panels of pw columns.
func qgemmName(t QGemmTile, r, pw int) string {
	if pw == t.W {
		return fmt.Sprintf("qgemm_%s_%dx%d", t.Tier, r, t.W)
	}
	return fmt.Sprintf("qgemm_%s_%dx%d_pw%d", t.Tier, r, t.W, pw)
}

// QGemmName names the microkernel of tile t for r rows on weights packed
// in panels of pw columns.
func QGemmName(t QGemmTile, r, pw int) string { return qgemmName(t, r, pw) }

// QGemmMicros returns tile t's microkernels for 1…MR rows on weights
// packed in panels of pw columns (a multiple of t.W: a tile is a slice of
// a panel, its groups 4·pw bytes apart).
func QGemmMicros(t QGemmTile, pw int) []*Func {
	var fns []*Func
	for r := 1; r <= t.MR; r++ {
		fns = append(fns, qgemmMicro(t, r, pw))
	}
	return fns
}

// qrow is the register of row i of A.
func qrow(i int) GP { return R(9 + i) }

func qgemmMicro(t QGemmTile, r, pw int) *Func {
	if r < 1 || r > t.MR || t.MR > 8 || t.W != 8 || pw%t.W != 0 {
		panic(fmt.Sprintf("BUG: arm64: qgemm tile %+v has no %d-row kernel on panels of %d", t, r, pw))
	}
	name := qgemmName(t, r, pw)
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *qgemmArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *qgemmArgs)", name),
		fmt.Sprintf("C[%d×%d] (int32) = A[%d×4·k4] (u8) · B (%d columns of a packed s8 panel of %d): quant.GemmU8S8.", r, t.W, r, t.W, pw),
	}}
	args := R(0)
	fn.MOVD(Arg{Name: "a", Off: 0}, args)
	fn.MOVD(At(args, qOffA), qrow(0))
	fn.MOVD(At(args, qOffB), R(1))
	fn.MOVD(At(args, qOffC), R(2))
	fn.MOVD(At(args, qOffLda), R(3))
	fn.MOVD(At(args, qOffLdc), R(4))
	fn.MOVD(Imm(4*pw), R(8))
	for i := 1; i < r; i++ {
		fn.ADD_3(R(3), qrow(i-1), qrow(i))
	}
	fn.MOVD(Imm(0x80808080), R(6))
	switch t.Tier {
	case "dotprod":
		qgemmDot(fn, r, args)
	case "neon":
		qgemmNEON(fn, r, args)
	default:
		panic("BUG: arm64: no qgemm tier " + t.Tier)
	}
	fn.RET()
	return fn
}

// qgemmDot: accumulators V0–V15 (row i, vector v at 2i+v), A's rows in
// V16–V23, B's group in V24–V25, the correction Σ(−128)·w in V26–V27,
// the 0x80 bytes in V28.
func qgemmDot(fn *Func, r int, args GP) {
	acc := func(i, v int) VReg { return V(2*i + v) }
	aReg := func(i int) VReg { return V(16 + i) }
	bReg := func(v int) VReg { return V(24 + v) }
	neg := func(v int) VReg { return V(26 + v) }
	c := V(28)
	fn.VDUP_R(R(6), c.S4())
	for i := range r {
		for v := range 2 {
			fn.VEOR(acc(i, v).B16(), acc(i, v).B16(), acc(i, v).B16())
		}
	}
	for v := range 2 {
		fn.VEOR(neg(v).B16(), neg(v).B16(), neg(v).B16())
	}
	// step multiplies group s of each row's A register by B's group
	// (loaded, the pointer advanced to the next group).
	step := func(s int) {
		fn.VLD1_P(ByReg(R(1), R(8)), bReg(0).S4s(2))
		for v := range 2 {
			fn.Encode(SDOT, c.B16(), bReg(v).B16(), neg(v).S4())
		}
		for i := range r {
			for v := range 2 {
				fn.Encode(SDOTE, aReg(i).B4(s), bReg(v).B16(), acc(i, v).S4())
			}
		}
	}
	fn.MOVD(At(args, qOffK4), R(5))
	fn.LSR(Imm(2), R(5))
	fn.CBZ(R(5), Label("tail"))
	fn.Align(32)
	fn.Label("loop")
	for i := range r {
		fn.FMOVQ_P(At(qrow(i), 16), aReg(i).F())
		fn.VEOR(c.B16(), aReg(i).B16(), aReg(i).B16()) // x − 128, as s8
	}
	for s := range 4 {
		step(s)
	}
	fn.SUBS(Imm(1), R(5))
	fn.BNE(Label("loop"))
	fn.Label("tail")
	fn.MOVD(At(args, qOffK4), R(5))
	fn.AND(Imm(3), R(5))
	fn.CBZ(R(5), Label("store"))
	fn.Label("step")
	for i := range r {
		fn.FMOVS_P(At(qrow(i), 4), aReg(i).F())
		fn.VEOR(c.B16(), aReg(i).B16(), aReg(i).B16())
	}
	step(0)
	fn.SUBS(Imm(1), R(5))
	fn.BNE(Label("step"))
	fn.Label("store")
	for i := range r {
		for v := range 2 {
			fn.VSUB(neg(v).S4(), acc(i, v).S4(), acc(i, v).S4()) // + 128·Σw
		}
		fn.VST1(List{acc(i, 0).S4(), acc(i, 1).S4()}, At(R(2), 0))
		if i < r-1 {
			fn.ADD(R(4), R(2))
		}
	}
}

// qgemmNEON: accumulators V0–V15 (row i, vector v, half h at 4i+2v+h:
// the pair sums of columns 0–1 and 2–3 of the vector), the correction in
// V16–V19 (vector v, half h at 16+2v+h), B's group in V20–V21, the 0x80
// bytes in V22, A's rows in V23–V26, the products in V27–V30.
func qgemmNEON(fn *Func, r int, args GP) {
	acc := func(i, v, h int) VReg { return V(4*i + 2*v + h) }
	neg := func(v, h int) VReg { return V(16 + 2*v + h) }
	bReg := func(v int) VReg { return V(20 + v) }
	c := V(22)
	aReg := func(i int) VReg { return V(23 + i) }
	prod := func(i, h int) VReg { return V(27 + 2*(i%2) + h) }
	fn.VDUP_R(R(6), c.S4())
	for i := range r {
		for v := range 2 {
			for h := range 2 {
				fn.VEOR(acc(i, v, h).B16(), acc(i, v, h).B16(), acc(i, v, h).B16())
			}
		}
	}
	for v := range 2 {
		for h := range 2 {
			fn.VEOR(neg(v, h).B16(), neg(v, h).B16(), neg(v, h).B16())
		}
	}
	// mul adds a's 4 bytes (in every lane) times B's group to dst.
	mul := func(a VReg, dst func(v, h int) VReg, p int) {
		for v := range 2 {
			fn.Encode(SMULL, bReg(v).B8(), a.B8(), prod(p, 0).H8())
			fn.Encode(SMULL2, bReg(v).B16(), a.B16(), prod(p, 1).H8())
			fn.Encode(SADALP, prod(p, 0).H8(), dst(v, 0).S4())
			fn.Encode(SADALP, prod(p, 1).H8(), dst(v, 1).S4())
		}
	}
	fn.MOVD(At(args, qOffK4), R(5))
	fn.CBZ(R(5), Label("store"))
	fn.Align(32)
	fn.Label("loop")
	fn.VLD1_P(ByReg(R(1), R(8)), bReg(0).S4s(2))
	for i := range r {
		fn.VLD1R_P(At(qrow(i), 4), List{aReg(i).S4()})
		fn.VEOR(c.B16(), aReg(i).B16(), aReg(i).B16()) // x − 128, as s8
	}
	mul(c, neg, 1)
	for i := range r {
		mul(aReg(i), func(v, h int) VReg { return acc(i, v, h) }, i)
	}
	fn.SUBS(Imm(1), R(5))
	fn.BNE(Label("loop"))
	fn.Label("store")
	for i := range r {
		for v := range 2 {
			for h := range 2 {
				fn.VSUB(neg(v, h).S4(), acc(i, v, h).S4(), acc(i, v, h).S4()) // + 128·Σw
			}
			// [c0 c0' c1 c1'], [c2 c2' c3 c3'] → [c0 c1 c2 c3], vector v
			// into V(4i+v) (acc(i, 0, 1) is free once vector 0 is folded)
			// so that the row's two are consecutive for the store.
			fn.VADDP(acc(i, v, 1).S4(), acc(i, v, 0).S4(), V(4*i+v).S4())
		}
		fn.VST1(List{V(4 * i).S4(), V(4*i + 1).S4()}, At(R(2), 0))
		if i < r-1 {
			fn.ADD(R(4), R(2))
		}
	}
}

var tierDotProd = isa.Tier{Name: "dotprod", Check: "rt.Supports(rt.TierDotProd)"}

// QGemm runs on the integer GEMM microkernels: SDOT (8 × 8 tiles) where
// the CPU has the dot product, the exact widened SMULL/SADALP path (4 ×
// 8) on every NEON CPU.
func (Target) QGemm(s isa.QGemmSpec) []isa.Kernel {
	if s.PW%8 != 0 || s.PW <= 0 {
		return nil
	}
	var ks []isa.Kernel
	for _, t := range QGemmTiles {
		tier := tierDotProd
		if t.Tier == "neon" {
			tier = tierNEON
		}
		name := fmt.Sprintf("qgemm_n%d_k%d_pw%d_%s", s.N, s.K, s.PW, tier.Name)
		mk := driver.Micro{Tier: t.Tier, MR: t.MR, W: t.W, Name: func(r int) string { return qgemmName(t, r, s.PW) }}
		src := driver.QGemm(s, name, mk)
		ks = append(ks, isa.Kernel{Family: isa.QGemm, Tier: tier, Name: name, Part: part{src, QGemmMicros(t, s.PW), []string{driver.QGemmArgs}}})
	}
	return ks
}
