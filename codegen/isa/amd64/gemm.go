package amd64

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/runtime/numerics"
)

// x86-64 kernels: assembly microkernels that compute a tile of y from
// rows of x and a panel of the packed weights (the same packed layout as
// the pure-Go kernel, negated, so one copy in weights.bin serves every
// tier), and a Go driver per layer that walks panels and row tiles and
// handles the tails. Only the microkernels are assembly: one call computes
// at most 12 rows × 64 columns over the whole K (≈ 10 µs at K = 4096), so
// it never holds the Go scheduler or the GC off for long.
//
// Microkernel: C[r×W] = A[r×K]·B[K×W] (+ bias), for r = 1…MR rows of x
// (row stride lda bytes) and a W-column slice of one panel (row stride
// PW floats). Each k step loads the NV vectors of B once, broadcasts each
// row's A[i, k] and does r·NV fused multiply-adds into r·NV accumulator
// registers; VFNMADD231PS on the negated weights adds the products. The
// step is unrolled 4 times; the loop is aligned to 64 bytes.
//
// Registers: accumulators 0…r·NV−1, B in the next NV, the broadcast in
// the next one. Rows of A are addressed from SI (rows 0–7) and AX (rows
// 8–11, AX = SI + 8·lda) with index registers R8 = lda, R10 = 3·lda,
// R11 = 5·lda, R12 = 7·lda, so no row needs a pointer of its own.

// tile is the register tile of one x86 tier.
type tile struct {
	Tier  string // "avx512" or "avx2": the runtime.Tier whose CPUs run it
	Lanes int    // floats per vector: 16 or 8
	NV    int    // vectors per row of the tile
	MR    int    // rows of the tile
}

// W returns the tile's width in columns.
func (t tile) W() int { return t.NV * t.Lanes }

// tiles returns the tiles for weights packed in panels of pw columns
// (a multiple of 16): AVX-512 covers a whole panel (32 registers: up to
// 24 accumulators), AVX2 a 16-column slice of it (16 registers: 12
// accumulators, two of B, one broadcast).
func linearTiles(pw int) []tile {
	nv := pw / 16
	mr := map[int]int{1: 12, 2: 12, 3: 8, 4: 6}[nv]
	return []tile{{"avx512", 16, nv, mr}, {"avx2", 8, 2, 6}}
}

// x86Kernel names the microkernel for r rows: it depends on K, the panel
// width and the tile only, so layers that share them share it.
func microName(p gemm.Params, t tile, r int, pos bool, win Window) string {
	s := fmt.Sprintf("sgemm_k%d_pw%d_%s_%dx%d", p.K, p.Panel(), t.Tier, r, t.W())
	if win.KH > 1 {
		s += fmt.Sprintf("_w%dx%d", win.KH, win.Skip)
	}
	if win.LDB > 0 {
		s += fmt.Sprintf("_ldb%d", win.LDB)
	}
	if pos {
		s += "_pos"
	}
	return s
}

// Window makes a microkernel walk a convolution window instead of one run
// of K: KH passes over K floats of A (one row of the window's taps: KW
// pixels × C channels, contiguous in NHWC), A advancing Skip more bytes
// after each pass (to the same pixel one input row down), B continuing
// through the packed weights. The zero Window is a plain GEMM.
type Window struct {
	KH   int
	Skip int // bytes from the end of one pass to the start of the next
	// LDB, when not 0, is B's row stride in floats: B is a row-major
	// matrix read in place (attention's V) rather than packed panels.
	LDB int
}

// emitLinear returns the Go driver func name(m, lo, hi int, y, x, wp, bias,
// resid []float32) for tile t: the isa.Linear contract, with the epilogue
// s.Epi applied by the microkernels before they store (the tail panel's
// columns get it in Go, with numerics.Gelu32 for gelu) — and the assembly
// microkernels it calls, which layers that share K and the panel width
// share.
func emitLinear(s isa.LinearSpec, name string, t tile) (goSrc string, fns []*Func) {
	p := gemm.Params{N: s.N, K: s.K, MR: 1, NR: 8, PW: s.PW, Bias: s.Bias}
	mustValidate(p)
	ep := s.Epi
	pw := p.Panel()
	if pw%16 != 0 || pw/16 != t.NV && t.Tier == "avx512" {
		panic(fmt.Sprintf("amd64: emitLinear: panel width %d does not suit tile %+v", pw, t))
	}
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	bias := ""
	if p.Bias {
		bias = " + bias"
	}
	f("// %s computes panels [lo, hi) (%d columns each) of y[m×%d] = x[m×%d]·Wᵀ%s", name, pw, p.N, p.K, bias)
	f("// with %s kernels (%d×%d tiles), on wp = gemm.Pack(W).", t.Tier, t.MR, t.W())
	if ep.Resid {
		f("// It adds resid, then applies %q.", ep.Act)
	} else if ep.Act != "" {
		f("// It applies %q.", ep.Act)
	}
	f("func %s(m, lo, hi int, y, x, wp, bias, resid []float32) {", name)
	f("const N, K, PW, MR, W = %d, %d, %d, %d, %d", p.N, p.K, pw, t.MR, t.W())
	f("if m <= 0 || lo >= hi {")
	f("return")
	f("}")
	check := "lo < 0 || len(y) < m*N || len(x) < m*K || len(wp) < hi*K*PW"
	if p.Bias {
		check += " || len(bias) < hi*PW"
	}
	if ep.Resid {
		check += " || len(resid) < m*N"
	}
	driverPreamble(f, name, check, "K", ep)
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
	rowTile(f, p, t, ep, false, Window{}, "K", "N", "N")
	f("}")
	f("}")
	f("}")
	f("}")
	f("}")
	return b.String(), micros(p, t, false, Window{})
}

// mustValidate panics if p is not a variant the emitters can generate:
// the callers build p themselves, so an invalid one is a bug.
func mustValidate(p gemm.Params) {
	if err := p.Validate(); err != nil {
		panic("BUG: amd64: " + err.Error())
	}
}

// gemmArgsType is the parameter struct of every x86 microkernel, declared
// once per package by gemmArgsDecl; the assembly reads its fields at the
// offsets below.
const gemmArgsType = "gemmArgs"

// gemmArgsDecl declares gemmArgsType.
const gemmArgsDecl = `// gemmArgs is the parameter block of the GEMM microkernels (offsets are
// fixed in the assembly: a 0, b 8, c 16, bias 24, lda 32, ldc 40, resid 48,
// act 56, consts 64).
type gemmArgs struct {
	a, b, c, bias unsafe.Pointer // rows of x, a panel slice of packed W, the tile of y, bias (nil: none)
	lda, ldc      int            // row strides of x and y, in bytes
	resid         unsafe.Pointer // added after the bias, rows ldc apart (nil: none)
	act           int            // 0 none, 1 relu, 2 gelu (erf form)
	consts        unsafe.Pointer // numerics.ErfVec, for gelu
}
`

const (
	offA, offB, offC, offBias, offLda, offLdc, offResid, offAct, offConsts = 0, 8, 16, 24, 32, 40, 48, 56, 64
)

// actCode is Epilogue.Act as the kernels' act field encodes it.
func actCode(act string) int {
	switch act {
	case "":
		return 0
	case "relu":
		return 1
	case "gelu":
		return 2
	}
	panic("gemm: no assembly epilogue for activation " + act)
}

// X86Acts reports whether the assembly kernels apply act themselves.
func acts(act string) bool { return act == "" || act == "relu" || act == "gelu" }

// x86Micros emits a driver's microkernels: one per row count 1…MR of
// tile t, since the row tail picks its own.
func micros(p gemm.Params, t tile, pos bool, win Window) []*Func {
	fns := make([]*Func, 0, t.MR)
	for r := 1; r <= t.MR; r++ {
		fns = append(fns, micro(p, t, r, pos, win))
	}
	return fns
}

// x86Micro emits the microkernel for r rows of tile t.
func micro(p gemm.Params, t tile, r int, pos bool, win Window) *Func {
	name := microName(p, t, r, pos, win)
	fma, fmaBcst := (*Func).VFNMADD231PS, (*Func).VFNMADD231PS_BCST // c += a·(−w) on weights packed negated
	if pos {
		fma, fmaBcst = (*Func).VFMADD231PS, (*Func).VFMADD231PS_BCST // c += a·b on operands packed at run time as they are
	}
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *%s)", name, gemmArgsType), Doc: []string{
		fmt.Sprintf("func %s(a *gemmArgs)", name),
		fmt.Sprintf("C[%d×%d] = A[%d×%d]·B (+ bias), B a %d-column slice of a %d-wide panel.", r, t.W(), r, p.K, t.W(), p.Panel()),
	}}
	vec, zero := vectorRegs(t.Lanes)
	nv, vb := t.NV, t.Lanes*4 // vectors per row; bytes per vector
	accReg := func(i, v int) Vec { return vec(i*nv + v) }
	bReg := func(v int) Vec { return vec(r*nv + v) }
	bc := vec(r*nv + nv)
	rowStride := p.Panel() * 4
	if win.LDB > 0 {
		rowStride = win.LDB * 4
	}
	// row returns the address of A[i, k] for step offset off bytes.
	row := func(i, off int) Mem {
		base := SI
		if i >= 8 {
			base, i = AX, i-8
		}
		m := At(base, off)
		switch i {
		case 0:
			return m
		case 1:
			return m.Idx(R8, 1)
		case 2:
			return m.Idx(R8, 2)
		case 3:
			return m.Idx(R10, 1)
		case 4:
			return m.Idx(R8, 4)
		case 5:
			return m.Idx(R11, 1)
		case 6:
			return m.Idx(R10, 2)
		}
		return m.Idx(R12, 1)
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
	bcst := t.Lanes == 16 && nv == 1
	steps := func(u int) {
		for s := range u {
			for v := range nv {
				fn.VMOVUPS(At(DI, s*rowStride+v*vb), bReg(v))
			}
			for i := range r {
				if bcst {
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
	if win.KH > 1 {
		// BX counts the window's rows; it holds the bias pointer after.
		fn.MOVQ(Imm(win.KH), BX)
		fn.Label("window")
	}
	if n := p.K / U; n > 0 {
		fn.MOVQ(Imm(n), CX)
		fn.Align(64)
		fn.Label("loop")
		steps(U)
		advance(U)
		fn.DECQ(CX)
		fn.JNZ(Label("loop"))
	}
	if t := p.K % U; t > 0 {
		steps(t)
		if win.KH > 1 {
			advance(t)
		}
	}
	if win.KH > 1 {
		fn.ADDQ(Imm(win.Skip), SI)
		if r > 8 {
			fn.ADDQ(Imm(win.Skip), AX)
		}
		fn.DECQ(BX)
		fn.JNZ(Label("window"))
	}
	fn.MOVQ(At(args, offBias), BX)
	// Epilogue: bias, residual, activation, each when asked for at run
	// time; then the store.
	fn.TESTQ(BX, BX)
	fn.JZ(Label("nobias"))
	for v := range nv {
		fn.VMOVUPS(At(BX, v*vb), bReg(v))
		for i := range r {
			fn.VADDPS(bReg(v), accReg(i, v), accReg(i, v))
		}
	}
	fn.Label("nobias")
	fn.MOVQ(At(args, offResid), CX)
	fn.TESTQ(CX, CX)
	fn.JZ(Label("noresid"))
	for i := range r {
		for v := range nv {
			fn.VADDPS(At(CX, v*vb), accReg(i, v), accReg(i, v))
		}
		if i < r-1 {
			fn.ADDQ(R9, CX)
		}
	}
	fn.Label("noresid")
	fn.MOVQ(At(args, offAct), CX)
	fn.CMPQ(CX, Imm(1))
	fn.JEQ(Label("relu"))
	fn.CMPQ(CX, Imm(2))
	fn.JEQ(Label("gelu"))
	fn.JMP(Label("store"))
	// Free registers after the loop: those past the accumulators.
	free := func(j int) Vec { return vec(r*nv + j) }
	fn.Label("relu")
	zero(fn, free(0), free(0), free(0))
	for i := range r {
		for v := range nv {
			// max(0, x) with x as the second source: a NaN x is returned.
			fn.VMAXPS(accReg(i, v), free(0), accReg(i, v))
		}
	}
	fn.JMP(Label("store"))
	fn.Label("gelu")
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
	fn.Label("store")
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

// EmitX86Strided returns a Go driver for operands that are not a layer's:
// func name(m int, x []float32, lda int, wp []float32, y []float32, ldc int)
// computes y[i, 0:panels·pw] = x[i, 0:k]·W for i < m, rows of x and y at
// strides lda and ldc floats, W packed by PackRows/PackCols into panels
// of pw columns. Every column of every panel is written, so y's rows need
// room for panels·pw floats. Attention uses it for QKᵀ and PV, whose
// right-hand sides it packs per head at run time. It returns the
// microkernels too (see EmitX86).
func emitStrided(k, pw, panels int, name string, t tile) (goSrc string, fns []*Func) {
	return emitStridedImpl(k, pw, panels, 0, name, t)
}

// EmitX86StridedB is EmitX86Strided for a right-hand side read in place:
// W is a row-major k × (panels·pw) matrix with rows ldb floats apart, not
// negated (the kernels add the products).
func emitStridedB(k, pw, panels, ldb int, name string, t tile) (goSrc string, fns []*Func) {
	return emitStridedImpl(k, pw, panels, ldb, name, t)
}

func emitStridedImpl(k, pw, panels, ldb int, name string, t tile) (goSrc string, fns []*Func) {
	p := gemm.Params{N: panels * pw, K: k, MR: 1, NR: 8, PW: pw}
	mustValidate(p)
	win, pos := Window{LDB: ldb}, ldb > 0
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	f("// %s computes y[i, 0:%d] = x[i, 0:%d]·W for i < m with %s kernels (%d×%d tiles);", name, panels*pw, k, t.Tier, t.MR, t.W())
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
	f("a := %s{lda: lda * 4, ldc: ldc * 4}", gemmArgsType)
	f("for q := 0; q < P; q++ {")
	f("for s := 0; s < PW; s += W {")
	f("a.b = unsafe.Pointer(&wp[%s])", panel)
	f("for i := 0; i < m; i += MR {")
	f("a.a, a.c = unsafe.Pointer(&x[i*lda]), unsafe.Pointer(&y[i*ldc+q*PW+s])")
	f("switch min(MR, m-i) {")
	for r := 1; r <= t.MR; r++ {
		f("case %d:", r)
		f("%s(&a)", microName(p, t, r, pos, win))
	}
	f("}")
	f("}")
	f("}")
	f("}")
	f("}")
	return b.String(), micros(p, t, pos, win)
}

// EmitX86Block returns a Go driver for a right-hand side packed at run
// time, in panels as Pack lays them out, negated as Pack does unless pos:
//
//	func name(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32)
//
// computes y[i, 0:ncols] = act(x[i, 0:k]·B[:, 0:ncols] (+ resid[i, 0:ncols]))
// for i < m, rows of x, y and resid lda, ldc and ldc floats apart, B in
// ⌈ncols/pw⌉ panels of pw columns (k·pw floats each; columns past ncols
// are read but not stored: the last panel's tile is stored through a
// buffer). resid is read only with ep.Resid. Convolutions use it, with
// the weights as x and the im2col patches as B, so y comes out in NCHW.
func emitBlock(k, pw int, name string, t tile, ep isa.Epilogue, pos bool) (goSrc string, fns []*Func) {
	p := gemm.Params{N: pw, K: k, MR: 1, NR: 8, PW: pw}
	mustValidate(p)
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	f("// %s computes y[i, 0:ncols] = x[i, 0:%d]·B for i < m with %s kernels (%d×%d tiles),", name, k, t.Tier, t.MR, t.W())
	f("// B packed at run time in panels of %d columns; then the epilogue (resid %v, act %q).", pw, ep.Resid, ep.Act)
	f("func %s(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32) {", name)
	f("const K, PW, MR, W = %d, %d, %d, %d", k, pw, t.MR, t.W())
	f("if m <= 0 || ncols <= 0 {")
	f("return")
	f("}")
	check := "len(x) < (m-1)*lda+K || len(y) < (m-1)*ldc+ncols || len(wp) < (ncols+PW-1)/PW*K*PW"
	if ep.Resid {
		check += " || len(resid) < (m-1)*ldc+ncols"
	}
	driverPreamble(f, name, check, "lda", ep)
	f("for j0 := 0; j0 < ncols; j0 += W {")
	f("a.b = unsafe.Pointer(&wp[j0/PW*K*PW+j0%%PW])")
	f("full := j0+W <= ncols")
	f("for i := 0; i < m; i += MR {")
	f("r := min(MR, m-i)")
	rowTile(f, p, t, ep, pos, Window{}, "lda", "ldc", "ncols")
	f("}")
	f("}")
	f("}")
	return b.String(), micros(p, t, pos, Window{})
}

// rowTile emits the body of a driver's row loop: the call of the
// microkernel for r = min(MR, rows left) rows at row i and column j0 (the
// variables full, tile, a and consts are the driver's), and, for a tile
// that reaches past the last column, the copy of its valid columns from
// the tile buffer with the epilogue applied in Go. lda and ldy are the row
// strides of x and of y and resid; end is the last column of y.
func rowTile(f func(string, ...any), p gemm.Params, t tile, ep isa.Epilogue, pos bool, win Window, lda, ldy, end string) {
	f("a.a = unsafe.Pointer(&x[i*%s])", lda)
	f("if full {")
	f("a.c, a.ldc = unsafe.Pointer(&y[i*%[1]s+j0]), %[1]s*4", ldy)
	if ep.Resid {
		f("a.resid = unsafe.Pointer(&resid[i*%s+j0])", ldy)
	}
	if ep.Act != "" {
		f("a.act = %d", actCode(ep.Act))
	}
	if ep.Act == "gelu" {
		f("a.consts = consts")
	}
	f("} else {")
	f("a.c, a.ldc = unsafe.Pointer(&tile[0]), W*4")
	if ep.Resid || ep.Act != "" {
		f("a.resid, a.act = nil, 0")
	}
	f("}")
	f("switch r {")
	for r := 1; r <= t.MR; r++ {
		f("case %d:", r)
		f("%s(&a)", microName(p, t, r, pos, win))
	}
	f("}")
	f("if !full {")
	f("for rr := range r {")
	f("out := y[(i+rr)*%[1]s+j0 : (i+rr)*%[1]s+%[2]s]", ldy, end)
	if !ep.Resid && ep.Act == "" {
		f("copy(out, tile[rr*W:rr*W+len(out)])")
	} else {
		f("for j, v := range tile[rr*W : rr*W+len(out)] {")
		if ep.Resid {
			f("v += resid[(i+rr)*%s+j0+j]", ldy)
		}
		switch ep.Act {
		case "relu":
			f("v = max(v, 0)")
		case "gelu":
			f("v = numerics.Gelu32(v)")
		}
		f("out[j] = v")
		f("}")
	}
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
// short), the tail tile buffer, the argument block with x's row stride
// lda, and the GELU constants when the epilogue needs them.
func driverPreamble(f func(string, ...any), name, check, lda string, ep isa.Epilogue) {
	f("if %s {", check)
	f("panic(%q)", name+": buffer too short")
	f("}")
	f("var tile [MR * W]float32")
	f("a := %s{lda: %s * 4}", gemmArgsType, lda)
	if ep.Act == "gelu" {
		f("consts := unsafe.Pointer(&numerics.ErfVec[0][0])")
	}
}
