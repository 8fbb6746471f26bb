package codegen

import (
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Indexing and element-type kernels: gather, where, cast (codegen/kernels'
// select.go).

func init() {
	register(genGather, ir.KGather)
	register(genWhere, ir.KWhere)
	register(genCast, ir.KCast)
}

func genGather(c *kctx) error {
	return c.generic("Gather", kernels.GatherOf(c.node), c.in(0).DType)
}

func genWhere(c *kctx) error {
	return c.generic("Where", kernels.WhereOf(c.node), c.out(0).DType)
}

func genCast(c *kctx) error {
	s, name, hooks := kernels.CastOf(c.node)
	return c.template(name, tmpl.Binding{Shape: s, Types: map[string]string{"T": goType(c.in(0).DType)[2:]}, Hooks: hooks})
}
