package codegen

import (
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Data movement, pooling, embedding and attention kernels.

func init() {
	register(genTranspose, ir.KTranspose)
	register(genExpand, ir.KExpand)
	register(genCopy, ir.KReshape, ir.KFlatten)
	register(genConcat, ir.KConcat)
	register(genSplit, ir.KSplit)
	register(genEmbedding, ir.KEmbedding)
	register(genGlobalAvgPool, ir.KGlobalAvgPool)
	register(genAttention, ir.KAttention)
}

// generic binds a data-movement template's element type to the node's
// values' (float32 or int64).
func (c *kctx) generic(name string, shape any, dt ir.DType) error {
	return c.template(name, tmpl.Binding{Shape: shape, Types: map[string]string{"T": goType(dt)[2:]}})
}

func genTranspose(c *kctx) error {
	return c.strided(kernels.TransposeOf(c.node))
}

func genSlice(c *kctx) error {
	s, err := kernels.SliceOf(c.node)
	if err != nil {
		return err
	}
	return c.strided(s)
}

func genExpand(c *kctx) error {
	return c.strided(kernels.ExpandOf(c.node))
}

// strided specialises kernels.Strided, or kernels.StridedRuns when the
// innermost axis copies whole runs.
func (c *kctx) strided(s kernels.StridedShape) error {
	if rs, ok := kernels.Runs(s); ok {
		return c.generic("StridedRuns", rs, c.in(0).DType)
	}
	return c.generic("Strided", s, c.in(0).DType)
}

func genCopy(c *kctx) error {
	return c.generic("Copy", kernels.CopyShape{N: kernels.Numel(c.out(0).Shape)}, c.in(0).DType)
}

func genPad(c *kctx) error {
	return c.generic("Pad", kernels.PadOf(c.node), c.in(0).DType)
}

// genConcat copies each input's rows into its columns of the output.
func genConcat(c *kctx) error {
	axis := kernels.NormAxis(c.node.Op.(*ir.Concat).Axis, c.out(0).Shape.Rank())
	sizes := make([]int, len(c.node.Inputs))
	for i, v := range c.node.Inputs {
		sizes[i] = v.Type.Shape[axis].B
	}
	s, err := kernels.NewBlocks(c.out(0).Shape, axis, sizes)
	if err != nil {
		return err
	}
	return c.template("Concat", tmpl.Binding{Shape: s, Types: map[string]string{"T": goType(c.out(0).DType)[2:]}, Groups: map[string]int{"xs": len(sizes)}})
}

// genSplit copies each column range of the input into its output.
func genSplit(c *kctx) error {
	sp := c.node.Op.(*ir.Split)
	s, err := kernels.NewBlocks(c.in(0).Shape, kernels.NormAxis(sp.Axis, c.in(0).Shape.Rank()), sp.Sizes)
	if err != nil {
		return err
	}
	return c.template("Split", tmpl.Binding{Shape: s, Types: map[string]string{"T": goType(c.in(0).DType)[2:]}, Groups: map[string]int{"ys": len(sp.Sizes)}})
}

func genEmbedding(c *kctx) error {
	return c.template("Embedding", tmpl.Binding{Shape: kernels.EmbeddingOf(c.node)})
}

// genGlobalAvgPool specialises kernels.GlobalAvgPool or
// kernels.GlobalAvgPoolNHWC.
func genGlobalAvgPool(c *kctx) error {
	if c.in(0).Layout == ir.NHWC {
		return c.template("GlobalAvgPoolNHWC", tmpl.Binding{Shape: kernels.GlobalAvgPoolNHWCOf(c.node)})
	}
	return c.template("GlobalAvgPool", tmpl.Binding{Shape: kernels.GlobalAvgPoolOf(c.node)})
}

// genAttention specialises kernels.Attention, each (batch, head) pair on
// the pool; the targets' kernels take scratch per item.
func genAttention(c *kctx) error {
	s := kernels.AttentionOf(c.node)
	c.parallel(dimExpr(s.Items), 1)
	spec := isa.AttentionSpec{T: s.T, S: s.S, D: s.D, Dv: s.Dv, H: s.H, Causal: s.Causal, Scale: s.Scale}
	ks := c.kernels(func(t isa.Target) []isa.Kernel { return t.Attention(spec) })
	b := tmpl.Binding{Shape: s, Hooks: map[string]tmpl.Hook{"Vector": dispatchHook(ks, nil, 0)}}
	if len(ks) > 0 {
		per := 0
		for _, k := range ks {
			per = max(per, k.k.Scratch)
		}
		c.scratchBuf(s.Items.MulInt(per))
	} else {
		b.Omit = []string{"scratch"}
	}
	return c.template("Attention", b)
}
