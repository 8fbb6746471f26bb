package codegen

import (
	"crypto/sha256"
	"fmt"

	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/quant"
)

// Quantized kernels (docs/algorithms.md §5): quantize, dequantize,
// requantize, and the integer linear layer and convolution with their
// requantizing or dequantizing epilogue, the templates of codegen/kernels'
// quant.go. They call runtime/quant — the arithmetic the reference
// evaluator (ir/ops_quant.go) calls — so they are bit-exact with it by
// construction. A layer's constants (zero points, ranges) are literals
// of its kernel; its canonical multipliers a table of the package.

func init() {
	register(genQuantize, ir.KQuantize)
	register(genDequantize, ir.KDequantize)
	register(genRequantize, ir.KRequantize)
	register(genQLinear, ir.KQLinear)
	register(genQConv2D, ir.KQConv2D)
}

func genQuantize(c *kctx) error {
	return c.template("Quantize", tmpl.Binding{Shape: kernels.QuantizeOf(c.node)})
}

func genDequantize(c *kctx) error {
	return c.template("Dequantize", tmpl.Binding{Shape: kernels.DequantizeOf(c.node)})
}

func genRequantize(c *kctx) error {
	s, err := kernels.RequantizeOf(c.node)
	if err != nil {
		return err
	}
	return c.template("Requantize", tmpl.Binding{Shape: s})
}

// qlayer returns the epilogue of a qlinear or qconv2d and the bindings
// every such template shares: the output's element type Y, the table of
// canonical multipliers (named by its contents, so layers with the same
// multipliers share one) and the bias the kernel lacks.
func qlayer(c *kctx) (kernels.QEpi, tmpl.Binding, error) {
	var ws []float32
	if v := c.node.Inputs[2]; isDenseConst(v) {
		ws = v.Const.Dense().F
	}
	e, err := kernels.QEpiOf(c.node, ws)
	if err != nil {
		return e, tmpl.Binding{}, err
	}
	b := tmpl.Binding{Types: map[string]string{"Y": goType(c.out(0).DType)[2:]}, Hooks: map[string]tmpl.Hook{}}
	if e.Canonical() {
		b.Hooks["Mult"] = tmpl.Var{Name: multTable(c, e.Mult)}
	}
	if !e.Bias {
		b.Omit = append(b.Omit, "bias")
	}
	return e, b, nil
}

// multTable declares the canonical multipliers ms as a table of the
// package, named by its contents, and returns its name.
func multTable(c *kctx, ms []quant.Multiplier) string {
	name := fmt.Sprintf("qmul_%x", sha256.Sum256([]byte(fmt.Sprint(ms))))[:5+12]
	s := fmt.Sprintf("// %s are the canonical requantization multipliers of each output channel.\nvar %s = [...]quant.Multiplier{", name, name)
	for i, m := range ms {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("{M0: %d, S: %d}", m.M0, m.S)
	}
	c.helper(name, s+"}\n")
	return name
}

// genQLinear is the integer linear layer: on the integer GEMM where it
// fits (kernel_qgemm.go), else kernels.QLinear, Σ_k (x_k − Z_x)·w_jk +
// b_j exactly in int64, then the epilogue.
func genQLinear(c *kctx) error {
	e, b, err := qlayer(c)
	if err != nil {
		return err
	}
	if qgemmFits(c) {
		return genQLinearGemm(c, e, b)
	}
	s, err := kernels.QLinearOf(c.node, e)
	if err != nil {
		return err
	}
	c.parallel(itoa((s.N+s.JB-1)/s.JB), 1)
	b.Shape = s
	return c.template("QLinear", b)
}

// genQConv2D specialises kernels.QConv, the integer direct convolution
// on NCHW; the parallel items are (image, output channel) pairs.
func genQConv2D(c *kctx) error {
	e, b, err := qlayer(c)
	if err != nil {
		return err
	}
	s := kernels.QConvOf(c.node, e)
	c.parallel(dimExpr(c.in(0).Shape[0])+"*"+itoa(s.O), 1)
	b.Shape = s
	return c.template("QConv", b)
}
