package codegen

import (
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
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

// genBatchNorm specialises kernels.BatchNorm (NCHW; planes of 16 or
// more whole floats on the targets' affine kernels) or
// kernels.BatchNormNHWC.
func genBatchNorm(c *kctx) error {
	if c.in(0).Layout == ir.NHWC {
		s := kernels.BatchNormNHWCOf(c.node)
		c.parallel(dimExpr(s.Items), s.RB)
		mul, add := c.elementwise("mul"), c.elementwise("add")
		return c.template("BatchNormNHWC", tmpl.Binding{Shape: s, Hooks: map[string]tmpl.Hook{"Mul": mul, "Add": add}})
	}
	s := kernels.BatchNormOf(c.node)
	var affine tmpl.Dispatch
	if s.I >= 16 {
		affine = c.elementwise("affine")
	}
	return c.template("BatchNorm", tmpl.Binding{Shape: s, Hooks: map[string]tmpl.Hook{"Affine": affine}})
}

// elementwise is the call site of the targets' element-wise kernels of
// op.
func (c *kctx) elementwise(op string) tmpl.Dispatch {
	return dispatchHook(c.kernels(func(t isa.Target) []isa.Kernel { return t.Elementwise(isa.ElementwiseSpec{Op: op}) }), nil, 0)
}

// genLayerNorm specialises kernels.LayerNorm, whose rows run on the
// targets' row kernels where they have them.
func genLayerNorm(c *kctx) error {
	s, err := kernels.LayerNormOf(c.node)
	if err != nil {
		return err
	}
	c.parallel(dimExpr(s.Items), 16)
	ks := c.kernels(func(t isa.Target) []isa.Kernel {
		return t.LayerNorm(isa.LayerNormSpec{I: s.I, Beta: s.Beta, Plain: s.Plain})
	})
	b := tmpl.Binding{Shape: s, Hooks: map[string]tmpl.Hook{"Vector": dispatchHook(ks, nil, 0)}}
	switch {
	case s.Plain:
		b.Omit = []string{"gamma", "beta"}
	case !s.Beta:
		b.Omit = []string{"beta"}
	}
	return c.template("LayerNorm", b)
}

// genSoftmax specialises kernels.Softmax; a softmax over the last axis
// (Inner 1) runs on the targets' row kernels where the CPU has them
// (float32 on numerics.Exp32's formula).
func genSoftmax(c *kctx) error {
	s, err := kernels.SoftmaxOf(c.node)
	if err != nil {
		return err
	}
	c.parallel(dimExpr(s.Items), max(1, 4096/max(s.L, 1)))
	var ks []vkernel
	if !s.Log && s.Inner == 1 && s.L >= 1 {
		ks = c.kernels(func(t isa.Target) []isa.Kernel { return t.Softmax(isa.SoftmaxSpec{L: s.L}) })
	}
	return c.template("Softmax", tmpl.Binding{Shape: s, Hooks: map[string]tmpl.Hook{"Vector": dispatchHook(ks, nil, 0)}})
}
