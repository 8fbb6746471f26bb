package arm64

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
	"github.com/modelc/modelc/runtime/numerics"
)

// GEMM microkernels for NEON, behind the shared drivers
// (codegen/isa/driver, whose Micro states the contract): C[r×16] =
// epi(A[r×k·kh]·B (+ bias)) for r = 1…5 rows of A and a 16-column slice
// of B (four vectors of four floats).
//
// The step is the one every NEON SGEMM uses: a 128-bit load brings four
// consecutive k of a row of A into one register, and each of the four k
// steps then multiplies the four vectors of B's row by one lane of it
// (FMLA by element), so A costs one load per row per four steps. On
// weights packed negated (gemm.Pack) the kernel subtracts (FMLS), on
// operands as they are it adds. k, the window's passes (kh) and the skip
// between them come from the argument block (driver.GemmArgs) at run
// time; the tile, B's row stride, B's sign and the epilogue are fixed
// when the kernel is generated (microSpec).
//
// Registers: accumulators V0–V19 (row i, vector v at 4i+v), A's rows in
// V20–V24, B's row in V28–V31, V25–V27 free for the epilogue. R0 holds
// the argument block, R1 B, R2 C, R3 lda, R4 ldc, R5 the k counter, R6
// the passes left, R7 skip, R8 B's row stride, R9–R13 A's rows.

// tile is the register tile: MR rows of NV vectors of four floats.
type tile struct{ MR, NV int }

// W returns the tile's width in columns.
func (t tile) W() int { return 4 * t.NV }

// neonTile is the tile of every NEON GEMM driver: 5 rows × 16 columns
// (20 accumulators, 5 A registers, 4 of B: 29 of the 32), which divides
// every panel width (16–64).
var neonTile = tile{MR: 5, NV: 4}

// microSpec is what a microkernel is specialised to.
type microSpec struct {
	t    tile
	ldb  int  // B's row stride in floats
	pos  bool // B holds the operand as it is; else negated
	bias bool
	epi  isa.Epilogue
}

// name names the microkernel for r rows, e.g. gemm_neon_5x16_ldb64_b_relu.
func (m microSpec) name(r int) string {
	s := fmt.Sprintf("gemm_neon_%dx%d_ldb%d", r, m.t.W(), m.ldb)
	if m.pos {
		s += "_pos"
	}
	return s + bSuffix(m.bias) + m.epi.Suffix()
}

// driver is m as the drivers see it.
func (m microSpec) driver() driver.Micro {
	return driver.Micro{Tier: "neon", MR: m.t.MR, W: m.t.W(), Name: m.name, Bias: m.bias, Epi: m.epi}
}

// acts reports whether the microkernels apply act themselves.
func acts(act string) bool { return act == "" || act == "relu" || act == "gelu" }

// micros emits a driver's microkernels, one per row count it calls.
func micros(m microSpec, rows []int) []*Func {
	fns := make([]*Func, 0, len(rows))
	for _, r := range rows {
		fns = append(fns, micro(m, r))
	}
	return fns
}

// micro emits the microkernel of m for r rows.
func micro(m microSpec, r int) *Func {
	t := m.t
	name := m.name(r)
	bias := ""
	if m.bias {
		bias = " + bias"
	}
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *gemmArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *gemmArgs)", name),
		fmt.Sprintf("C[%d×%d] = A[%d×k]·B%s, B a %d-column slice of rows %d floats apart%s.", r, t.W(), r, bias, t.W(), m.ldb, driver.EpiDoc(m.epi)),
	}}
	nv := t.NV
	acc := func(i, v int) VReg { return V(4*i + v) }
	aReg := func(i int) VReg { return V(20 + i) }
	bReg := func(v int) VReg { return V(28 + v) }
	row := func(i int) GP { return R(9 + i) }
	fma := FMLSE // c += a·(−w) on weights packed negated
	if m.pos {
		fma = FMLAE
	}
	args := R(0)
	fn.MOVD(Arg{Name: "a", Off: 0}, args)
	fn.MOVD(At(args, driver.OffA), row(0))
	fn.MOVD(At(args, driver.OffB), R(1))
	fn.MOVD(At(args, driver.OffC), R(2))
	fn.MOVD(At(args, driver.OffLda), R(3))
	fn.MOVD(At(args, driver.OffLdc), R(4))
	fn.MOVD(At(args, driver.OffKH), R(6))
	fn.MOVD(At(args, driver.OffSkip), R(7))
	fn.MOVD(Imm(m.ldb*4), R(8))
	for i := 1; i < r; i++ {
		fn.ADD_3(R(3), row(i-1), row(i))
	}
	for i := range r {
		for v := range nv {
			a := acc(i, v)
			fn.VEOR(a.B16(), a.B16(), a.B16())
		}
	}
	// step multiplies B's row (loaded, the pointer advanced) by lane s of
	// each row's A register.
	step := func(s int) {
		fn.VLD1_P(ByReg(R(1), R(8)), bReg(0).S4s(nv))
		for i := range r {
			for v := range nv {
				fn.Encode(fma, aReg(i).S(s), bReg(v).S4(), acc(i, v).S4())
			}
		}
	}
	fn.Label("pass")
	fn.MOVD(At(args, driver.OffK), R(5))
	fn.LSR(Imm(2), R(5))
	fn.CBZ(R(5), Label("tail"))
	fn.Align(32)
	fn.Label("loop")
	for i := range r {
		fn.FMOVQ_P(At(row(i), 16), aReg(i).F())
	}
	for s := range 4 {
		step(s)
	}
	fn.SUBS(Imm(1), R(5))
	fn.BNE(Label("loop"))
	fn.Label("tail")
	fn.MOVD(At(args, driver.OffK), R(5))
	fn.AND(Imm(3), R(5))
	fn.CBZ(R(5), Label("next"))
	fn.Label("step")
	for i := range r {
		fn.FMOVS_P(At(row(i), 4), aReg(i).F())
	}
	step(0)
	fn.SUBS(Imm(1), R(5))
	fn.BNE(Label("step"))
	fn.Label("next")
	for i := range r {
		fn.ADD(R(7), row(i))
	}
	fn.SUBS(Imm(1), R(6))
	fn.BNE(Label("pass"))
	// The epilogue, as the spec says; then the store.
	if m.bias {
		fn.MOVD(At(args, driver.OffBias), R(14))
		fn.VLD1(At(R(14), 0), bReg(0).S4s(nv))
		for i := range r {
			for v := range nv {
				fn.Encode(FADD, bReg(v).S4(), acc(i, v).S4(), acc(i, v).S4())
			}
		}
	}
	if m.epi.Resid {
		fn.MOVD(At(args, driver.OffResid), R(14))
		for i := range r {
			fn.VLD1(At(R(14), 0), bReg(0).S4s(nv))
			for v := range nv {
				fn.Encode(FADD, bReg(v).S4(), acc(i, v).S4(), acc(i, v).S4())
			}
			if i < r-1 {
				fn.ADD(R(4), R(14))
			}
		}
	}
	switch m.epi.Act {
	case "":
	case "relu":
		zero := V(25)
		fn.VEOR(zero.B16(), zero.B16(), zero.B16())
		for i := range r {
			for v := range nv {
				// FMAX returns NaN when either is: max(NaN, 0) is NaN, as in Go.
				fn.Encode(FMAX, zero.S4(), acc(i, v).S4(), acc(i, v).S4())
			}
		}
	case "gelu":
		fn.MOVD(At(args, driver.OffConsts), R(14))
		for i := range r {
			for v := range nv {
				gelu(fn, acc(i, v), R(14))
			}
		}
	default:
		panic("BUG: arm64: no microkernel epilogue for activation " + m.epi.Act)
	}
	for i := range r {
		fn.VST1(acc(i, 0).S4s(nv), At(R(2), 0))
		if i < r-1 {
			fn.ADD(R(4), R(2))
		}
	}
	fn.RET()
	return fn
}

// gelu replaces x by numerics.Gelu32's formula of it, h + h·erf(x/√2)
// with h = x/2 and erf a ratio of polynomials, the constants read from
// numerics.ErfVec at consts (each a row of 16 floats; the first four are
// loaded). It uses V25–V31.
func gelu(fn *Func, x VReg, consts GP) {
	k := func(idx int, dst VReg) { fn.FMOVQ(At(consts, idx*64), dst.F()) }
	h, u, x2, pq, c := V(28), V(29), V(30), V(31), V(25)
	fn.Comment("gelu(x) = h + h·erf(x/√2), h = x/2 (numerics.Gelu32)")
	k(numerics.VecHalf, c)
	fn.Encode(FMUL, c.S4(), x.S4(), h.S4())
	k(numerics.VecInvSqrt2, c)
	fn.Encode(FMUL, c.S4(), x.S4(), u.S4())
	k(numerics.VecClampHi, c)
	fn.Encode(FMIN, c.S4(), u.S4(), u.S4())
	k(numerics.VecClampLo, c)
	fn.Encode(FMAX, c.S4(), u.S4(), u.S4())
	fn.Encode(FMUL, u.S4(), u.S4(), x2.S4())
	k(numerics.VecA13, pq)
	for i := 1; i < 7; i++ {
		k(numerics.VecA13+i, c) // c = α + pq·x²
		fn.VFMLA(x2.S4(), pq.S4(), c.S4())
		fn.VMOV(c.B16(), pq.B16())
	}
	fn.Encode(FMUL, u.S4(), pq.S4(), pq.S4()) // p = u·α(x²)
	k(numerics.VecB8, u)
	for i := 1; i < 5; i++ {
		k(numerics.VecB8+i, c) // c = β + u·x²
		fn.VFMLA(x2.S4(), u.S4(), c.S4())
		fn.VMOV(c.B16(), u.B16())
	}
	fn.Encode(FDIV, u.S4(), pq.S4(), pq.S4()) // erf = p/q
	fn.VMOV(h.B16(), x.B16())
	fn.VFMLA(pq.S4(), h.S4(), x.S4()) // x = h + erf·h
}

func bSuffix(bias bool) string {
	if bias {
		return "_b"
	}
	return ""
}

// linearKernel returns the isa.Linear kernel (driver.Linear) and the
// microkernels it calls.
func linearKernel(s isa.LinearSpec, name string, t tile) (string, []*Func) {
	ms := microSpec{t: t, ldb: s.PW, bias: s.Bias, epi: s.Epi}
	return driver.Linear(s, name, ms.driver()), micros(ms, driver.RowCounts(t.MR, 0))
}

// blockKernel returns the isa.ConvBlock kernel (driver.Block) and the
// microkernels it calls.
func blockKernel(s isa.ConvBlockSpec, name string) (string, []*Func) {
	ms := microSpec{t: neonTile, ldb: s.PW, pos: s.Pos, epi: s.Epi}
	return driver.Block(s.K, s.PW, name, ms.driver()), micros(ms, driver.RowCounts(neonTile.MR, 0))
}

// stridedKernel returns a driver.Strided driver and the microkernels it
// calls: W packed negated in panels of pw (ldb 0), or read in place with
// rows ldb floats apart.
func stridedKernel(m, k, pw, panels, ldb int, name string) (string, []*Func) {
	ms := microSpec{t: neonTile, ldb: pw}
	if ldb > 0 {
		ms.ldb, ms.pos = ldb, true
	}
	return driver.Strided(m, k, pw, panels, ldb, name, ms.driver()), micros(ms, driver.RowCounts(neonTile.MR, m))
}
