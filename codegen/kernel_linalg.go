package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// General matrix products and the transposed convolution, pure Go with
// float64 accumulation (as the reference evaluator). What exporters emit
// for a layer with constant weights (Gemm, MatMul by a constant) the ONNX
// importer turns into linear, which runs on codegen/gemm's kernels; these
// are for the rest: products of two computed tensors, transposed
// operands, Gemm's alpha, beta and broadcast C.

func init() {
	register(genGemm, ir.KGemm)
	register(genMatMul, ir.KMatMul)
	register(genConvTranspose, ir.KConvTranspose2D)
	register(genEinsum, ir.KEinsum)
}

func floatOnly(c *kctx) error {
	for i := range c.node.Inputs {
		if !c.in(i).DType.IsFloat() {
			return fmt.Errorf("integer %s is not supported by the generated kernels yet", c.node.Op.Kind())
		}
	}
	return nil
}

// genGemm specialises kernels.Gemm, rows split across the pool.
func genGemm(c *kctx) error {
	if err := floatOnly(c); err != nil {
		return err
	}
	s := kernels.GemmOf(c.node)
	c.parallel(dimExpr(s.M), 4)
	b := tmpl.Binding{Shape: s}
	if !s.C {
		b.Omit = []string{"c"}
	}
	return c.template("Gemm", b)
}

// genMatMul specialises kernels.MatMul.
func genMatMul(c *kctx) error {
	if err := floatOnly(c); err != nil {
		return err
	}
	s, err := kernels.MatMulOf(c.node)
	if err != nil {
		return err
	}
	return c.template("MatMul", tmpl.Binding{Shape: s})
}

// genConvTranspose specialises kernels.ConvTranspose: one output plane
// per work item.
func genConvTranspose(c *kctx) error {
	if err := floatOnly(c); err != nil {
		return err
	}
	s := kernels.ConvTransposeOf(c.node)
	c.parallel(dimExpr(s.Planes), 1)
	b := tmpl.Binding{Shape: s}
	if !s.Bias {
		b.Omit = []string{"bias"}
	}
	return c.template("ConvTranspose", b)
}

// genEinsum specialises kernels.Einsum1 or kernels.Einsum2: the
// equation's loops over the output's labels and, inside, the summed
// ones, with float64 accumulation.
func genEinsum(c *kctx) error {
	s, err := kernels.EinsumOf(c.node)
	if err != nil {
		return err
	}
	return c.template(fmt.Sprintf("Einsum%d", len(c.node.Inputs)), tmpl.Binding{Shape: s})
}
