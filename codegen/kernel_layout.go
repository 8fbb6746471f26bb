package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
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
	ir.KGlobalAvgPool: true, ir.KMaxPool: true, ir.KAvgPool: true,
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
		s.Axes[i] = nhwcPerm[kernels.NormAxis(a, 4)]
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
// image (kernels.Relayout).
func genRelayout(c *kctx) error {
	s, err := kernels.RelayoutOf(c.node)
	if err != nil {
		return err
	}
	c.parallel(dimExpr(s.Images), 1)
	return c.template("Relayout", tmpl.Binding{Shape: s})
}
