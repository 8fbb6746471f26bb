package codegen

import (
	"fmt"

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
	return c.generic("Strided", kernels.TransposeOf(c.node), c.in(0).DType)
}

func genSlice(c *kctx) error {
	s, err := kernels.SliceOf(c.node)
	if err != nil {
		return err
	}
	return c.generic("Strided", s, c.in(0).DType)
}

func genExpand(c *kctx) error {
	return c.generic("Strided", kernels.ExpandOf(c.node), c.in(0).DType)
}

func genCopy(c *kctx) error {
	return c.generic("Copy", kernels.CopyShape{N: numelDim(c.out(0).Shape)}, c.in(0).DType)
}

func genPad(c *kctx) error {
	if !c.in(0).DType.IsFloat() {
		return fmt.Errorf("integer pad is not supported by the generated kernels yet")
	}
	return c.template("Pad", tmpl.Binding{Shape: kernels.PadOf(c.node)})
}

// genConcat copies each input's rows into its columns of the output.
func genConcat(c *kctx) error {
	axis := normAxis(c.node.Op.(*ir.Concat).Axis, c.out(0).Shape.Rank())
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
	s, err := kernels.NewBlocks(c.in(0).Shape, normAxis(sp.Axis, c.in(0).Shape.Rank()), sp.Sizes)
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

// genAttention runs each (batch, head) pair on the pool: scores in
// float64, softmax, then the weighted sum of values.
func genAttention(c *kctx) error {
	a := c.node.Op.(*ir.Attention)
	q, k, v := c.in(0).Shape, c.in(1).Shape, c.in(2).Shape
	c.line("const T, S, D, Dv, H = $T, $S, $D, $Dv, $H", "T", q[1].B, "S", k[1].B, "D", q[2].B, "Dv", v[2].B, "H", a.Heads)
	c.line("const dh, dv, Scale = D / H, Dv / H, $SC", "SC", floatLit(a.Scale))
	c.parallel(fmt.Sprintf("%s*%d", dimExpr(q[0]), a.Heads), 1)
	spec := isa.AttentionSpec{T: q[1].B, S: k[1].B, D: q[2].B, Dv: v[2].B, H: a.Heads, Causal: a.Causal, Scale: a.Scale}
	ks := c.kernels(func(t isa.Target) []isa.Kernel { return t.Attention(spec) })
	if len(ks) > 0 {
		per := 0
		for _, k := range ks {
			per = max(per, k.k.Scratch)
		}
		scratch := c.scratchBuf(q[0].MulInt(a.Heads * per))
		c.dispatch(ks, func(name string) {
			c.line("$F(lo, hi, o0, i0, i1, i2, $S)", "F", name, "S", scratch)
			c.line("return")
		}, nil)
	}
	c.line("var row [S]float64")
	c.line("var acc [dv]float64")
	c.line("for bh := lo; bh < hi; bh++ {")
	c.line("b, h := bh/H, bh%H")
	c.line("for t := 0; t < T; t++ {")
	c.line("qr := i0[(b*T+t)*D+h*dh:][:dh]")
	c.line("m := math.Inf(-1)")
	c.line("for s := 0; s < S; s++ {")
	if a.Causal {
		c.line("if s > t {")
		c.line("row[s] = math.Inf(-1)")
		c.line("continue")
		c.line("}")
	}
	c.line("kr := i1[(b*S+s)*D+h*dh:][:dh]")
	c.line("var dot float64")
	c.line("for d, qv := range qr {")
	c.line("dot += float64(qv) * float64(kr[d])")
	c.line("}")
	c.line("row[s] = Scale * dot")
	c.line("if row[s] > m || row[s] != row[s] {")
	c.line("m = row[s]")
	c.line("}")
	c.line("}")
	c.line("var sum float64")
	c.line("for s := range row {")
	c.line("row[s] = math.Exp(row[s] - m)")
	c.line("sum += row[s]")
	c.line("}")
	c.line("acc = [dv]float64{}")
	c.line("for s, p := range row {")
	c.line("vr := i2[(b*S+s)*Dv+h*dv:][:dv]")
	c.line("for e, vv := range vr {")
	c.line("acc[e] += p * float64(vv)")
	c.line("}")
	c.line("}")
	c.line("dst := o0[(b*T+t)*Dv+h*dv:][:dv]")
	c.line("for e := range dst {")
	c.line("dst[e] = float32(acc[e] / sum)")
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}
