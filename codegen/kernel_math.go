package codegen

import (
	"fmt"
	"strings"

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

// heldWrap is the Go expression wrapping int64 v to what dtype dt holds.
func heldWrap(v string, dt ir.DType) string {
	switch dt {
	case ir.U16:
		return "int64(uint16(" + v + "))"
	case ir.U32:
		return "int64(uint32(" + v + "))"
	case ir.Bool:
		return "b2i(" + v + " != 0)"
	}
	return wrapExpr(v, dt)
}

const b2iSrc = `func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}`

// genMath specialises kernels.Unary with a math op (float32), or
// kernels.Predicate (is_nan, is_inf) or kernels.IntUnary (not, bit_not,
// integer sign).
func genMath(c *kctx) error {
	if s, hooks, ok := kernels.IntUnaryOf(c.node); ok {
		return c.template("IntUnary", tmpl.Binding{Shape: s, Hooks: hooks})
	}
	if x := c.in(0).DType; x != ir.F32 {
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

// binaryOpExpr is the expression of a binary op of a and b: float64 for
// float operands, int64 (or uint64 for u64) for integers; boolOut when
// the result is an int64 0 or 1 regardless of the operands.
func binaryOpExpr(c *kctx) (expr string, boolOut bool, err error) {
	dt := c.in(0).DType
	f := dt.IsFloat()
	cmp := map[ir.Kind]string{ir.KEqual: "==", ir.KLess: "<", ir.KLessEqual: "<=", ir.KGreater: ">", ir.KGreaterEqual: ">="}
	if o, ok := cmp[c.node.Op.Kind()]; ok {
		c.helper("b2i", b2iSrc)
		if dt == ir.U64 {
			return "b2i(uint64(a) " + o + " uint64(b))", true, nil
		}
		return "b2i(a " + o + " b)", true, nil
	}
	switch op := c.node.Op.(type) {
	case ir.Simple:
		switch op.K {
		case ir.KAdd:
			return "a + b", false, nil
		case ir.KSub:
			return "a - b", false, nil
		case ir.KMul:
			return "a * b", false, nil
		case ir.KDiv:
			if dt == ir.U64 {
				return "int64(uint64(a) / uint64(b))", false, nil
			}
			return "a / b", false, nil
		case ir.KPow:
			return "func() int64 { r := int64(1); for n := b; n > 0; n-- { r *= a }; return r }()", false, nil
		case ir.KAnd:
			c.helper("b2i", b2iSrc)
			return "b2i(a != 0 && b != 0)", true, nil
		case ir.KOr:
			c.helper("b2i", b2iSrc)
			return "b2i(a != 0 || b != 0)", true, nil
		case ir.KXor:
			c.helper("b2i", b2iSrc)
			return "b2i((a != 0) != (b != 0))", true, nil
		case ir.KBitAnd:
			return "a & b", false, nil
		case ir.KBitOr:
			return "a | b", false, nil
		case ir.KBitXor:
			return "a ^ b", false, nil
		case ir.KMin, ir.KMax:
			m := map[ir.Kind]string{ir.KMin: "min", ir.KMax: "max"}[op.K]
			switch {
			case f:
				return "func() float64 { if a != a || b != b { return math.NaN() }; return " + m + "(a, b) }()", false, nil
			case dt == ir.U64:
				return "int64(" + m + "(uint64(a), uint64(b)))", false, nil
			}
			return m + "(a, b)", false, nil
		case ir.KPRelu:
			return "func() " + map[bool]string{true: "float64", false: "int64"}[f] + " { if a < 0 { return a * b }; return a }()", false, nil
		}
	case *ir.Mod:
		switch {
		case f:
			return "math.Mod(a, b)", false, nil
		case dt == ir.U64:
			return "int64(uint64(a) % uint64(b))", false, nil
		case op.Fmod:
			return "a % b", false, nil
		}
		return "func() int64 { r := a % b; if r != 0 && (r < 0) != (b < 0) { r += b }; return r }()", false, nil
	case *ir.BitShift:
		bits := dt.Size() * 8
		if op.Left {
			return fmt.Sprintf("func() int64 { if uint64(b) >= %d { return 0 }; return int64(uint64(a) << uint64(b)) }()", bits), false, nil
		}
		return fmt.Sprintf("func() int64 { if uint64(b) >= %d { return 0 }; return int64(uint64(a) >> uint64(b)) }()", bits), false, nil
	}
	return "", false, fmt.Errorf("%s on %s is not supported by the generated kernels yet", c.node.Op.Kind(), dt)
}

// genBroadcast2 is a binary op with numpy broadcasting: nested loops over
// the result's dims with a stride per operand.
func genBroadcast2(c *kctx) error {
	dt, od := c.in(0).DType, c.out(0).DType
	if dt.IsFloat() && dt != ir.F32 {
		return fmt.Errorf("%s on %s is not supported by the generated kernels yet", c.node.Op.Kind(), dt)
	}
	if k := c.node.Op.Kind(); (k == ir.KMod || k == ir.KDiv || k == ir.KPow) && !dt.IsFloat() {
		c.fallible = true
	}
	expr, boolOut, err := binaryOpExpr(c)
	if err != nil {
		return err
	}
	load := "a, b := i0[pa$L], i1[pb$L]"
	store := "o0[o] = " + heldWrap(expr, od)
	switch {
	case dt.IsFloat() && boolOut:
		load = "a, b := float64(i0[pa$L]), float64(i1[pb$L])"
		store = "o0[o] = " + expr
	case dt.IsFloat():
		load = "a, b := float64(i0[pa$L]), float64(i1[pb$L])"
		store = "o0[o] = float32(" + expr + ")"
	case boolOut:
		store = "o0[o] = " + expr
	}
	out := c.out(0).Shape
	sa, sb := broadcastStrides(c.in(0).Shape, out), broadcastStrides(c.in(1).Shape, out)
	r := len(out)
	c.line("o := 0")
	if r == 0 {
		c.line("pa_, pb_ := 0, 0")
		c.line(strings.ReplaceAll(strings.ReplaceAll(load, "pa$L", "pa_"), "pb$L", "pb_"))
		c.guardZero(dt)
		c.line(store)
		c.line("_ = o")
		if c.fallible {
			c.line("return nil")
		}
		return nil
	}
	for d := 0; d < r; d++ {
		c.line("for d$D, pa$D, pb$D := 0, $PA, $PB; d$D < $S; d$D, pa$D, pb$D = d$D+1, pa$D+$SA, pb$D+$SB {",
			"D", d, "S", dimExpr(out[d]), "SA", sa[d], "SB", sb[d], "PA", prev("pa", d), "PB", prev("pb", d))
	}
	c.line(load, "L", r-1)
	c.guardZero(dt)
	c.line(store)
	c.line("o++")
	for d := 0; d < r; d++ {
		c.line("}")
	}
	if c.fallible {
		c.line("return nil")
	}
	return nil
}

// guardZero returns an error for an integer division or remainder by
// zero and a negative integer power, as the evaluator does.
func (c *kctx) guardZero(dt ir.DType) {
	if dt.IsFloat() {
		return
	}
	switch c.node.Op.Kind() {
	case ir.KMod, ir.KDiv:
		c.line("if b == 0 {")
		c.line(`return fmt.Errorf("integer division by zero")`)
		c.line("}")
	case ir.KPow:
		c.line("if b < 0 {")
		c.line(`return fmt.Errorf("integer power with negative exponent %d", b)`)
		c.line("}")
	}
}
