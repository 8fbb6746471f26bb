package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/gemm"
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
			return fmt.Sprintf("float32(0.5 * float64(%s) * (1 + math.Erf(float64(%s)/math.Sqrt2)))", v, v)
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
	p := gemm.Default(nOut, k, 1)
	p.Bias = ep.bias != ""
	fn := p.Name()
	c.helper(fn, gemm.Emit(p, fn))
	c.packInput(1, fn, func(w []float32) []float32 { return gemm.Pack(p, w) })
	bias := "nil"
	if p.Bias {
		bias = ep.bias
	}
	c.line("const K, N, NR = $K, $N, $NR", "K", k, "N", nOut, "NR", p.NR)
	c.line("rows := $R", "R", dimExpr(rows))
	c.parallel(itoa(p.Blocks()), 1)
	c.line("$F(rows, lo, hi, o0[:rows*N], i0[:rows*K], i1, $B)", "F", fn, "B", bias)
	if ep.fused() {
		c.line("j0, j1 := lo*NR, min(hi*NR, N)")
		c.line("for r := 0; r < rows; r++ {")
		c.line("out := o0[r*N+j0 : r*N+j1]")
		c.line("for j, v := range out {")
		ep.store(c, "out[j]", "r*N+j0+j")
		c.line("}")
		c.line("}")
	}
	return nil
}

func genConv2D(c *kctx) error {
	cv := c.node.Op.(*ir.Conv2D)
	if cv.Groups == 1 {
		return genConvGemm(c, cv)
	}
	x, w, y := c.in(0).Shape, c.in(1).Shape, c.out(0).Shape
	c.line("const C, H, W, O, KH, KW, OH, OW = $C, $H, $W, $O, $KH, $KW, $OH, $OW",
		"C", x[1].B, "H", x[2].B, "W", x[3].B, "O", w[0].B, "KH", w[2].B, "KW", w[3].B, "OH", y[2].B, "OW", y[3].B)
	c.line("const CG, OG = C / $G, O / $G", "G", cv.Groups)
	c.line("const SH, SW, PT, PL, DH, DW = $SH, $SW, $PT, $PL, $DH, $DW",
		"SH", cv.Stride[0], "SW", cv.Stride[1], "PT", cv.Pad[0], "PL", cv.Pad[1], "DH", cv.Dilation[0], "DW", cv.Dilation[1])
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

// genConvGemm lowers a convolution to GEMM: for each chunk of output
// pixels (rows over the whole batch), im2col writes the K = C·KH·KW inputs
// each pixel sees into a scratch row, the GEMM kernel multiplies the rows
// by the weights (packed at build time as a [O, K] matrix), and the
// results are scattered into NCHW with the fused epilogue.
func genConvGemm(c *kctx, cv *ir.Conv2D) error {
	x, w, y := c.in(0).Shape, c.in(1).Shape, c.out(0).Shape
	ep := epilogueOf(c.node)
	C, O := x[1].B, w[0].B
	K, P := C*w[2].B*w[3].B, y[2].B*y[3].B
	rows := x[0].MulInt(P)
	p := gemm.Default(O, K, 32)
	p.Bias = ep.bias != ""
	fn := p.Name()
	c.helper(fn, gemm.Emit(p, fn))
	c.packInput(1, fn, func(w []float32) []float32 { return gemm.Pack(p, w) })
	col := c.scratchBuf(rows.MulInt(K))
	res := c.scratchBuf(rows.MulInt(O))
	bias := "nil"
	if p.Bias {
		bias = ep.bias
	}
	c.line("const C, H, W, O, KH, KW, OW = $C, $H, $W, $O, $KH, $KW, $OW",
		"C", C, "H", x[2].B, "W", x[3].B, "O", O, "KH", w[2].B, "KW", w[3].B, "OW", y[3].B)
	c.line("const K, P = $K, $P", "K", K, "P", P)
	c.line("const SH, SW, PT, PL, DH, DW = $SH, $SW, $PT, $PL, $DH, $DW",
		"SH", cv.Stride[0], "SW", cv.Stride[1], "PT", cv.Pad[0], "PL", cv.Pad[1], "DH", cv.Dilation[0], "DW", cv.Dilation[1])
	c.parallel(dimExpr(rows), 16)
	c.line("for r := lo; r < hi; r++ {")
	c.line("b, pix := r/P, r%P")
	c.line("oy, ox := pix/OW, pix%OW")
	c.line("dst := $S[r*K : (r+1)*K]", "S", col)
	c.line("for ci := 0; ci < C; ci++ {")
	c.line("plane := i0[(b*C+ci)*H*W:][:H*W]")
	c.line("for kh := 0; kh < KH; kh++ {")
	c.line("iy := oy*SH - PT + kh*DH")
	c.line("for kw := 0; kw < KW; kw++ {")
	c.line("ix := ox*SW - PL + kw*DW")
	c.line("var v float32")
	c.line("if iy >= 0 && iy < H && ix >= 0 && ix < W {")
	c.line("v = plane[iy*W+ix]")
	c.line("}")
	c.line("dst[(ci*KH+kh)*KW+kw] = v")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("$F(hi-lo, 0, $NB, $R[lo*O:hi*O], $S[lo*K:hi*K], i1, $B)", "F", fn, "NB", p.Blocks(), "R", res, "S", col, "B", bias)
	c.line("for r := lo; r < hi; r++ {")
	c.line("b, pix := r/P, r%P")
	c.line("for oc, v := range $R[r*O : (r+1)*O] {", "R", res)
	c.line("idx := (b*O+oc)*P + pix")
	ep.store(c, "o0[idx]", "idx")
	c.line("}")
	c.line("}")
	return nil
}
