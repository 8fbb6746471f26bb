package amd64

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
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

// gemmArgsDecl declares the parameter block of every GEMM microkernel;
// the assembly reads its fields at the off… offsets.
const gemmArgsDecl = `// gemmArgs is the parameter block of the GEMM microkernels (offsets are
// fixed in the assembly: a 0, b 8, c 16, bias 24, lda 32, ldc 40, resid 48,
// consts 56, k 64, kh 72, skip 80).
type gemmArgs struct {
	a, b, c, bias unsafe.Pointer // rows of x, a panel slice of B, the tile of y, bias
	lda, ldc      int            // row strides of x and of y and resid, in bytes
	resid         unsafe.Pointer // added after the bias
	consts        unsafe.Pointer // numerics.ErfVec, for gelu
	k, kh, skip   int            // k steps per pass, kh passes, skip bytes of x between passes
}
`

const (
	offA, offB, offC, offBias, offLda, offLdc, offResid, offConsts, offK, offKH, offSkip = 0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80
)

// acts reports whether the microkernels apply act themselves.
func acts(act string) bool { return act == "" || act == "relu" || act == "gelu" }

// rowCounts returns the row counts a driver calls microkernels for: for
// m rows known when the package is generated, a full tile and the tail;
// for m = 0 (known only at run time), every count 1…MR.
func rowCounts(t tile, m int) []int {
	var rs []int
	switch {
	case m == 0:
		for r := 1; r <= t.MR; r++ {
			rs = append(rs, r)
		}
	case m < t.MR:
		rs = []int{m}
	default:
		rs = []int{t.MR}
		if m%t.MR != 0 {
			rs = append(rs, m%t.MR)
		}
	}
	return rs
}

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
		fmt.Sprintf("C[%d×%d] = A[%d×k]·B%s, B a %d-column slice of rows %d floats apart%s.", r, t.W(), r, bias, t.W(), m.ldb, epiDoc(m.epi)),
	}}
	vec, zero := vectorRegs(t.Lanes)
	nv, vb := t.NV, t.Lanes*4 // vectors per row; bytes per vector
	accReg := func(i, v int) Vec { return vec(i*nv + v) }
	bReg := func(v int) Vec { return vec(r*nv + v) }
	bc := vec(r*nv + nv)
	rowStride := m.ldb * 4
	// row returns the address of A[i, k] for step offset off bytes.
	row := func(i, off int) Mem {
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
	args := R13
	fn.MOVQ(Arg{Name: "a", Off: 0}, args)
	fn.MOVQ(At(args, offA), SI)
	fn.MOVQ(At(args, offB), DI)
	fn.MOVQ(At(args, offC), DX)
	fn.MOVQ(At(args, offLda), R8)
	fn.MOVQ(At(args, offLdc), R9)
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
	fn.MOVQ(At(args, offKH), BX)
	fn.Label("pass")
	fn.MOVQ(At(args, offK), CX)
	fn.SHRQ(Imm(2), CX)
	fn.JZ(Label("tail"))
	fn.Align(64)
	fn.Label("loop")
	steps(U)
	advance(U)
	fn.DECQ(CX)
	fn.JNZ(Label("loop"))
	fn.Label("tail")
	fn.MOVQ(At(args, offK), CX)
	fn.ANDQ(Imm(U-1), CX)
	fn.JZ(Label("next"))
	fn.Label("step")
	steps(1)
	advance(1)
	fn.DECQ(CX)
	fn.JNZ(Label("step"))
	fn.Label("next")
	fn.ADDQ(At(args, offSkip), SI)
	if r > 8 {
		fn.ADDQ(At(args, offSkip), AX)
	}
	fn.DECQ(BX)
	fn.JNZ(Label("pass"))
	// The epilogue: bias, residual, activation, as the spec says; then
	// the store.
	if m.bias {
		fn.MOVQ(At(args, offBias), BX)
		for v := range nv {
			fn.VMOVUPS(At(BX, v*vb), bReg(v))
			for i := range r {
				fn.VADDPS(bReg(v), accReg(i, v), accReg(i, v))
			}
		}
	}
	if m.epi.Resid {
		fn.MOVQ(At(args, offResid), CX)
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
		fn.MOVQ(At(args, offConsts), CX)
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

// epiDoc describes an epilogue for a doc comment.
func epiDoc(e isa.Epilogue) string {
	s := ""
	if e.Resid {
		s += ", + resid"
	}
	if e.Act != "" {
		s += ", then " + e.Act
	}
	return s
}

// emitLinear returns the isa.Linear kernel name(m, lo, hi int, y, x, wp,
// bias, resid []float32) for tile t, and the microkernels it calls.
func emitLinear(s isa.LinearSpec, name string, t tile) (goSrc string, fns []*Func) {
	p := gemm.Params{N: s.N, K: s.K, MR: 1, NR: 8, PW: s.PW, Bias: s.Bias}
	mustValidate(p)
	pw := p.Panel()
	if pw%16 != 0 || pw/16 != t.NV && t.Tier == "avx512" {
		panic(fmt.Sprintf("BUG: amd64: emitLinear: panel width %d does not suit tile %+v", pw, t))
	}
	ms := microSpec{t: t, ldb: pw, bias: s.Bias, epi: s.Epi}
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	bias := ""
	if p.Bias {
		bias = " + bias"
	}
	f("// %s computes panels [lo, hi) (%d columns each) of y[m×%d] = x[m×%d]·Wᵀ%s%s", name, pw, p.N, p.K, bias, epiDoc(s.Epi))
	f("// with %s microkernels (%d×%d tiles), on wp = gemm.Pack(W).", t.Tier, t.MR, t.W())
	f("func %s(m, lo, hi int, y, x, wp, bias, resid []float32) {", name)
	f("const N, K, PW, MR, W = %d, %d, %d, %d, %d", p.N, p.K, pw, t.MR, t.W())
	f("if m <= 0 || lo >= hi {")
	f("return")
	f("}")
	check := "lo < 0 || len(y) < m*N || len(x) < m*K || len(wp) < hi*K*PW"
	if p.Bias {
		check += " || len(bias) < hi*PW"
	}
	if s.Epi.Resid {
		check += " || len(resid) < m*N"
	}
	driverPreamble(f, name, check, "K", "K, 1, 0", ms)
	// Rows in blocks of MC, whose slice of x (MC·K floats) stays in L2
	// while every panel of the chunk passes it; without the blocking a
	// large batch streams all of x from L3 once per panel.
	mc := gemm.RowBlock(p.K, t.MR)
	f("const MC = %d // rows of x per block: %d KiB", mc, mc*p.K*4>>10)
	f("for i0 := 0; i0 < m; i0 += MC {")
	f("i1 := min(i0+MC, m)")
	f("for q := lo; q < hi; q++ {")
	panelSlice(f, p.Bias, "N")
	f("for i := i0; i < i1; i += MR {")
	f("r := min(MR, i1-i)")
	rows := rowCounts(t, 0)
	rowTile(f, ms, rows, "K", "N", "N")
	f("}")
	f("}")
	f("}")
	f("}")
	f("}")
	return b.String(), micros(ms, rows)
}

// mustValidate panics if p is not a variant the emitters can generate:
// the callers build p themselves, so an invalid one is a bug.
func mustValidate(p gemm.Params) {
	if err := p.Validate(); err != nil {
		panic("BUG: amd64: " + err.Error())
	}
}

// emitStrided returns a Go driver for operands that are not a layer's:
// func name(m int, x []float32, lda int, wp []float32, y []float32, ldc int)
// computes y[i, 0:panels·pw] = x[i, 0:k]·W for i < m (the m given, or any
// when it is 0), rows of x and y at
// strides lda and ldc floats, W packed into panels of pw columns (negated,
// as gemm.Pack does). Every column of every panel is written, so y's
// rows need room for panels·pw floats. Attention uses it for QKᵀ, with
// K packed per head at run time. It returns the microkernels too.
func emitStrided(m, k, pw, panels int, name string, t tile) (goSrc string, fns []*Func) {
	return emitStridedImpl(m, k, pw, panels, 0, name, t)
}

// emitStridedB is emitStrided for a right-hand side read in place: W is a
// row-major k × (panels·pw) matrix with rows ldb floats apart, not
// negated (the kernels add the products). Attention uses it for PV.
func emitStridedB(m, k, pw, panels, ldb int, name string, t tile) (goSrc string, fns []*Func) {
	return emitStridedImpl(m, k, pw, panels, ldb, name, t)
}

// emitStridedImpl emits either; m is the rows the driver is called with
// (0: any), which decides the microkernels it needs.
func emitStridedImpl(m, k, pw, panels, ldb int, name string, t tile) (goSrc string, fns []*Func) {
	mustValidate(gemm.Params{N: panels * pw, K: k, MR: 1, NR: 8, PW: pw})
	ms := microSpec{t: t, ldb: pw}
	if ldb > 0 {
		ms.ldb, ms.pos = ldb, true
	}
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	f("// %s computes y[i, 0:%d] = x[i, 0:%d]·W for i < m with %s microkernels (%d×%d tiles);", name, panels*pw, k, t.Tier, t.MR, t.W())
	f("// rows of x and y are lda and ldc floats apart, W is packed in %d panels of %d columns.", panels, pw)
	f("func %s(m int, x []float32, lda int, wp []float32, y []float32, ldc int) {", name)
	f("const K, PW, P, MR, W = %d, %d, %d, %d, %d", k, pw, panels, t.MR, t.W())
	f("if m <= 0 {")
	f("return")
	f("}")
	wlen, panel := "P*K*PW", "q*K*PW+s"
	if ldb > 0 {
		wlen, panel = fmt.Sprintf("(K-1)*%d+P*PW", ldb), "q*PW+s"
	}
	f("if len(x) < (m-1)*lda+K || len(y) < (m-1)*ldc+P*PW || len(wp) < %s {", wlen)
	f("panic(%q)", name+": buffer too short")
	f("}")
	f("a := gemmArgs{lda: lda * 4, ldc: ldc * 4, k: K, kh: 1}")
	f("for q := 0; q < P; q++ {")
	f("for s := 0; s < PW; s += W {")
	f("a.b = unsafe.Pointer(&wp[%s])", panel)
	f("for i := 0; i < m; i += MR {")
	f("a.a, a.c = unsafe.Pointer(&x[i*lda]), unsafe.Pointer(&y[i*ldc+q*PW+s])")
	rows := rowCounts(t, m)
	callMicro(f, ms, "min(MR, m-i)", rows)
	f("}")
	f("}")
	f("}")
	f("}")
	return b.String(), micros(ms, rows)
}

// emitBlock returns the isa.ConvBlock kernel
//
//	func name(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32)
//
// for tile t: y[i, 0:ncols] = epi(x[i, 0:k]·B[:, 0:ncols]) for i < m, B
// in ⌈ncols/pw⌉ panels of pw columns (k·pw floats each; columns past
// ncols are read but not stored: the last panel's tile is stored through
// a buffer) packed at run time, negated as gemm.Pack does unless pos.
// It returns the microkernels too.
func emitBlock(k, pw int, name string, t tile, ep isa.Epilogue, pos bool) (goSrc string, fns []*Func) {
	mustValidate(gemm.Params{N: pw, K: k, MR: 1, NR: 8, PW: pw})
	ms := microSpec{t: t, ldb: pw, pos: pos, epi: ep}
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	f("// %s computes y[i, 0:ncols] = x[i, 0:%d]·B%s for i < m with %s microkernels (%d×%d tiles),", name, k, epiDoc(ep), t.Tier, t.MR, t.W())
	f("// B packed at run time in panels of %d columns.", pw)
	f("func %s(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32) {", name)
	f("const K, PW, MR, W = %d, %d, %d, %d", k, pw, t.MR, t.W())
	f("if m <= 0 || ncols <= 0 {")
	f("return")
	f("}")
	check := "len(x) < (m-1)*lda+K || len(y) < (m-1)*ldc+ncols || len(wp) < (ncols+PW-1)/PW*K*PW"
	if ep.Resid {
		check += " || len(resid) < (m-1)*ldc+ncols"
	}
	driverPreamble(f, name, check, "lda", "K, 1, 0", ms)
	f("for j0 := 0; j0 < ncols; j0 += W {")
	f("a.b = unsafe.Pointer(&wp[j0/PW*K*PW+j0%%PW])")
	f("full := j0+W <= ncols")
	f("for i := 0; i < m; i += MR {")
	f("r := min(MR, m-i)")
	rows := rowCounts(t, 0)
	rowTile(f, ms, rows, "lda", "ldc", "ncols")
	f("}")
	f("}")
	f("}")
	return b.String(), micros(ms, rows)
}

// callMicro emits the call of the microkernel for r rows (a Go
// expression whose value is one of rows) on the argument block a.
func callMicro(f func(string, ...any), ms microSpec, r string, rows []int) {
	if len(rows) == 1 {
		f("%s(&a)", ms.name(rows[0]))
		return
	}
	f("switch %s {", r)
	for _, i := range rows {
		f("case %d:", i)
		f("%s(&a)", ms.name(i))
	}
	f("}")
}

// rowTile emits the body of a driver's row loop: the call of the
// microkernel for r = min(MR, rows left) rows at row i and column j0 (the
// variables full, tile, rtile and a are the driver's). A tile that
// reaches past the last column is computed into the tile buffer, its
// residual read from a copy of the valid columns, and its valid columns
// copied out: the microkernel applies the whole epilogue either way.
// lda and ldy are the row strides of x and of y and resid; end is the
// last column of y.
func rowTile(f func(string, ...any), ms microSpec, rows []int, lda, ldy, end string) {
	f("a.a = unsafe.Pointer(&x[i*%s])", lda)
	f("if full {")
	f("a.c, a.ldc = unsafe.Pointer(&y[i*%[1]s+j0]), %[1]s*4", ldy)
	if ms.epi.Resid {
		f("a.resid = unsafe.Pointer(&resid[i*%s+j0])", ldy)
	}
	f("} else {")
	f("a.c, a.ldc = unsafe.Pointer(&tile[0]), W*4")
	if ms.epi.Resid {
		f("for rr := range r {")
		f("copy(rtile[rr*W:(rr+1)*W], resid[(i+rr)*%[1]s+j0:(i+rr)*%[1]s+%[2]s])", ldy, end)
		f("}")
		f("a.resid = unsafe.Pointer(&rtile[0])")
	}
	f("}")
	callMicro(f, ms, "r", rows)
	f("if !full {")
	f("for rr := range r {")
	f("copy(y[(i+rr)*%[1]s+j0:(i+rr)*%[1]s+%[2]s], tile[rr*W:])", ldy, end)
	f("}")
	f("}")
}

// panelSlice opens a driver's loop over the W-column slices of panel q of
// n columns: j0, the argument block's weights and bias, and whether the
// slice is whole (full).
func panelSlice(f func(string, ...any), bias bool, n string) {
	f("for s := 0; s < PW && q*PW+s < %s; s += W {", n)
	f("j0 := q*PW + s")
	f("a.b = unsafe.Pointer(&wp[q*K*PW+s])")
	if bias {
		f("a.bias = unsafe.Pointer(&bias[j0])")
	}
	f("full := j0+W <= %s", n)
}

// driverPreamble emits what every driver does before its loops: the
// bounds check (check, a Go condition that is true when a buffer is too
// short), the tail tile buffers, and the argument block with x's row
// stride lda, the pass shape kpass ("k, kh, skip") and the GELU
// constants when the epilogue needs them.
func driverPreamble(f func(string, ...any), name, check, lda, kpass string, ms microSpec) {
	f("if %s {", check)
	f("panic(%q)", name+": buffer too short")
	f("}")
	f("var tile [MR * W]float32")
	if ms.epi.Resid {
		f("var rtile [MR * W]float32")
	}
	f("a := gemmArgs{lda: %s * 4}", lda)
	f("a.k, a.kh, a.skip = %s", kpass)
	if ms.epi.Act == "gelu" {
		f("a.consts = unsafe.Pointer(&numerics.ErfVec[0][0])")
	}
}
