package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Reductions and pooling: kernels.Reduce and kernels.Pool.

func init() {
	register(genReduce, ir.KReduceMean, ir.KReduceSum)
	register(genPool, ir.KMaxPool, ir.KAvgPool)
}

func genReduce(c *kctx) error {
	if !c.in(0).DType.IsFloat() {
		return fmt.Errorf("integer %s is not supported by the generated kernels yet", c.node.Op.Kind())
	}
	return c.template("Reduce", tmpl.Binding{Shape: kernels.ReduceOf(c.node)})
}

func genPool(c *kctx) error {
	s, err := kernels.PoolOf(c.node)
	if err != nil {
		return err
	}
	c.parallel(dimExpr(s.Planes), 4)
	return c.template("Pool", tmpl.Binding{Shape: s})
}
