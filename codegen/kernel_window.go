package codegen

import (
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Convolutions and pools of any spatial rank: kernels.ConvND,
// ConvTransposeND, MaxPoolND and AvgPoolND, pure Go, one plane per work
// item. The 2-D ops (conv2d, conv_transpose2d, maxpool, avgpool) keep
// their own kernels; these take what those cannot express.

func init() {
	register(genWindow, ir.KConvND, ir.KConvTransposeND, ir.KMaxPoolND, ir.KAvgPoolND)
}

// windowTemplates names each N-D op's template and its work per plane
// relative to the pool's grain (a convolution's plane reads every input
// channel of its group).
var windowTemplates = map[ir.Kind]struct {
	name  string
	grain int
}{
	ir.KConvND:          {"ConvND", 1},
	ir.KConvTransposeND: {"ConvTransposeND", 1},
	ir.KMaxPoolND:       {"MaxPoolND", 4},
	ir.KAvgPoolND:       {"AvgPoolND", 4},
}

// genWindow specialises the node's N-D template to its geometry.
func genWindow(c *kctx) error {
	if err := floatOnly(c); err != nil {
		return err
	}
	s, err := kernels.WindowNDOf(c.node)
	if err != nil {
		return err
	}
	t := windowTemplates[c.node.Op.Kind()]
	y := c.out(0).Shape
	c.parallel(dimExpr(y[0].MulInt(y[1].B)), t.grain)
	b := tmpl.Binding{Shape: s}
	switch {
	case (t.name == "ConvND" || t.name == "ConvTransposeND") && !s.Bias:
		b.Omit = []string{"bias"}
	case t.name == "MaxPoolND" && !s.Indices:
		b.Omit = []string{"idx"}
	}
	return c.template(t.name, b)
}
