package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Elementwise kernels: one loop, f32 storage, float64 arithmetic per
// element (as the reference evaluator does), so results agree to rounding.

func init() {
	register(genUnary, ir.KRelu, ir.KLeakyRelu, ir.KSigmoid, ir.KTanh, ir.KGelu, ir.KErf, ir.KExp,
		ir.KLog, ir.KSqrt, ir.KNeg, ir.KAbs, ir.KHardSigmoid, ir.KHardSwish, ir.KClip)
	register(genBinary, ir.KAdd, ir.KSub, ir.KMul, ir.KDiv, ir.KPow)
}

// genUnary specialises kernels.Unary; ReLU runs on the targets'
// element-wise kernels where they have it.
func genUnary(c *kctx) error {
	if !c.in(0).DType.IsFloat() {
		return fmt.Errorf("integer %s is not supported by the generated kernels yet", c.node.Op.Kind())
	}
	op, ok := kernels.UnaryOp(c.node.Op)
	if !ok {
		return fmt.Errorf("BUG: codegen: %s is not element-wise", c.node.Op.Kind())
	}
	var ks []vkernel
	if c.node.Op.Kind() == ir.KRelu {
		ks = c.kernels(func(t isa.Target) []isa.Kernel { return t.Elementwise(isa.ElementwiseSpec{Op: "relu"}) })
	}
	return c.template("Unary", tmpl.Binding{Shape: kernels.UnaryShape{N: kernels.Numel(c.out(0).Shape)},
		Hooks: map[string]tmpl.Hook{"Op": op, "Vector": dispatchHook(ks, nil, 0)}})
}

// genBinary specialises kernels.Binary for operands of the output's
// shape (add, sub and mul on the targets' element-wise kernels where
// they have them), and kernels.Broadcast for the rest.
func genBinary(c *kctx) error {
	if !c.in(0).DType.IsFloat() {
		return genBroadcast2(c) // integers (kernel_math.go)
	}
	op, ok := kernels.BinaryOp(c.node.Op.Kind())
	if !ok {
		return fmt.Errorf("BUG: codegen: %s is not a binary element-wise op", c.node.Op.Kind())
	}
	out, a, b := c.out(0).Shape, c.in(0).Shape, c.in(1).Shape
	vname := map[ir.Kind]string{ir.KAdd: "add", ir.KSub: "sub", ir.KMul: "mul"}[c.node.Op.Kind()]
	if c.out(0).Layout == ir.NHWC && (!a.Equal(out) || !b.Equal(out)) {
		// A per-channel operand [N, C, 1, 1] broadcast over NHWC pixels
		// (layout-assign's only NHWC broadcast): rows of C channels with
		// the image's vector, or the loops over the buffers' order, [N, H,
		// W, C], when the other operand is broadcast too.
		vec := 1
		if !a.Equal(out) {
			vec = 0
		}
		if out.Rank() == 4 && out[1].Static() && out[2].Static() && out[3].Static() && c.in(1-vec).Shape.Equal(out) {
			s := kernels.ChannelNHWCOf(c.node, vec)
			var ks []vkernel
			if vname != "" {
				ks = c.kernels(func(t isa.Target) []isa.Kernel { return t.Elementwise(isa.ElementwiseSpec{Op: vname}) })
			}
			c.parallel(dimExpr(s.Items), s.RB)
			return c.template("ChannelNHWC", tmpl.Binding{Shape: s, Hooks: map[string]tmpl.Hook{"Op": op, "Vector": dispatchHook(ks, nil, 0)}})
		}
		a, b, out = nhwcOrder(a), nhwcOrder(b), nhwcOrder(out)
	}
	if !a.Equal(out) || !b.Equal(out) {
		return c.template("Broadcast", tmpl.Binding{Shape: kernels.NewBroadcast(a, b, out), Hooks: map[string]tmpl.Hook{"Op": op}})
	}
	var ks []vkernel
	if vname != "" {
		ks = c.kernels(func(t isa.Target) []isa.Kernel { return t.Elementwise(isa.ElementwiseSpec{Op: vname}) })
	}
	return c.template("Binary", tmpl.Binding{Shape: kernels.BinaryShape{N: kernels.Numel(out)},
		Hooks: map[string]tmpl.Hook{"Op": op, "Vector": dispatchHook(ks, nil, 0)}})
}

// nhwcOrder returns a rank-4 logical shape [N, C, H, W] in NHWC's memory
// order, [N, H, W, C].
func nhwcOrder(s ir.Shape) ir.Shape {
	return ir.Shape{s[0], s[2], s[3], s[1]}
}
