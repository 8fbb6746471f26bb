package amd64

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
	"github.com/modelc/modelc/runtime/numerics"
)

// GEMM kernels: assembly microkernels that compute a tile of y from rows
// of x and a panel of the packed weights (the same packed layout as the
// pure-Go kernel, negated, so one copy in weights.bin serves every tier),
// and a Go driver per layer that walks panels and row tiles and handles
// the tails. Only the microkernels are assembly: one call computes at
// most 12 rows × 64 columns over the whole K (≈ 10 µs at K = 4096), so it
// never holds the Go scheduler or the GC off for long.
//
// Microkernel: C[r×W] = epilogue(A[r×K]·B[K×W] (+ bias)), for r = 1…MR
// rows of x (row stride lda bytes) and a W-column slice of one panel
// (row stride ldb floats). Each k step loads the NV vectors of B once,
// broadcasts each row's A[i, k] and does r·NV fused multiply-adds into
// r·NV accumulator registers; VFNMADD231PS on the negated weights adds
// the products. The step is unrolled 4 times; the loop is aligned to 64
// bytes. A convolution's window is kh passes of k steps, A advancing
// skip more bytes after each (to the same pixel one input row down).
//
// What varies from layer to layer at the same tile — k, kh, skip and the
// strides — comes from the argument block at run time, and what the
// code depends on — the tile, B's row stride (a displacement in every
// load), the sign of B and the epilogue — is fixed when it is generated
// (microSpec). So a microkernel serves every layer of its tile and
// epilogue, and holds only the epilogue its layers need.
//
// Registers: accumulators 0…r·NV−1, B in the next NV, the broadcast in
// the next one. Rows of A are addressed from SI (rows 0–7) and AX (rows
// 8–11, AX = SI + 8·lda) with index registers R8 = lda, R10 = 3·lda,
// R11 = 5·lda, R12 = 7·lda, so no row needs a pointer of its own; CX
// counts k steps and BX the window's passes.

// tile is the register tile of one x86 tier.
type tile struct {
	Tier  string // "avx512" or "avx2": the tier whose CPUs run it
	Lanes int    // floats per vector: 16 or 8
	NV    int    // vectors per row of the tile
	MR    int    // rows of the tile
}

// W returns the tile's width in columns.
func (t tile) W() int { return t.NV * t.Lanes }

// linearTiles returns the tiles for weights packed in panels of pw
// columns (a multiple of 16): AVX-512 covers a whole panel (32 registers:
// up to 24 accumulators), AVX2 a 16-column slice of it (16 registers: 12
// accumulators, two of B, one broadcast).
func linearTiles(pw int) []tile {
	nv := pw / 16
	mr := map[int]int{1: 12, 2: 12, 3: 8, 4: 6}[nv]
	return []tile{{"avx512", 16, nv, mr}, {"avx2", 8, 2, 6}}
}

// microSpec is what a microkernel is specialised to (see the file
// comment): everything else comes from its argument block.
type microSpec struct {
	t    tile
	ldb  int  // B's row stride in floats: the panel width, or a row-major B's
	pos  bool // B holds the operand as it is; else negated, as gemm.Pack stores weights
	bias bool
	epi  isa.Epilogue
}

// name names the microkernel for r rows, e.g. gemm_avx512_12x16_ldb64_b_relu.
func (m microSpec) name(r int) string {
	s := fmt.Sprintf("gemm_%s_%dx%d_ldb%d", m.t.Tier, r, m.t.W(), m.ldb)
	if m.pos {
		s += "_pos"
	}
	return s + bSuffix(m.bias) + m.epi.Suffix()
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
	fma, fmaBcst := (*Func).VFNMADD231PS, (*Func).VFNMADD231PS_BCST // c += a·(−w) on weights packed negated
	if m.pos {
		fma, fmaBcst = (*Func).VFMADD231PS, (*Func).VFMADD231PS_BCST // c += a·b on operands as they are
	}
	bias := ""
	if m.bias {
		bias = " + bias"
	}
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *gemmArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *gemmArgs)", name),
		fmt.Sprintf("C[%d×%d] = A[%d×k]·B%s, B a %d-column slice of rows %d floats apart%s.", r, t.W(), r, bias, t.W(), m.ldb, driver.EpiDoc(m.epi)),
	}}
	vec, zero := vectorRegs(t.Lanes)
	nv, vb := t.NV, t.Lanes*4 // vectors per row; bytes per vector
	accReg := func(i, v int) Vec { return vec(i*nv + v) }
	bReg := func(v int) Vec { return vec(r*nv + v) }
	bc := vec(r*nv + nv)
	rowStride := m.ldb * 4
	row := rowAt
	args := R13
	fn.MOVQ(Arg{Name: "a", Off: 0}, args)
	fn.MOVQ(At(args, driver.OffA), SI)
	fn.MOVQ(At(args, driver.OffB), DI)
	fn.MOVQ(At(args, driver.OffC), DX)
	fn.MOVQ(At(args, driver.OffLda), R8)
	fn.MOVQ(At(args, driver.OffLdc), R9)
	if r > 3 {
		fn.LEAQ(At(R8, 0).Idx(R8, 2), R10)
	}
	if r > 5 {
		fn.LEAQ(At(R8, 0).Idx(R8, 4), R11)
	}
	if r > 7 {
		fn.LEAQ(At(R10, 0).Idx(R8, 4), R12)
	}
	if r > 8 {
		fn.LEAQ(At(SI, 0).Idx(R8, 8), AX)
	}
	for i := range r {
		for v := range nv {
			zero(fn, accReg(i, v), accReg(i, v), accReg(i, v))
		}
	}
	// With one vector a row, AVX-512 multiply-adds take A[i, k] as an
	// embedded broadcast: a separate broadcast costs a shuffle on the
	// vector ports (Zen 4), as much as the multiply-add it feeds.
	embedded := t.Lanes == 16 && nv == 1
	steps := func(u int) {
		for s := range u {
			for v := range nv {
				fn.VMOVUPS(At(DI, s*rowStride+v*vb), bReg(v))
			}
			for i := range r {
				if embedded {
					fmaBcst(fn, row(i, 4*s), bReg(0), accReg(i, 0))
					continue
				}
				fn.VBROADCASTSS(row(i, 4*s), bc)
				for v := range nv {
					fma(fn, bReg(v), bc, accReg(i, v))
				}
			}
		}
	}
	advance := func(u int) {
		fn.ADDQ(Imm(4*u), SI)
		if r > 8 {
			fn.ADDQ(Imm(4*u), AX)
		}
		fn.ADDQ(Imm(u*rowStride), DI)
	}
	const U = 4
	fn.MOVQ(At(args, driver.OffKH), BX)
	fn.Label("pass")
	fn.MOVQ(At(args, driver.OffK), CX)
	fn.SHRQ(Imm(2), CX)
	fn.JZ(Label("tail"))
	fn.Align(64)
	fn.Label("loop")
	steps(U)
	advance(U)
	fn.DECQ(CX)
	fn.JNZ(Label("loop"))
	fn.Label("tail")
	fn.MOVQ(At(args, driver.OffK), CX)
	fn.ANDQ(Imm(U-1), CX)
	fn.JZ(Label("next"))
	fn.Label("step")
	steps(1)
	advance(1)
	fn.DECQ(CX)
	fn.JNZ(Label("step"))
	fn.Label("next")
	fn.ADDQ(At(args, driver.OffSkip), SI)
	if r > 8 {
		fn.ADDQ(At(args, driver.OffSkip), AX)
	}
	fn.DECQ(BX)
	fn.JNZ(Label("pass"))
	// The epilogue: bias, residual, activation, as the spec says; then
	// the store.
	if m.bias {
		fn.MOVQ(At(args, driver.OffBias), BX)
		for v := range nv {
			fn.VMOVUPS(At(BX, v*vb), bReg(v))
			for i := range r {
				fn.VADDPS(bReg(v), accReg(i, v), accReg(i, v))
			}
		}
	}
	if m.epi.Resid {
		fn.MOVQ(At(args, driver.OffResid), CX)
		for i := range r {
			for v := range nv {
				fn.VADDPS(At(CX, v*vb), accReg(i, v), accReg(i, v))
			}
			if i < r-1 {
				fn.ADDQ(R9, CX)
			}
		}
	}
	// Free registers after the loop: those past the accumulators.
	free := func(j int) Vec { return vec(r*nv + j) }
	switch m.epi.Act {
	case "":
	case "relu":
		zero(fn, free(0), free(0), free(0))
		for i := range r {
			for v := range nv {
				// max(0, x) with x as the second source: a NaN x is returned.
				fn.VMAXPS(accReg(i, v), free(0), accReg(i, v))
			}
		}
	case "gelu":
		fn.MOVQ(At(args, driver.OffConsts), CX)
		k := func(idx int) Mem { return At(CX, idx*64) }
		for i := range r {
			for v := range nv {
				x := accReg(i, v)
				h, u, x2, pq := free(0), free(1), free(2), free(3)
				fn.Comment("gelu(x) = h + h·erf(x/√2), h = x/2 (numerics.Gelu32)")
				fn.VMULPS(k(numerics.VecHalf), x, h)
				fn.VMULPS(k(numerics.VecInvSqrt2), x, u)
				fn.VMINPS(k(numerics.VecClampHi), u, u)
				fn.VMAXPS(k(numerics.VecClampLo), u, u)
				fn.VMULPS(u, u, x2)
				fn.VMOVUPS(k(numerics.VecA13), pq)
				for c := 1; c < 7; c++ {
					fn.VFMADD213PS(k(numerics.VecA13+c), x2, pq) // pq = pq·x2 + α
				}
				fn.VMULPS(u, pq, pq) // p = u·α(x²)
				fn.VMOVUPS(k(numerics.VecB8), u)
				for c := 1; c < 5; c++ {
					fn.VFMADD213PS(k(numerics.VecB8+c), x2, u) // q = q·x2 + β
				}
				fn.VDIVPS(u, pq, pq)     // erf = p/q
				fn.VFMADD213PS(h, h, pq) // pq = erf·h + h
				fn.VMOVAPS(pq, x)
			}
		}
	default:
		panic("BUG: amd64: no microkernel epilogue for activation " + m.epi.Act)
	}
	for i := range r {
		for v := range nv {
			fn.VMOVUPS(accReg(i, v), At(DX, v*vb))
		}
		if i < r-1 {
			fn.ADDQ(R9, DX)
		}
	}
	fn.VZEROUPPER()
	fn.RET()
	return fn
}

// rowAt returns the address of row i of A at offset off bytes: rows
// 0–7 from SI, 8–11 from AX = SI + 8·lda, with R8 = lda, R10 = 3·lda,
// R11 = 5·lda, R12 = 7·lda (the file comment's registers).
func rowAt(i, off int) Mem {
	base := SI
	if i >= 8 {
		base, i = AX, i-8
	}
	a := At(base, off)
	switch i {
	case 0:
		return a
	case 1:
		return a.Idx(R8, 1)
	case 2:
		return a.Idx(R8, 2)
	case 3:
		return a.Idx(R10, 1)
	case 4:
		return a.Idx(R8, 4)
	case 5:
		return a.Idx(R11, 1)
	case 6:
		return a.Idx(R10, 2)
	}
	return a.Idx(R12, 1)
}

// driver is m as the drivers see it.
func (m microSpec) driver() driver.Micro {
	return driver.Micro{Tier: m.t.Tier, MR: m.t.MR, W: m.t.W(), Name: m.name, Bias: m.bias, Epi: m.epi}
}

// linearKernel returns the isa.Linear kernel for tile t (driver.Linear)
// and the microkernels it calls.
func linearKernel(s isa.LinearSpec, name string, t tile) (string, []*Func) {
	if s.PW%16 != 0 || s.PW/16 != t.NV && t.Tier == "avx512" {
		panic(fmt.Sprintf("BUG: amd64: panel width %d does not suit tile %+v", s.PW, t))
	}
	ms := microSpec{t: t, ldb: s.PW, bias: s.Bias, epi: s.Epi}
	return driver.Linear(s, name, ms.driver()), micros(ms, driver.RowCounts(t.MR, 0))
}

// blockKernel returns the isa.ConvBlock kernel for tile t (driver.Block)
// and the microkernels it calls.
func blockKernel(s isa.ConvBlockSpec, name string, t tile) (string, []*Func) {
	ms := microSpec{t: t, ldb: s.PW, pos: s.Pos, epi: s.Epi}
	return driver.Block(s.K, s.PW, name, ms.driver()), micros(ms, driver.RowCounts(t.MR, 0))
}

// stridedKernel returns a driver.Strided driver for tile t and the
// microkernels it calls: W packed negated in panels of pw (ldb 0), or
// read in place with rows ldb floats apart.
func stridedKernel(m, k, pw, panels, ldb int, name string, t tile) (string, []*Func) {
	ms := microSpec{t: t, ldb: pw}
	if ldb > 0 {
		ms.ldb, ms.pos = ldb, true
	}
	return driver.Strided(m, k, pw, panels, ldb, name, ms.driver()), micros(ms, driver.RowCounts(t.MR, m))
}
