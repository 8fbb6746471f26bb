package codegen

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// Dense kernels: linear and conv2d, pure Go with f32 accumulation.
// linear reads its weight [out, in] row by row (y = x·wᵀ), four output
// columns at a time so each x element loaded feeds four multiply-adds;
// work is split across the worker pool by column blocks, which suits both
// batch 1 and large batches. conv2d is a direct convolution split by
// (image, filter). Both are the straightforward baseline that the SIMD and
// packed-weight kernels of later issues replace.

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

func genLinear(c *kctx) error {
	x, w := c.in(0), c.in(1)
	ep := epilogueOf(c.node)
	k, nOut := w.Shape[1].B, w.Shape[0].B
	rows, ok := x.Shape[:x.Shape.Rank()-1].NumelDim()
	if !ok {
		return fmt.Errorf("rows of %s are not affine in N", x.Shape)
	}
	hasBias := ep.bias != ""
	c.line("const K, N = $K, $N", "K", k, "N", nOut)
	c.line("rows := $R", "R", dimExpr(rows))
	c.line("x, w, o := i0[:rows*K], i1[:N*K], o0[:rows*N]")
	if hasBias {
		c.line("bias := i2[:N]")
	}
	c.parallel(itoa((nOut+3)/4), 8)
	c.line("for j := lo * 4; j < min(hi*4, N); j += 4 {")
	c.line("if j+4 <= N {")
	c.line("w0, w1, w2, w3 := w[j*K:(j+1)*K], w[(j+1)*K:(j+2)*K], w[(j+2)*K:(j+3)*K], w[(j+3)*K:(j+4)*K]")
	c.line("for r := 0; r < rows; r++ {")
	c.line("xr := x[r*K : (r+1)*K]")
	c.line("w0, w1, w2, w3 := w0[:len(xr)], w1[:len(xr)], w2[:len(xr)], w3[:len(xr)]")
	c.line("var s0, s1, s2, s3 float32")
	c.line("for k, xv := range xr {")
	c.line("s0 += xv * w0[k]")
	c.line("s1 += xv * w1[k]")
	c.line("s2 += xv * w2[k]")
	c.line("s3 += xv * w3[k]")
	c.line("}")
	if hasBias {
		c.line("s0, s1, s2, s3 = s0+bias[j], s1+bias[j+1], s2+bias[j+2], s3+bias[j+3]")
	}
	if ep.resid != "" {
		c.line("rr := $R[r*N+j : r*N+j+4]", "R", ep.resid)
		c.line("s0, s1, s2, s3 = s0+rr[0], s1+rr[1], s2+rr[2], s3+rr[3]")
	}
	c.line("or := o[r*N+j : r*N+j+4]")
	c.line("or[0], or[1], or[2], or[3] = $A0, $A1, $A2, $A3", "A0", ep.act("s0"), "A1", ep.act("s1"), "A2", ep.act("s2"), "A3", ep.act("s3"))
	c.line("}")
	c.line("continue")
	c.line("}")
	c.line("for jj := j; jj < N; jj++ {")
	c.line("wj := w[jj*K : (jj+1)*K]")
	c.line("for r := 0; r < rows; r++ {")
	c.line("xr := x[r*K : (r+1)*K]")
	c.line("var s float32")
	c.line("for k, xv := range xr {")
	c.line("s += xv * wj[k]")
	c.line("}")
	if hasBias {
		c.line("s += bias[jj]")
	}
	if ep.resid != "" {
		c.line("s += $R[r*N+jj]", "R", ep.resid)
	}
	c.line("o[r*N+jj] = $A", "A", ep.act("s"))
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}

func genConv2D(c *kctx) error {
	cv := c.node.Op.(*ir.Conv2D)
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
	if ep.resid != "" || ep.act("v") != "v" {
		c.line("for p, v := range out {")
		if ep.resid != "" {
			c.line("v += $R[no*OH*OW+p]", "R", ep.resid)
		}
		c.line("out[p] = $A", "A", ep.act("v"))
		c.line("}")
	}
	c.line("}")
	return nil
}
