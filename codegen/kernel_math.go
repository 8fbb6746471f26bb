package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Kernels of ir's ops_compare.go, ops_unary.go and ops_reduce.go: unary
// math and activations, comparisons, logic, bitwise ops, min, max, mod,
// and prelu (reductions: kernel_reduce.go). Floats are computed in
// float64 per element as the evaluator does; integers and bools are held
// as int64 (u64 as its bit pattern) and wrapped to their dtype's range.

func init() {
	register(genMath, ir.KSin, ir.KCos, ir.KTan, ir.KAsin, ir.KAcos, ir.KAtan, ir.KSinh, ir.KCosh, ir.KAsinh,
		ir.KAcosh, ir.KAtanh, ir.KCeil, ir.KFloor, ir.KRound, ir.KSign, ir.KReciprocal, ir.KSoftplus,
		ir.KSoftsign, ir.KMish, ir.KIsNaN, ir.KIsInf, ir.KElu, ir.KCelu, ir.KSelu, ir.KThresholdedRelu,
		ir.KShrink, ir.KSwish, ir.KNot, ir.KBitNot)
	register(genBroadcast2, ir.KEqual, ir.KLess, ir.KLessEqual, ir.KGreater, ir.KGreaterEqual, ir.KAnd,
		ir.KOr, ir.KXor, ir.KBitAnd, ir.KBitOr, ir.KBitXor, ir.KBitShift, ir.KMin, ir.KMax, ir.KMod, ir.KPRelu)
}

// genMath specialises kernels.Unary with a math op (float32), or
// kernels.Predicate (is_nan, is_inf) or kernels.IntUnary (not, bit_not,
// integer sign).
func genMath(c *kctx) error {
	if s, hooks, ok := kernels.IntUnaryOf(c.node); ok {
		return c.template("IntUnary", tmpl.Binding{Shape: s, Hooks: hooks})
	}
	if x := c.in(0).DType; !x.IsFloat() {
		return fmt.Errorf("%s on %s is not supported by the generated kernels yet", c.node.Op.Kind(), x)
	}
	if s, op, ok := kernels.PredicateOf(c.node); ok {
		return c.template("Predicate", tmpl.Binding{Shape: s, Hooks: map[string]tmpl.Hook{"Op": op}})
	}
	op, ok := kernels.MathOp(c.node.Op)
	if !ok {
		return fmt.Errorf("%s is not supported by the generated kernels yet", c.node.Op.Kind())
	}
	return c.template("Unary", tmpl.Binding{Shape: kernels.UnaryShape{N: kernels.Numel(c.out(0).Shape)},
		Hooks: map[string]tmpl.Hook{"Op": op, "Vector": dispatchHook(nil, nil, 0)}})
}

// genBroadcast2 specialises the template kernels.Broadcast2Of picks for
// a binary op with numpy broadcasting: Broadcast (float min, max, mod,
// prelu), Compare (float comparisons) or IntBroadcast (integers and
// bools).
func genBroadcast2(c *kctx) error {
	name, shape, hooks, err := kernels.Broadcast2Of(c.node)
	if err != nil {
		return err
	}
	return c.template(name, tmpl.Binding{Shape: shape, Hooks: hooks})
}
