package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/ir"
)

// Dense kernels: linear and conv2d, pure Go with f32 accumulation.
// linear is a GEMM from codegen/gemm on weights packed at build time;
// conv2d is still a direct convolution split by (image, filter), the
// baseline that im2col+GEMM and the SIMD kernels of later issues replace.

func init() {
	register(genLinear, ir.KLinear)
	register(genConv2D, ir.KConv2D)
}

// epilogue describes a linear or conv2d node's fused epilogue for its
// kernel: the names of its bias and residual parameters ("" if absent)
// and the Go expression applying its activation to a float32 variable.
type epilogue struct {
	bias, resid string
	act         func(v string) string
}

func epilogueOf(n *ir.Node) epilogue {
	e, _ := ir.EpilogueOf(n.Op)
	var ep epilogue
	next := 2
	if e.HasBias(len(n.Inputs)) {
		ep.bias = "i2"
		next = 3
	}
	if e.Residual {
		ep.resid = fmt.Sprintf("i%d", next)
	}
	ep.act = func(v string) string {
		switch e.Act {
		case "relu":
			return fmt.Sprintf("max(%s, 0)", v)
		case "gelu":
			return fmt.Sprintf("numerics.Gelu32(%s)", v)
		case "gelu_tanh":
			return fmt.Sprintf("float32(0.5 * float64(%s) * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(float64(%s)+0.044715*float64(%s)*float64(%s)*float64(%s)))))", v, v, v, v, v)
		}
		return v
	}
	return ep
}

// genLinear calls a GEMM kernel from codegen/gemm specialised to the
// weight's shape, on weights packed at build time, splitting its column
// blocks across the pool; a fused residual or activation is applied to
// each chunk's columns right after, while they are in cache.
// store emits dst = act(v + residual[idx]) (the residual if fused).
func (ep epilogue) store(c *kctx, dst, idx string) {
	if ep.resid != "" {
		c.line("v += $R[$I]", "R", ep.resid, "I", idx)
	}
	c.line("$D = $A", "D", dst, "A", ep.act("v"))
}

// fused reports whether the epilogue does anything after the bias.
func (ep epilogue) fused() bool { return ep.resid != "" || ep.act("v") != "v" }

func genLinear(c *kctx) error {
	x, w := c.in(0), c.in(1)
	ep := epilogueOf(c.node)
	k, nOut := w.Shape[1].B, w.Shape[0].B
	rows, ok := x.Shape[:x.Shape.Rank()-1].NumelDim()
	if !ok {
		return fmt.Errorf("rows of %s are not affine in N", x.Shape)
	}
	e, _ := ir.EpilogueOf(c.node.Op)
	g := newGemmLayer(c, nOut, k, 1, ep.bias, isa.Epilogue{Act: e.Act, Resid: e.Residual})
	// The work is (row block, panel) pairs, row-block-major: a large batch
	// splits its rows too, so few panels (N = 192 is three) still keep
	// every thread busy, and each block of x stays in L2 while its panels
	// pass.
	rb := gemm.RowBlock(k, 0)
	c.line("const K, N, PW, NP, RB = $K, $N, $PW, $NP, $RB", "K", k, "N", nOut, "PW", g.p.Panel(), "NP", g.p.Panels(), "RB", rb)
	c.line("rows := $R", "R", dimExpr(rows))
	c.parallel(fmt.Sprintf("(%s+%d)/%d*%d", dimExpr(rows), rb-1, rb, g.p.Panels()), 1)
	// Blocks of equal size (a multiple of 6 rows, at most RB+5): 128 rows
	// split as 126 + 2 would leave one thread's half of the items empty.
	c.line("nb := (rows + RB - 1) / RB")
	c.line("bs := ((rows+nb-1)/nb + 5) / 6 * 6")
	c.line("for it := lo; it < hi; {")
	c.line("rb, q0 := it/NP, it%NP")
	c.line("q1 := min(NP, q0+hi-it)")
	c.line("r0, r1 := min(rows, rb*bs), min(rows, (rb+1)*bs)")
	resid := "nil"
	if ep.resid != "" {
		resid = ep.resid + "[r0*N : r1*N]"
	}
	g.call(c, "r1-r0", "q0", "q1", "o0[r0*N:r1*N]", "i0[r0*K:r1*K]", "i1", resid, func() {
		if !ep.fused() {
			return
		}
		c.line("j0, j1 := q0*PW, min(q1*PW, N)")
		c.line("for r := r0; r < r1; r++ {")
		c.line("out := o0[r*N+j0 : r*N+j1]")
		c.line("for j, v := range out {")
		ep.store(c, "out[j]", "r*N+j0+j")
		c.line("}")
		c.line("}")
	})
	c.line("it += q1 - q0")
	c.line("}")
	return nil
}

// gemmLayer is the GEMM of one weight shape [N, K] as a kernel calls it:
// the pure-Go kernel and, when the weights are packed for them, the
// targets' Linear kernels, chosen at run time by the package's tier
// switches. All read the same packed weights (gemm.Pack), so weights.bin
// holds one copy.
type gemmLayer struct {
	p    gemm.Params
	name string // the pure-Go kernel
	ks   []vkernel
	// goEpi names the kernels that apply only the bias, for want of the
	// layer's activation: the Go epilogue follows them.
	goEpi map[string]bool
	resid bool   // the kernels read the residual
	bias  string // the parameter holding the bias, or "nil"
}

// newGemmLayer emits the kernels for weights [n, k] in input wIdx (packed
// at build time) with the bias in parameter bias ("" for none) and the
// epilogue ep after it. The bias is packed too, padded to whole panels,
// since the vector kernels read whole panels of it; a bias that is not
// a dense constant keeps the layer on the pure-Go kernel.
func newGemmLayer(c *kctx, n, k, wIdx int, bias string, ep isa.Epilogue) gemmLayer {
	g := gemmLayer{p: gemm.VectorParams(n, k, 1), bias: "nil", resid: ep.Resid}
	// The vector kernels read the bias packed: a bias fed at run time
	// keeps the layer on the pure-Go kernel.
	vector := bias == "" || c.node.Inputs[wIdx+1].IsConst()
	if !vector {
		g.p = gemm.Default(n, k, 1)
	}
	if bias != "" {
		g.p.Bias, g.bias = true, bias
	}
	spec := isa.LinearSpec{N: n, K: k, PW: g.p.Panel(), Bias: g.p.Bias, Epi: ep}
	if vector {
		c.tuning.tuneLinear(n, k, &g.p, &spec)
		if bias != "" {
			c.packPadded(wIdx+1, g.p.Panels()*g.p.Panel())
		}
	}
	g.name = g.p.Name()
	c.helper(g.name, gemm.Emit(g.p, g.name))
	c.packInput(wIdx, g.name, func(w []float32) []float32 { return gemm.Pack(g.p, w) })
	if vector {
		g.ks, g.goEpi = c.epilogueKernels(spec.Epi, func(t isa.Target, e isa.Epilogue) []isa.Kernel {
			s := spec
			s.Epi = e
			return t.Linear(s)
		})
	}
	return g
}

// epilogueKernels asks every target for kernels applying the epilogue
// ep, and a target that has none for it for kernels applying no
// epilogue; it returns the kernels, and which of them leave the epilogue
// to Go.
func (c *kctx) epilogueKernels(ep isa.Epilogue, ask func(isa.Target, isa.Epilogue) []isa.Kernel) ([]vkernel, map[string]bool) {
	goEpi := map[string]bool{}
	ks := c.kernels(func(t isa.Target) []isa.Kernel {
		if ks := ask(t, ep); len(ks) > 0 || ep == (isa.Epilogue{}) {
			return ks
		}
		ks := ask(t, isa.Epilogue{})
		for _, k := range ks {
			goEpi[k.Name] = true
		}
		return ks
	})
	return ks, goEpi
}

// packPadded makes the kernel receive constant input i (a bias) padded
// with zeros to n floats: the vector kernels read whole panels of it.
func (c *kctx) packPadded(i, n int) {
	c.packInput(i, fmt.Sprintf("pad%d", n), func(b []float32) []float32 {
		return append(append(make([]float32, 0, n), b...), make([]float32, n-len(b))...)
	})
}

// call emits the computation of panels [lo, hi) (of p.Panels()) of
// y[m×N] = x[m×K]·Wᵀ (+ bias) with the fastest kernel this CPU runs, and
// goEpilogue (which emits the epilogue on panels [lo, hi) in Go) where
// the kernel did not apply it; resid is the residual's slice, or "nil".
func (g gemmLayer) call(c *kctx, m, lo, hi, y, x, w, resid string, goEpilogue func()) {
	if !g.resid {
		resid = "nil"
	}
	kv := []any{"F", g.name, "M", m, "LO", lo, "HI", hi, "Y", y, "X", x, "W", w, "B", g.bias, "R", resid}
	c.dispatch(g.ks, func(name string) {
		r := resid
		if g.goEpi[name] {
			r = "nil"
		}
		c.line("$A($M, $LO, $HI, $Y, $X, $W, $B, $RK)", append(kv, "A", name, "RK", r)...)
		if g.goEpi[name] && goEpilogue != nil {
			goEpilogue()
		}
	}, func() {
		// The pure-Go kernel counts blocks of NR columns inside the panels.
		per := g.p.Panel() / g.p.NR
		c.line("$F($M, $LO*$PER, min($HI*$PER, $NB), $Y, $X, $W, $B)", append(kv, "PER", per, "NB", g.p.Blocks())...)
		if goEpilogue != nil {
			goEpilogue()
		}
	})
}

func genConv2D(c *kctx) error {
	cv := c.node.Op.(*ir.Conv2D)
	if c.in(0).Layout == ir.NHWC {
		return genConvNHWC(c, cv)
	}
	if cv.Groups == 1 {
		return genConvGemm(c, cv)
	}
	x, w, y := c.in(0).Shape, c.in(1).Shape, c.out(0).Shape
	c.line("const C, H, W, O, KH, KW, OH, OW = $C, $H, $W, $O, $KH, $KW, $OH, $OW",
		"C", x[1].B, "H", x[2].B, "W", x[3].B, "O", w[0].B, "KH", w[2].B, "KW", w[3].B, "OH", y[2].B, "OW", y[3].B)
	c.line("const CG, OG = C / $G, O / $G", "G", cv.Groups)
	c.windowConsts(cv.Stride, cv.Pad, cv.Dilation)
	c.parallel(fmt.Sprintf("%s*%d", dimExpr(x[0]), w[0].B), 2)
	c.line("for no := lo; no < hi; no++ {")
	c.line("b, oc := no/O, no%O")
	c.line("g := oc / OG")
	c.line("out := o0[no*OH*OW : (no+1)*OH*OW]")
	ep := epilogueOf(c.node)
	if ep.bias != "" {
		c.line("bias := i2[oc]")
	} else {
		c.line("var bias float32")
	}
	c.line("for p := range out {")
	c.line("out[p] = bias")
	c.line("}")
	c.line("for ci := 0; ci < CG; ci++ {")
	c.line("in := i0[(b*C+g*CG+ci)*H*W:][:H*W]")
	c.line("wk := i1[(oc*CG+ci)*KH*KW:][:KH*KW]")
	c.line("for kh := 0; kh < KH; kh++ {")
	c.line("for kw := 0; kw < KW; kw++ {")
	c.line("wv := wk[kh*KW+kw]")
	c.line("for oy := 0; oy < OH; oy++ {")
	c.line("iy := oy*SH - PT + kh*DH")
	c.line("if iy < 0 || iy >= H {")
	c.line("continue")
	c.line("}")
	c.line("row := in[iy*W:][:W]")
	c.line("orow := out[oy*OW:][:OW]")
	c.line("for ox := range orow {")
	c.line("if ix := ox*SW - PL + kw*DW; ix >= 0 && ix < W {")
	c.line("orow[ox] += wv * row[ix]")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	if ep.fused() {
		c.line("for p, v := range out {")
		ep.store(c, "out[p]", "no*OH*OW+p")
		c.line("}")
	}
	c.line("}")
	return nil
}

// genConvGemm lowers a convolution to GEMM in NCHW: per image and panel
// of PW output pixels (the parallel items), im2col copies the K =
// C·KH·KW inputs of each pixel into a K×PW panel (gemm.Pack's layout, one
// memmove per run of an input row), and one GEMM multiplies the weights
// [O, K] (as the left operand, O rows, stored negated since the kernels
// subtract products) by it, straight into the output plane's O rows — no
// scatter. The x86 kernels also add a residual and
// apply the activation before they store when the conv has no bias (a
// bias is per row here, which their epilogue does not add); otherwise,
// and on the pure-Go kernel, a Go loop applies the epilogue to the
// item's block while it is in cache.
func genConvGemm(c *kctx, cv *ir.Conv2D) error {
	x, w, y := c.in(0).Shape, c.in(1).Shape, c.out(0).Shape
	ep := epilogueOf(c.node)
	e, _ := ir.EpilogueOf(c.node.Op)
	C, O, KH, KW := x[1].B, w[0].B, w[2].B, w[3].B
	K, P, OW := C*KH*KW, y[2].B*y[3].B, y[3].B
	p := gemm.VectorParams(P, K, O)
	pw := p.Panel()
	np := p.Panels()
	goName := p.Name()
	c.helper(goName, gemm.Emit(p, goName))
	// The kernels subtract products (they expect operands packed negated):
	// the weights are stored negated, and the patches are plain copies.
	c.packInput(1, "neg", func(w []float32) []float32 {
		n := make([]float32, len(w))
		for i, v := range w {
			n[i] = -v
		}
		return n
	})
	items := x[0].MulInt(np)
	col := c.scratchBuf(items.MulInt(K * pw))
	// A bias is per row here, which the kernels' epilogue does not add:
	// with one, Go applies the whole epilogue.
	kepi := isa.Epilogue{Act: e.Act, Resid: e.Residual}
	if ep.bias != "" {
		kepi = isa.Epilogue{}
	}
	ks, goEpi := c.epilogueKernels(kepi, func(t isa.Target, e isa.Epilogue) []isa.Kernel {
		return t.ConvBlock(isa.ConvBlockSpec{K: K, PW: pw, Epi: e})
	})
	c.line("const C, H, W, O, KH, KW, OW = $C, $H, $W, $O, $KH, $KW, $OW",
		"C", C, "H", x[2].B, "W", x[3].B, "O", O, "KH", KH, "KW", KW, "OW", OW)
	c.line("const K, P, PW, NP, NR = $K, $P, $PW, $NP, $NR", "K", K, "P", P, "PW", pw, "NP", np, "NR", p.NR)
	c.windowConsts(cv.Stride, cv.Pad, cv.Dilation)
	c.parallel(dimExpr(items), 1)
	c.line("for it := lo; it < hi; it++ {")
	c.line("b, p0 := it/NP, it%NP*PW")
	c.line("cp := $S[it*K*PW : (it+1)*K*PW]", "S", col)
	c.line("for ci := 0; ci < C; ci++ {")
	c.line("plane := i0[(b*C+ci)*H*W:][:H*W]")
	c.line("for kh := 0; kh < KH; kh++ {")
	c.line("for kw := 0; kw < KW; kw++ {")
	c.line("row := cp[((ci*KH+kh)*KW+kw)*PW:][:PW]")
	c.line("for j, p := 0, p0; j < PW; {")
	c.line("if p >= P {")
	c.line("clear(row[j:])")
	c.line("break")
	c.line("}")
	c.line("oy, ox := p/OW, p%OW")
	c.line("seg := row[j : j+min(OW-ox, PW-j)]")
	c.line("j, p = j+len(seg), p+len(seg)")
	c.line("iy := oy*SH - PT + kh*DH")
	c.line("if iy < 0 || iy >= H {")
	c.line("clear(seg)")
	c.line("continue")
	c.line("}")
	c.line("src := plane[iy*W : iy*W+W]")
	if cv.Stride[1] == 1 {
		// Unit stride: the valid inputs of a segment are one run.
		c.line("off := ox - PL + kw*DW // input column of seg[0]")
		c.line("t0, t1 := min(max(-off, 0), len(seg)), max(min(W-off, len(seg)), 0)")
		c.line("clear(seg[:t0])")
		c.line("if t1 > t0 {")
		c.line("copy(seg[t0:t1], src[off+t0:off+t1])")
		c.line("}")
		c.line("clear(seg[max(t1, t0):])")
	} else {
		c.line("for t := range seg {")
		c.line("if ix := (ox+t)*SW - PL + kw*DW; ix >= 0 && ix < W {")
		c.line("seg[t] = src[ix]")
		c.line("} else {")
		c.line("seg[t] = 0")
		c.line("}")
		c.line("}")
	}
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("yb := o0[b*O*P : (b+1)*O*P]")
	resid := "nil"
	if kepi.Resid {
		resid = ep.resid + "[b*O*P+p0:]"
	}
	var goEpilogue func()
	if ep.fused() || ep.bias != "" {
		goEpilogue = func() {
			c.line("for o := 0; o < O; o++ {")
			c.line("out := yb[o*P+p0 : o*P+min(p0+PW, P)]")
			c.line("for j, v := range out {")
			c.line("idx := (b*O+o)*P + p0 + j")
			if ep.bias != "" {
				c.line("v += $B[o]", "B", ep.bias)
			}
			ep.store(c, "out[j]", "idx")
			c.line("_ = idx")
			c.line("}")
			c.line("}")
		}
	}
	c.dispatch(ks, func(name string) {
		r := resid
		if goEpi[name] {
			r = "nil"
		}
		c.line("$D(O, min(PW, P-p0), i1, K, cp, yb[p0:], P, $R)", "D", name, "R", r)
		if (goEpi[name] || kepi != (isa.Epilogue{Act: e.Act, Resid: e.Residual}) || ep.bias != "") && goEpilogue != nil {
			goEpilogue()
		}
	}, func() {
		c.line("$F(O, p0/NR, min((p0+PW+NR-1)/NR, $NB), yb, i1, $S[b*NP*K*PW:], nil)", "F", goName, "NB", p.Blocks(), "S", col)
		if goEpilogue != nil {
			goEpilogue()
		}
	})
	c.line("}")
	return nil
}

// windowConsts declares a sliding window's stride (SH, SW), leading
// padding (PT, PL) and dilation (DH, DW) for the kernel body.
func (c *kctx) windowConsts(stride, pad, dilation []int) {
	c.line("const SH, SW, PT, PL, DH, DW = $SH, $SW, $PT, $PL, $DH, $DW",
		"SH", stride[0], "SW", stride[1], "PT", pad[0], "PL", pad[1], "DH", dilation[0], "DW", dilation[1])
}
