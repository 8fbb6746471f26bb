package codegen

import (
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Reductions and pooling: kernels.Reduce and kernels.Pool.

func init() {
	register(genReduce, ir.KReduceMean, ir.KReduceSum, ir.KReduceMax, ir.KReduceMin, ir.KReduceProd,
		ir.KReduceL1, ir.KReduceL2, ir.KReduceLogSum, ir.KReduceLogSumExp, ir.KReduceSumSquare)
	register(genPool, ir.KMaxPool, ir.KAvgPool)
}

// genReduce specialises kernels.Reduce, one template for every
// reduction kind of floats (held as float32), or kernels.ReduceInt for
// integers and bools.
func genReduce(c *kctx) error {
	if !c.in(0).DType.IsFloat() {
		s, hooks, err := kernels.ReduceIntOf(c.node)
		if err != nil {
			return err
		}
		return c.template("ReduceInt", tmpl.Binding{Shape: s, Hooks: hooks})
	}
	s, hooks := kernels.ReduceOf(c.node)
	return c.template("Reduce", tmpl.Binding{Shape: s, Hooks: hooks})
}

// genPool specialises kernels.Pool: every window of every plane, as the
// evaluator's pool2d; kernels.PoolNHWC on NHWC activations, by output
// rows.
func genPool(c *kctx) error {
	s, err := kernels.PoolOf(c.node)
	if err != nil {
		return err
	}
	if c.in(0).Layout == ir.NHWC {
		c.parallel(dimExpr(s.Rows), 1)
		return c.template("PoolNHWC", tmpl.Binding{Shape: s})
	}
	c.parallel(dimExpr(s.Planes), 4)
	return c.template("Pool", tmpl.Binding{Shape: s})
}
