package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/ir"
)

// Normalisation and row kernels: statistics in float64 per row, as the
// reference evaluator computes them; where a target has them, layernorm
// rows of whole vectors run on its row kernels (float32 statistics, two
// passes) and softmax rows on its vector exp.

func init() {
	register(genBatchNorm, ir.KBatchNorm)
	register(genLayerNorm, ir.KLayerNorm)
	register(genSoftmax, ir.KSoftmax, ir.KLogSoftmax)
}

func genBatchNorm(c *kctx) error {
	if c.in(0).Layout == ir.NHWC {
		return genBatchNormNHWC(c)
	}
	x := c.in(0).Shape
	c.line("const C, I, Eps = $C, $I, $E", "C", x[1].B, "I", numelExpr(x[2:]), "E", floatLit(c.node.Op.(*ir.BatchNorm).Eps))
	c.line("outer := $B", "B", dimExpr(x[0]))
	c.line("for ch := 0; ch < C; ch++ {")
	c.line("s := float64(i1[ch]) / math.Sqrt(float64(i4[ch])+Eps)")
	c.line("m, sh := float64(i3[ch]), float64(i2[ch])")
	c.line("for b := 0; b < outer; b++ {")
	c.line("off := (b*C + ch) * I")
	c.line("src, dst := i0[off:off+I], o0[off:off+I]")
	start := "0"
	if i, ok := x[2:].NumelDim(); ok && i.A == 0 && i.B >= 16 {
		// x·s + (shift − mean·s) on the targets' kernels, in float32.
		start = c.elementwiseVector("affine", "dst", "src", "nil", "float32(s), float32(sh-m*s)")
	}
	c.line("for i, v := range src[$S:] {", "S", start)
	c.line("dst[$S+i] = float32((float64(v)-m)*s + sh)", "S", start)
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}

func genLayerNorm(c *kctx) error {
	ln := c.node.Op.(*ir.LayerNorm)
	x := c.in(0).Shape
	axis := normAxis(ln.Axis, x.Rank())
	// layernorm(x) is the plain normalisation: bn-fold moved the scale
	// and shift into the linears after it.
	plain, beta := len(c.node.Inputs) == 1, len(c.node.Inputs) == 3
	c.line("const I, Eps = $I, $E", "I", numelExpr(x[axis:]), "E", floatLit(ln.Eps))
	if !plain {
		c.line("g := i1[:I]")
	}
	if beta {
		c.line("beta := i2[:I]")
	}
	c.parallel(numelExpr(x[:axis]), 16)
	var ks []vkernel
	if i, ok := x[axis:].NumelDim(); ok && i.A == 0 {
		ks = c.kernels(func(t isa.Target) []isa.Kernel {
			return t.LayerNorm(isa.LayerNormSpec{I: i.B, Beta: beta, Plain: plain})
		})
	}
	if len(ks) > 0 {
		g, b := "i1", "nil"
		if plain {
			g = "nil"
		}
		if beta {
			b = "i2"
		}
		c.dispatch(ks, func(name string) {
			c.line("$F(lo, hi, o0, i0, $G, $B, Eps)", "F", name, "G", g, "B", b)
			c.line("return")
		}, nil)
	}
	c.line("for r := lo; r < hi; r++ {")
	c.line("src, dst := i0[r*I:(r+1)*I], o0[r*I:(r+1)*I]")
	c.line("var sum float64")
	c.line("for _, v := range src {")
	c.line("sum += float64(v)")
	c.line("}")
	c.line("mean := sum / I")
	c.line("var ss float64")
	c.line("for _, v := range src {")
	c.line("d := float64(v) - mean")
	c.line("ss += d * d")
	c.line("}")
	c.line("inv := 1 / math.Sqrt(ss/I+Eps)")
	c.line("for i, v := range src {")
	switch {
	case plain:
		c.line("dst[i] = float32((float64(v) - mean) * inv)")
	case beta:
		c.line("dst[i] = float32((float64(v)-mean)*inv*float64(g[i]) + float64(beta[i]))")
	default:
		c.line("dst[i] = float32((float64(v) - mean) * inv * float64(g[i]))")
	}
	c.line("}")
	c.line("}")
	return nil
}

// genSoftmax runs rows of the softmax axis on the pool, in float64 with
// math.Exp as the reference evaluator does; a softmax over the last axis
// (Inner 1) runs on the targets' row kernels where the CPU has them
// (float32 on numerics.Exp32's formula). Either way, as in PyTorch, a row holding
// a NaN or +Inf, or only −Inf, comes out all NaN: the maximum is NaN,
// +Inf or −Inf, and x − m is NaN for those elements.
func genSoftmax(c *kctx) error {
	sm := c.node.Op.(*ir.Softmax)
	x := c.in(0).Shape
	axis := normAxis(sm.Axis, x.Rank())
	L := x[axis].B
	inner, innerOK := x[axis+1:].NumelDim()
	c.line("const L, Inner = $L, $I", "L", L, "I", numelExpr(x[axis+1:]))
	c.parallel(fmt.Sprintf("%s*%s", numelExpr(x[:axis]), numelExpr(x[axis+1:])), max(1, 4096/max(L, 1)))
	if sm.K == ir.KSoftmax && innerOK && inner.A == 0 && inner.B == 1 && x[axis].A == 0 && L >= 1 {
		ks := c.kernels(func(t isa.Target) []isa.Kernel { return t.Softmax(isa.SoftmaxSpec{L: L}) })
		c.dispatch(ks, func(name string) {
			c.line("$F(lo, hi, o0, i0)", "F", name)
			c.line("return")
		}, nil)
	}
	c.line("for r := lo; r < hi; r++ {")
	c.line("base := (r/Inner)*L*Inner + r%Inner")
	c.line("m := math.Inf(-1)")
	c.line("for j := 0; j < L; j++ {")
	c.line("if v := float64(i0[base+j*Inner]); v > m || v != v {")
	c.line("m = v")
	c.line("}")
	c.line("}")
	c.line("var s float64")
	c.line("for j := 0; j < L; j++ {")
	c.line("s += math.Exp(float64(i0[base+j*Inner]) - m)")
	c.line("}")
	c.line("for j := 0; j < L; j++ {")
	if sm.K == ir.KLogSoftmax {
		c.line("o0[base+j*Inner] = float32(float64(i0[base+j*Inner]) - m - math.Log(s))")
	} else {
		c.line("o0[base+j*Inner] = float32(math.Exp(float64(i0[base+j*Inner])-m) / s)")
	}
	c.line("}")
	c.line("}")
	return nil
}
