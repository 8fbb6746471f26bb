package codegen

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// Layouts: layout-assign gives convolutional activations the NHWC layout
// (logical shape NCHW, stored as [N][H][W][C]). Kernels that read or write
// a value in a layout other than the logical one must say so by being in
// layoutAware; any other kernel given such a value is a compiler bug, and
// an error rather than wrong numbers. Data-movement ops run their NCHW
// generator on a shadow node: the same op on the NHWC-ordered shape, with
// its axes permuted.

func init() {
	register(genRelayout, ir.KRelayout)
	register(nhwcShadow(genSlice, permuteSlice), ir.KSlice)
	register(nhwcShadow(genPad, permutePad), ir.KPad)
}

// layoutAware lists the kernels that handle NHWC values themselves.
var layoutAware = map[ir.Kind]bool{
	ir.KRelayout: true, ir.KConv2D: true, ir.KBatchNorm: true, ir.KSlice: true, ir.KPad: true,
	ir.KGlobalAvgPool: true,
	// Element-wise over same-shape operands (layout-assign checks the
	// shapes): one flat loop in any layout.
	ir.KRelu: true, ir.KSigmoid: true, ir.KTanh: true, ir.KExp: true, ir.KNeg: true, ir.KAbs: true,
	ir.KSqrt: true, ir.KLog: true, ir.KErf: true, ir.KAdd: true, ir.KSub: true, ir.KMul: true, ir.KDiv: true,
}

// checkLayouts rejects a node whose kernel would misread a laid-out value.
func checkLayouts(n *ir.Node) error {
	if layoutAware[n.Op.Kind()] {
		return nil
	}
	for _, vs := range [][]*ir.Value{n.Inputs, n.Outputs} {
		for _, v := range vs {
			if v.Type.Layout != ir.LayoutAny {
				return fmt.Errorf("BUG: the %s kernel reads %%%s in layout %s but handles only the logical layout (layout-assign must insert a relayout)", n.Op.Kind(), v.Name, v.Type.Layout)
			}
		}
	}
	return nil
}

// nhwcPerm maps an NCHW axis to its position in NHWC order.
var nhwcPerm = [4]int{0, 3, 1, 2}

// nhwcShape is s (NCHW) in NHWC order.
func nhwcShape(s ir.Shape) ir.Shape {
	return ir.Shape{s[0], s[2], s[3], s[1]}
}

// nhwcShadow wraps an NCHW generator: for an NHWC node it generates the
// kernel of the same op on NHWC-ordered shapes with attributes permuted by
// perm, which is the same computation on the stored bytes.
func nhwcShadow(gen generator, perm func(op ir.Op) ir.Op) generator {
	return func(c *kctx) error {
		n := c.node
		if n.Inputs[0].Type.Layout != ir.NHWC {
			return gen(c)
		}
		if n.Outputs[0].Type.Layout != ir.NHWC {
			return fmt.Errorf("BUG: %s reads NHWC but writes %s", n.Op.Kind(), n.Outputs[0].Type.Layout)
		}
		shadow := func(v *ir.Value) *ir.Value {
			t := v.Type
			t.Shape, t.Layout = nhwcShape(t.Shape), ir.LayoutAny
			return &ir.Value{Name: v.Name, Type: t}
		}
		sn := &ir.Node{Name: n.Name, Op: perm(n.Op), Inputs: []*ir.Value{shadow(n.Inputs[0])}, Outputs: []*ir.Value{shadow(n.Outputs[0])}}
		c.node = sn
		defer func() { c.node = n }()
		return gen(c)
	}
}

func permuteSlice(op ir.Op) ir.Op {
	s := *op.(*ir.Slice)
	axes := s.Axes
	if len(axes) == 0 {
		axes = []int{0, 1, 2, 3}[:len(s.Starts)]
	}
	s.Axes = make([]int, len(axes))
	for i, a := range axes {
		s.Axes[i] = nhwcPerm[normAxis(a, 4)]
	}
	return &s
}

func permutePad(op ir.Op) ir.Op {
	p := *op.(*ir.Pad)
	p.Pads = make([]int, 8)
	for a := range 4 {
		p.Pads[nhwcPerm[a]] = op.(*ir.Pad).Pads[a]
		p.Pads[4+nhwcPerm[a]] = op.(*ir.Pad).Pads[4+a]
	}
	return &p
}

// genRelayout converts between the logical layout and NHWC, image by
// image: a transpose of [C][H·W] to [H·W][C] or back.
func genRelayout(c *kctx) error {
	x, from, to := c.in(0).Shape, c.in(0).Layout, c.out(0).Layout
	if x.Rank() != 4 || from == to || (from != ir.NHWC && to != ir.NHWC) || (from != ir.LayoutAny && to != ir.LayoutAny) {
		return fmt.Errorf("relayout from %q to %q of %s is not supported", from, to, x)
	}
	c.line("const C, HW = $C, $HW", "C", x[1].B, "HW", x[2].B*x[3].B)
	c.parallel(dimExpr(x[0]), 1)
	c.line("for b := lo; b < hi; b++ {")
	c.line("src, dst := i0[b*C*HW:(b+1)*C*HW], o0[b*C*HW:(b+1)*C*HW]")
	if to == ir.NHWC {
		c.line("for ch := 0; ch < C; ch++ {")
		c.line("for p, v := range src[ch*HW : (ch+1)*HW] {")
		c.line("dst[p*C+ch] = v")
	} else {
		c.line("for p := 0; p < HW; p++ {")
		c.line("for ch, v := range src[p*C : (p+1)*C] {")
		c.line("dst[ch*HW+p] = v")
	}
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}

// genBatchNormNHWC applies inference batchnorm to rows of C channels:
// per channel x·s + (β − μ·s), s = γ/√(σ² + ε), computed in float64 and
// applied in float32 as the planes kernel does. Rows run on the pool in
// blocks of RB; s and the shift are tiled over a block, so the x86
// element-wise kernels apply them as a multiply and an add of two
// same-length vectors.
func genBatchNormNHWC(c *kctx) error {
	x := c.in(0).Shape
	C := x[1].B
	rb := max(1, 2048/C)
	c.line("const C, Eps, RB = $C, $E, $RB", "C", C, "E", floatLit(c.node.Op.(*ir.BatchNorm).Eps), "RB", rb)
	c.parallel(numelExpr(ir.Shape{x[0], x[2], x[3]}), rb)
	c.line("var sc, sh [RB * C]float32")
	c.line("for ch := 0; ch < C; ch++ {")
	c.line("s := float64(i1[ch]) / math.Sqrt(float64(i4[ch])+Eps)")
	c.line("sc[ch], sh[ch] = float32(s), float32(float64(i2[ch])-float64(i3[ch])*s)")
	c.line("}")
	c.line("for r := 1; r < min(RB, hi-lo); r++ {")
	c.line("copy(sc[r*C:(r+1)*C], sc[:C])")
	c.line("copy(sh[r*C:(r+1)*C], sh[:C])")
	c.line("}")
	c.line("for r0 := lo; r0 < hi; r0 += RB {")
	c.line("src, dst := i0[r0*C:min(hi, r0+RB)*C], o0[r0*C:min(hi, r0+RB)*C]")
	for _, op := range []struct{ name, a, b, expr string }{
		{"mul", "src", "sc[:len(dst)]", "src[i] * sc[i]"},
		{"add", "dst", "sh[:len(dst)]", "dst[i] + sh[i]"},
	} {
		c.line("{")
		done := c.elementwiseVector(op.name, "dst", op.a, op.b, "0, 0")
		c.line("for i := $D; i < len(dst); i++ {", "D", done)
		c.line("dst[i] = $E", "E", op.expr)
		c.line("}")
		c.line("}")
	}
	c.line("}")
	return nil
}

// genGlobalAvgPoolNHWC averages each image's H·W rows of C channels into
// [N, C] (the logical [N, C, 1, 1]), in float64 as the NCHW kernel does.
func genGlobalAvgPoolNHWC(c *kctx) error {
	x := c.in(0).Shape
	c.line("const C, I = $C, $I", "C", x[1].B, "I", x[2].B*x[3].B)
	c.line("for b := 0; b < $N; b++ {", "N", dimExpr(x[0]))
	c.line("var s [C]float64")
	c.line("for p := 0; p < I; p++ {")
	c.line("for ch, v := range i0[(b*I+p)*C : (b*I+p+1)*C] {")
	c.line("s[ch] += float64(v)")
	c.line("}")
	c.line("}")
	c.line("for ch := range s {")
	c.line("o0[b*C+ch] = float32(s[ch] / I)")
	c.line("}")
	c.line("}")
	return nil
}
