package ptx

import (
	"fmt"
	"strings"
)

// GemmSpec is the GEMM family: y[M, N] = act(A·Bᵀ + bias + residual),
// B (the weights) [N, K] row-major as a linear layer holds them, y and
// the residual [M, N] row-major, the bias [N]. M is affine in the batch
// and given at run time; N and K are fixed. A is x[M, K] row-major, or,
// with Conv, the implicit im2col of an NHWC image: row m = (b, oh, ow),
// column k = (kh, kw, c), B then the weights in [O][KH][KW][C] order.
type GemmSpec struct {
	M        Rows
	N, K     int
	Bias     bool
	Residual bool
	Act      string
	Conv     *ConvGeom
	Tile     Tile
}

// ConvGeom is a convolution's geometry for the implicit-GEMM loader:
// input [·, H, W, C] (NHWC), output OH×OW, window KH×KW, strides,
// top/left padding and dilations.
type ConvGeom struct {
	H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW int
}

// Tile is a GEMM variant: a block computes a BM×BN tile of y, stepping
// through K by BK with both operands staged in shared memory (Stages
// buffers: 2 overlaps the next tile's global loads with this one's
// FMAs); each thread holds a TM×TN tile of accumulators. Threads per
// block: (BM/TM)·(BN/TN).
type Tile struct {
	BM, BN, BK, TM, TN, Stages int
}

func (t Tile) String() string {
	return fmt.Sprintf("%dx%dx%d_t%dx%d_s%d", t.BM, t.BN, t.BK, t.TM, t.TN, t.Stages)
}

// Threads is the block size.
func (t Tile) Threads() int { return (t.BM / t.TM) * (t.BN / t.TN) }

// SharedBytes is the tile's static shared memory.
func (t Tile) SharedBytes() int {
	return t.Stages * t.BK * ((t.BM+4)*4 + (t.BN+4)*4)
}

// Check reports whether the tile is one the generator can emit.
func (t Tile) Check() error {
	th := t.Threads()
	switch {
	case t.BM <= 0 || t.BN <= 0 || t.BK <= 0 || t.TM <= 0 || t.TN <= 0:
		return fmt.Errorf("tile %s: sizes must be positive", t)
	case t.BM%t.TM != 0 || t.BN%t.TN != 0:
		return fmt.Errorf("tile %s: the thread tile must divide the block tile", t)
	case t.TM%4 != 0 || t.TN%4 != 0:
		return fmt.Errorf("tile %s: thread tiles are read from shared memory 4 floats at a time", t)
	case th%32 != 0 || th > 1024:
		return fmt.Errorf("tile %s: %d threads is not a whole number of warps up to 1024", t, th)
	case th%t.BK != 0 || (t.BM*t.BK)%th != 0 || (t.BN*t.BK)%th != 0:
		return fmt.Errorf("tile %s: the %d threads must split the BM×BK and BN×BK loads evenly", t, th)
	case t.Stages != 1 && t.Stages != 2:
		return fmt.Errorf("tile %s: stages must be 1 or 2", t)
	case t.SharedBytes() > 48<<10:
		return fmt.Errorf("tile %s: %d bytes of shared memory exceed 48 KiB", t, t.SharedBytes())
	}
	return nil
}

// GemmName is the kernel's name: everything its code depends on.
func GemmName(s GemmSpec) string {
	var b strings.Builder
	if s.Conv != nil {
		g := s.Conv
		fmt.Fprintf(&b, "conv_h%dw%dc%d_k%dx%d_s%dx%d_p%dx%d_d%dx%d_o%d", g.H, g.W, g.C, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, s.N)
	} else {
		fmt.Fprintf(&b, "gemm_n%d_k%d", s.N, s.K)
	}
	fmt.Fprintf(&b, "_%s", s.Tile)
	if s.Bias {
		b.WriteString("_bias")
	}
	if s.Residual {
		b.WriteString("_res")
	}
	if s.Act != "" {
		b.WriteString("_" + s.Act)
	}
	return b.String()
}

// Gemm generates the kernel. Parameters: y, x, w, then bias and residual
// when present, then M. Grid: ⌈M/BM⌉ × ⌈N/BN⌉ blocks.
func Gemm(s GemmSpec) (*Kernel, Launch, error) {
	t := s.Tile
	if err := t.Check(); err != nil {
		return nil, Launch{}, err
	}
	if !Activations[s.Act] {
		return nil, Launch{}, fmt.Errorf("activation %q has no PTX generator", s.Act)
	}
	if s.N <= 0 || s.K <= 0 {
		return nil, Launch{}, fmt.Errorf("BUG: ptx: GEMM of N %d, K %d", s.N, s.K)
	}
	if s.Conv != nil && s.Conv.KH*s.Conv.KW*s.Conv.C != s.K {
		return nil, Launch{}, fmt.Errorf("BUG: ptx: convolution K %d is not KH·KW·C", s.K)
	}
	name := GemmName(s)
	g := &gemm{GemmSpec: s, k: NewKernel(name, t.Threads())}
	g.k.MinBlocks = 1 // a register budget ptxas's default would spill within
	l := Launch{Kernel: name, Block: t.Threads(),
		Grid: [3]GridDim{{s.M.A, s.M.B, t.BM}, {0, s.N, t.BN}, {0, 1, 1}},
		Args: []Arg{{Ptr: "y"}, {Ptr: "x"}, {Ptr: "w"}}}
	if s.Bias {
		l.Args = append(l.Args, Arg{Ptr: "bias"})
	}
	if s.Residual {
		l.Args = append(l.Args, Arg{Ptr: "res"})
	}
	l.Args = append(l.Args, s.M.arg())
	g.emit()
	return g.k, l, nil
}

// gemm holds the registers the kernel's parts share.
type gemm struct {
	GemmSpec
	k                 *Kernel
	y, x, w, bias, rs Reg // global pointers
	m                 Reg // M
	tid, tx, ty       Reg
	bm0, bn0          Reg // the block's first row and column
	col               Reg // this thread's k column in the loads, tid % BK
	// per load slot: row pointers (dense A, B) and validity
	aPtr, bPtr    []Reg
	aOK, bOK      []Reg // predicates: the slot's row exists
	aVal, bVal    []Reg // staged values
	aSt, bSt      []Reg // the slot's shared offset within a stage, bytes
	sA, sB        Reg   // shared arrays' addresses
	kNext         Reg   // the k of the next tile's first column (conv, K tail)
	ih0, iw0      []Reg // conv: the slot's window origin
	img           []Reg // conv: the slot's image base pointer
	acc           [][]Reg
	fa, fb        []Reg // fragments read from shared memory
	strideA, strB int   // shared row strides, bytes
}

func (g *gemm) emit() {
	k, t := g.k, g.Tile
	th := t.Threads()
	g.y, g.x, g.w = k.ptrParam("y"), k.ptrParam("x"), k.ptrParam("w")
	if g.Bias {
		g.bias = k.ptrParam("bias")
	}
	if g.Residual {
		g.rs = k.ptrParam("res")
	}
	g.m = k.u32Param("m")
	g.tid = k.special("%tid.x")
	g.tx, g.ty = k.Reg(B32), k.Reg(B32)
	k.Op("rem.u32", g.tx, g.tid, Imm(t.BN/t.TN))
	k.Op("div.u32", g.ty, g.tid, Imm(t.BN/t.TN))
	g.bm0, g.bn0 = k.Reg(B32), k.Reg(B32)
	k.Op("mov.u32", g.bm0, Sym("%ctaid.x"))
	k.Op("mul.lo.s32", g.bm0, g.bm0, Imm(t.BM))
	k.Op("mov.u32", g.bn0, Sym("%ctaid.y"))
	k.Op("mul.lo.s32", g.bn0, g.bn0, Imm(t.BN))
	g.col = k.Reg(B32)
	k.Op("rem.u32", g.col, g.tid, Imm(t.BK))
	g.strideA, g.strB = (t.BM+4)*4, (t.BN+4)*4
	g.sA = k.Shared("sA", t.Stages*t.BK*g.strideA)
	g.sB = k.Shared("sB", t.Stages*t.BK*g.strB)
	g.kNext = k.Reg(B32)
	k.Op("mov.u32", g.kNext, g.col)

	// Load slots: thread tid loads rows tid/BK + i·(th/BK), column tid%BK.
	row0 := k.Reg(B32)
	k.Op("div.u32", row0, g.tid, Imm(t.BK))
	g.slots(t.BM*t.BK/th, row0, th/t.BK, true)
	g.slots(t.BN*t.BK/th, row0, th/t.BK, false)

	g.acc = make([][]Reg, t.TM)
	for i := range g.acc {
		g.acc[i] = k.Regs(F32, t.TN)
		for _, r := range g.acc[i] {
			k.Op("mov.f32", r, FImm(0))
		}
	}
	g.fa, g.fb = k.Regs(F32, t.TM), k.Regs(F32, t.TN)

	tiles := (g.K + t.BK - 1) / t.BK
	kt := k.Reg(B32)
	stage := k.Reg(B32) // byte offset of the stage being computed, in both arrays' units
	k.Op("mov.u32", stage, Imm(0))
	top := k.NewLabel()
	if t.Stages == 1 {
		k.Op("mov.u32", kt, Imm(0))
		k.Place(top)
		g.loadGlobal()
		g.storeShared(Imm(0))
		k.Op("bar.sync", Imm(0))
		g.compute(Imm(0))
		k.Op("bar.sync", Imm(0))
	} else {
		g.loadGlobal()
		g.storeShared(Imm(0))
		k.Op("bar.sync", Imm(0))
		k.Op("mov.u32", kt, Imm(0))
		k.Place(top)
		more, skip1, skip2 := k.Reg(Pred), k.NewLabel(), k.NewLabel()
		k.Op("setp.lt.s32", more, kt, Imm(tiles-1))
		k.If(more, true, "bra", skip1)
		g.loadGlobal()
		k.Place(skip1)
		g.compute(stage)
		k.If(more, true, "bra", skip2)
		next := k.Reg(B32)
		k.Op("xor.b32", next, stage, Imm(1))
		g.storeShared(next)
		k.Place(skip2)
		k.Op("bar.sync", Imm(0))
		k.Op("xor.b32", stage, stage, Imm(1))
	}
	p := k.Reg(Pred)
	k.Op("add.s32", kt, kt, Imm(1))
	k.Op("setp.lt.s32", p, kt, Imm(tiles))
	k.If(p, false, "bra", top)
	g.epilogue()
}

// slots sets up one operand's load slots: n rows per thread, the first
// row0, then every step rows.
func (g *gemm) slots(n int, row0 Reg, step int, isA bool) {
	k, t := g.k, g.Tile
	base, limit := g.bn0, Reg{}
	if isA {
		base = g.bm0
	}
	for i := range n {
		r := k.Reg(B32) // the row within the tile
		k.Op("add.s32", r, row0, Imm(i*step))
		gr := k.Reg(B32) // the global row
		k.Op("add.s32", gr, base, r)
		ok := k.Reg(Pred)
		if isA {
			limit = g.m
			k.Op("setp.lt.u32", ok, gr, limit)
		} else {
			k.Op("setp.lt.u32", ok, gr, Imm(g.N))
		}
		st := k.Reg(B32) // shared offset: [col][row]
		stride := g.strB
		if isA {
			stride = g.strideA
		}
		k.Op("mad.lo.s32", st, g.col, Imm(stride), k.constMul(r, 4))
		val := k.Reg(F32)
		if isA && g.Conv != nil {
			g.convSlot(gr, ok)
			g.aOK, g.aSt, g.aVal = append(g.aOK, ok), append(g.aSt, st), append(g.aVal, val)
			continue
		}
		// Dense rows: the pointer to row gr, column col, advanced by BK
		// floats per tile.
		src := g.w
		if isA {
			src = g.x
		}
		ptr, off := k.Reg(B64), k.Reg(B64)
		k.Op("mul.wide.u32", off, gr, Imm(4*g.K))
		k.Op("add.s64", ptr, src, off)
		k.Op("mul.wide.u32", off, g.col, Imm(4))
		k.Op("add.s64", ptr, ptr, off)
		if isA {
			g.aPtr, g.aOK, g.aSt, g.aVal = append(g.aPtr, ptr), append(g.aOK, ok), append(g.aSt, st), append(g.aVal, val)
		} else {
			g.bPtr, g.bOK, g.bSt, g.bVal = append(g.bPtr, ptr), append(g.bOK, ok), append(g.bSt, st), append(g.bVal, val)
		}
	}
	_ = t
}

// constMul returns r·c in a fresh register.
func (k *Kernel) constMul(r Reg, c int) Reg {
	d := k.Reg(B32)
	k.Op("mul.lo.s32", d, r, Imm(c))
	return d
}

// convSlot decomposes the slot's output pixel m = (b, oh, ow) once: its
// window's origin and its image's base pointer.
func (g *gemm) convSlot(m Reg, ok Reg) {
	k, c := g.k, g.Conv
	b, rem, oh, ow := k.Reg(B32), k.Reg(B32), k.Reg(B32), k.Reg(B32)
	k.Op("div.u32", b, m, Imm(c.OH*c.OW))
	k.Op("rem.u32", rem, m, Imm(c.OH*c.OW))
	k.Op("div.u32", oh, rem, Imm(c.OW))
	k.Op("rem.u32", ow, rem, Imm(c.OW))
	ih0, iw0 := k.Reg(B32), k.Reg(B32)
	k.Op("mad.lo.s32", ih0, oh, Imm(c.SH), Imm(-c.PT))
	k.Op("mad.lo.s32", iw0, ow, Imm(c.SW), Imm(-c.PL))
	img, off := k.Reg(B64), k.Reg(B64)
	k.Op("mul.wide.u32", off, b, Imm(4*c.H*c.W*c.C))
	k.Op("add.s64", img, g.x, off)
	g.ih0, g.iw0, g.img = append(g.ih0, ih0), append(g.iw0, iw0), append(g.img, img)
}

// loadGlobal loads the next tile's slots into registers (zero where a
// row or column is out of range, or a window reads padding) and
// advances the pointers.
func (g *gemm) loadGlobal() {
	k, t := g.k, g.Tile
	kOK := Reg{}
	if g.K%t.BK != 0 || g.Conv != nil {
		kOK = k.Reg(Pred)
		k.Op("setp.lt.s32", kOK, g.kNext, Imm(g.K))
	}
	load := func(ptr, ok, val Reg) {
		p := ok
		if kOK != (Reg{}) {
			p = k.Reg(Pred)
			k.Op("and.pred", p, ok, kOK)
		}
		k.Op("mov.f32", val, FImm(0))
		k.If(p, false, "ld.global.nc.f32", val, Addr{ptr, 0})
	}
	if g.Conv != nil {
		c := g.Conv
		kh, r, kw, ci := k.Reg(B32), k.Reg(B32), k.Reg(B32), k.Reg(B32)
		k.Op("div.u32", kh, g.kNext, Imm(c.KW*c.C))
		k.Op("rem.u32", r, g.kNext, Imm(c.KW*c.C))
		k.Op("div.u32", kw, r, Imm(c.C))
		k.Op("rem.u32", ci, r, Imm(c.C))
		dh, dw := k.constMul(kh, c.DH), k.constMul(kw, c.DW)
		for i := range g.aVal {
			ih, iw, p, q := k.Reg(B32), k.Reg(B32), k.Reg(Pred), k.Reg(Pred)
			k.Op("add.s32", ih, g.ih0[i], dh)
			k.Op("add.s32", iw, g.iw0[i], dw)
			// Unsigned compares also reject negative coordinates.
			k.Op("setp.lt.u32", p, ih, Imm(c.H))
			k.Op("setp.lt.u32", q, iw, Imm(c.W))
			k.Op("and.pred", p, p, q)
			k.Op("and.pred", p, p, g.aOK[i])
			pix, ptr, off := k.Reg(B32), k.Reg(B64), k.Reg(B64)
			k.Op("mad.lo.s32", pix, ih, Imm(c.W), iw)
			k.Op("mad.lo.s32", pix, pix, Imm(c.C), ci)
			k.Op("mul.wide.u32", off, pix, Imm(4))
			k.Op("add.s64", ptr, g.img[i], off)
			load(ptr, p, g.aVal[i])
		}
	} else {
		for i := range g.aVal {
			load(g.aPtr[i], g.aOK[i], g.aVal[i])
			k.Op("add.s64", g.aPtr[i], g.aPtr[i], Imm(4*t.BK))
		}
	}
	for i := range g.bVal {
		load(g.bPtr[i], g.bOK[i], g.bVal[i])
		k.Op("add.s64", g.bPtr[i], g.bPtr[i], Imm(4*t.BK))
	}
	k.Op("add.s32", g.kNext, g.kNext, Imm(t.BK))
}

// stageOffset returns the byte offset of stage s (a register or Imm 0)
// in an array of rows of stride bytes.
func (g *gemm) stageOffset(s any, stride int) any {
	if imm, ok := s.(Imm); ok {
		return Imm(int(imm) * g.Tile.BK * stride)
	}
	r := g.k.Reg(B32)
	g.k.Op("mul.lo.s32", r, s, Imm(g.Tile.BK*stride))
	return r
}

// storeShared writes the staged values into stage s.
func (g *gemm) storeShared(s any) {
	k := g.k
	for _, side := range []struct {
		arr    Reg
		stride int
		st     []Reg
		val    []Reg
	}{{g.sA, g.strideA, g.aSt, g.aVal}, {g.sB, g.strB, g.bSt, g.bVal}} {
		base := k.Reg(B32)
		k.Op("add.s32", base, side.arr, g.stageOffset(s, side.stride))
		for i, v := range side.val {
			a := k.Reg(B32)
			k.Op("add.s32", a, base, side.st[i])
			k.Op("st.shared.f32", Addr{a, 0}, v)
		}
	}
}

// compute accumulates one tile of stage s: for each of its BK columns,
// TM values of A and TN of B from shared memory, TM·TN FMAs.
func (g *gemm) compute(s any) {
	k, t := g.k, g.Tile
	a, b := k.Reg(B32), k.Reg(B32)
	k.Op("add.s32", a, g.sA, g.stageOffset(s, g.strideA))
	k.Op("mad.lo.s32", a, g.ty, Imm(4*t.TM), a)
	k.Op("add.s32", b, g.sB, g.stageOffset(s, g.strB))
	k.Op("mad.lo.s32", b, g.tx, Imm(4*t.TN), b)
	for kk := range t.BK {
		for q := 0; q < t.TM; q += 4 {
			k.Op("ld.shared.v4.f32", Vec(g.fa[q:q+4]), Addr{a, kk*g.strideA + 4*q})
		}
		for q := 0; q < t.TN; q += 4 {
			k.Op("ld.shared.v4.f32", Vec(g.fb[q:q+4]), Addr{b, kk*g.strB + 4*q})
		}
		for i := range t.TM {
			for j := range t.TN {
				k.Op("fma.rn.f32", g.acc[i][j], g.fa[i], g.fb[j], g.acc[i][j])
			}
		}
	}
}

// epilogue adds the bias and residual, applies the activation and stores
// the thread's tile, 4 columns at a time where N allows.
func (g *gemm) epilogue() {
	k, t := g.k, g.Tile
	vec := 1
	if g.N%4 == 0 {
		vec = 4
	}
	done := k.NewLabel()
	col0 := k.Reg(B32)
	k.Op("mad.lo.s32", col0, g.tx, Imm(t.TN), g.bn0)
	colOK := make([]Reg, t.TN/vec)
	bias := make([]Reg, t.TN)
	for q := range colOK {
		colOK[q] = k.Reg(Pred)
		c := k.Reg(B32)
		k.Op("add.s32", c, col0, Imm(q*vec))
		k.Op("setp.lt.u32", colOK[q], c, Imm(g.N))
		if g.Bias {
			vs := k.Regs(F32, vec)
			copy(bias[q*vec:], vs)
			for _, v := range vs {
				k.Op("mov.f32", v, FImm(0))
			}
			op, dst := "ld.global.nc.f32", any(vs[0])
			if vec == 4 {
				op, dst = "ld.global.nc.v4.f32", Vec(vs)
			}
			k.If(colOK[q], false, op, dst, Addr{k.elemAddr(g.bias, c, 4), 0})
		}
	}
	row0 := k.Reg(B32)
	k.Op("mad.lo.s32", row0, g.ty, Imm(t.TM), g.bm0)
	for i := range t.TM {
		row, p := k.Reg(B32), k.Reg(Pred)
		k.Op("add.s32", row, row0, Imm(i))
		k.Op("setp.ge.u32", p, row, g.m)
		k.If(p, false, "bra", done) // rows only grow with i
		idx := k.Reg(B32)
		k.Op("mad.lo.s32", idx, row, Imm(g.N), col0)
		yp := k.elemAddr(g.y, idx, 4)
		var rp Reg
		if g.Residual {
			rp = k.elemAddr(g.rs, idx, 4)
		}
		for q := range colOK {
			skip := k.NewLabel()
			k.If(colOK[q], true, "bra", skip)
			vs := g.acc[i][q*vec : (q+1)*vec]
			if g.Bias {
				for j, v := range vs {
					k.Op("add.f32", v, v, bias[q*vec+j])
				}
			}
			if g.Residual {
				r := k.Regs(F32, vec)
				if vec == 4 {
					k.Op("ld.global.nc.v4.f32", Vec(r), Addr{rp, 4 * q * vec})
				} else {
					k.Op("ld.global.nc.f32", r[0], Addr{rp, 4 * q})
				}
				for j, v := range vs {
					k.Op("add.f32", v, v, r[j])
				}
			}
			for _, v := range vs {
				k.activation(g.Act, v)
			}
			if vec == 4 {
				k.Op("st.global.v4.f32", Addr{yp, 4 * q * vec}, Vec(vs))
			} else {
				k.Op("st.global.f32", Addr{yp, 4 * q}, vs[0])
			}
			k.Place(skip)
		}
	}
	k.Place(done)
}
