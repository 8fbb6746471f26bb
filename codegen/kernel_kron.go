package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Kronecker-factored kernels: phm_linear and phc_conv2d run on their
// factors (kernels.PHMLinear, kernels.PHCConv2D), never materialising
// W = Σ_r A_r ⊗ F_r (docs/algorithms.md §4), so the package embeds and
// streams R·(m1·n1 + m2·n2·taps) weights instead of the dense
// m1·m2·n1·n2·taps.
//
// Which one runs is a per-shape rule (phmExec): a PHM layer saves weight
// traffic, not arithmetic, and pays a second pass (the mix by A), so a
// layer whose dense weight stays in cache (≤ kronDenseBytes), or whose
// factored form costs over twice the dense MACs (R terms ≫ n1), runs as a
// dense linear on W materialised when the package is built, and a larger
// one, memory-bound at small batches, runs factored. phm_linear's exec
// attribute overrides the rule (the kronecker pass's execution option).
// phc_conv2d always runs factored.

// kronDenseBytes is the largest dense weight the rule materialises: about
// one core's L2, where W stays between calls and the factored kernel's
// saving of memory traffic is worth nothing.
const kronDenseBytes = 1 << 20

// phmExec is how a phm_linear runs: ir.ExecFactored or ir.ExecDense.
func phmExec(n *ir.Node, k ir.Kron) string {
	o := n.Op.(*ir.PHMLinear)
	if o.Exec != ir.ExecAuto {
		return o.Exec
	}
	if o.Scaled || !isDenseConst(n.Inputs[1]) || !isDenseConst(n.Inputs[2]) {
		return ir.ExecFactored
	}
	if 4*k.Out()*k.In() <= kronDenseBytes || k.MACs() > 2*k.Out()*k.In() {
		return ir.ExecDense
	}
	return ir.ExecFactored
}

func init() {
	register(genPHMLinear, ir.KPHMLinear)
	register(genPHCConv2D, ir.KPHCConv2D)
}

// kronEpilogue returns the template bindings of a factored node's
// epilogue: linear's (epilogue), and no scale parameter when the node
// has none.
func kronEpilogue(c *kctx, b *tmpl.Binding) error {
	if !ir.ScaledOf(c.node.Op) {
		b.Omit = append(b.Omit, "scale")
	}
	return epilogue(kernels.EpiOf(c.node), b)
}

// genPHMLinear specialises kernels.PHMLinear, the factored linear in two
// passes: the GEMM by the stacked factors F on the layer's own GEMM
// kernels (the pure-Go one and the targets' Linear kernels, through the
// same tier switch as linear), then the mix by A with the epilogue. A
// layer the cost rule (phmExec) runs dense goes to genPHMDense.
func genPHMLinear(c *kctx) error {
	k, _ := ir.KronOf(c.node)
	x := c.in(0)
	rows, ok := x.Shape[:x.Shape.Rank()-1].NumelDim()
	if !ok {
		return fmt.Errorf("rows of %s are not affine in N", x.Shape)
	}
	if phmExec(c.node, k) == ir.ExecDense {
		return genPHMDense(c, k, rows)
	}
	// Factors fed at run time, or splats, the kernel packs itself.
	runtimeW := !isDenseConst(c.node.Inputs[1]) || !isDenseConst(c.node.Inputs[2])
	g := newGemmLayer(c, k.R*k.M2, k.N2, 2, !runtimeW, "", isa.Epilogue{})
	if !runtimeW {
		c.packInput(2, fmt.Sprintf("kron%d_%s", k.R, g.name), kernels.PackPHMF(g.p, k))
		c.packInput(1, fmt.Sprintf("kronA%dx%dx%d", k.R, k.M1, k.N1), kernels.PackPHMA(k))
	}
	s := kernels.NewPHMLinear(c.node, g.p)
	s.Rows = rows
	s.RuntimeW = runtimeW
	c.scratchBuf(rows.MulInt(s.Q * s.ZN))
	items := fmt.Sprintf("(%s+%d)/%d*%d", dimExpr(rows), s.RB-1, s.RB, s.NC)
	b := tmpl.Binding{Shape: s, Hooks: map[string]tmpl.Hook{
		"Gemm":   tmpl.Call{Func: g.name},
		"Vector": dispatchHook(g.ks, nil, 7),
	}}
	if runtimeW {
		// Every chunk would pack the same buffers: one serial call.
		c.scratchBuf(ir.D(k.R * k.M1 * k.N1))
		c.scratchBuf(ir.D(g.p.PackedLen()))
		b.Serial = items
	} else {
		c.parallel(items, 1)
		b.Omit = append(b.Omit, "abuf", "fbuf")
	}
	if err := kronEpilogue(c, &b); err != nil {
		return err
	}
	return c.template("PHMLinear", b)
}

// genPHMDense runs a phm_linear as a dense linear (genGemmLinear, the
// kernel of linear) on W = Σ A_r ⊗ F_r, materialised and packed when the
// package is built in place of F: the package holds W, not the factors.
// The kernel names A's constant in a comment, so that layers never share
// it, and with it the packing that reads A.
func genPHMDense(c *kctx, k ir.Kron, rows ir.Dim) error {
	a, sv := c.node.Inputs[1], c.node.Inputs[2]
	o := c.node.Op.(*ir.PHMLinear)
	if o.Scaled || !isDenseConst(a) || !isDenseConst(sv) {
		return fmt.Errorf("exec %q needs dense constant factors and no scale: not supported by codegen yet", ir.ExecDense)
	}
	at, sshape := a.Const, sv.Const.Shape
	w := &builtWeights{key: fmt.Sprintf("kronW(%s)", a.Name), of: func(s []float32) []float32 {
		w64 := ir.KronSum(at, &ir.Tensor{DType: ir.F32, Shape: sshape, F: s})
		w := make([]float32, len(w64))
		for i, v := range w64 {
			w[i] = float32(v)
		}
		return w
	}}
	fmt.Fprintf(&c.body, "// W = Σ A_r ⊗ F_r, materialised at build time; A is %s.\n", comment(a.Name))
	return genGemmLinear(c, rows, k.Out(), k.In(), 2, w)
}

// genPHCConv2D specialises kernels.PHCConv2D: the channel-block mix,
// then a direct convolution by each term's F_r, in pure Go.
func genPHCConv2D(c *kctx) error {
	s := kernels.NewPHCConv2D(c.node)
	c.scratchBuf(s.Items.MulInt(s.CB * s.H * s.W))
	c.parallel(dimExpr(s.Items), 1)
	b := tmpl.Binding{Shape: s}
	if err := kronEpilogue(c, &b); err != nil {
		return err
	}
	return c.template("PHCConv2D", b)
}
