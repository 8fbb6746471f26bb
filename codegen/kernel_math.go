package codegen

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/ir"
)

// Kernels of ir's ops_compare.go, ops_unary.go and ops_reduce.go: unary
// math and activations, comparisons, logic, bitwise ops, min, max, mod,
// prelu and every reduction. Floats are computed in
// float64 per element as the evaluator does; integers and bools are held
// as int64 (u64 as its bit pattern) and wrapped to their dtype's range.

func init() {
	register(genMath, ir.KSin, ir.KCos, ir.KTan, ir.KAsin, ir.KAcos, ir.KAtan, ir.KSinh, ir.KCosh, ir.KAsinh,
		ir.KAcosh, ir.KAtanh, ir.KCeil, ir.KFloor, ir.KRound, ir.KSign, ir.KReciprocal, ir.KSoftplus,
		ir.KSoftsign, ir.KMish, ir.KIsNaN, ir.KIsInf, ir.KElu, ir.KCelu, ir.KSelu, ir.KThresholdedRelu,
		ir.KShrink, ir.KSwish, ir.KNot, ir.KBitNot)
	register(genBroadcast2, ir.KEqual, ir.KLess, ir.KLessEqual, ir.KGreater, ir.KGreaterEqual, ir.KAnd,
		ir.KOr, ir.KXor, ir.KBitAnd, ir.KBitOr, ir.KBitXor, ir.KBitShift, ir.KMin, ir.KMax, ir.KMod, ir.KPRelu)
	register(genReduce, ir.KReduceMean, ir.KReduceSum, ir.KReduceMax, ir.KReduceMin, ir.KReduceProd,
		ir.KReduceL1, ir.KReduceL2, ir.KReduceLogSum, ir.KReduceLogSumExp, ir.KReduceSumSquare)
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

const softplusSrc = `func softplus(x float64) float64 {
	if x > 30 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}`

const b2iSrc = `func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}`

// mathExpr is the float64 expression of a unary float op of x; bool
// results are int64 expressions (boolOut).
func mathExpr(c *kctx) (expr string, boolOut bool, err error) {
	op := c.node.Op
	simple := map[ir.Kind]string{
		ir.KSin: "math.Sin(x)", ir.KCos: "math.Cos(x)", ir.KTan: "math.Tan(x)", ir.KAsin: "math.Asin(x)",
		ir.KAcos: "math.Acos(x)", ir.KAtan: "math.Atan(x)", ir.KSinh: "math.Sinh(x)", ir.KCosh: "math.Cosh(x)",
		ir.KAsinh: "math.Asinh(x)", ir.KAcosh: "math.Acosh(x)", ir.KAtanh: "math.Atanh(x)", ir.KCeil: "math.Ceil(x)",
		ir.KFloor: "math.Floor(x)", ir.KRound: "math.RoundToEven(x)", ir.KReciprocal: "1 / x",
		ir.KSoftsign: "x / (1 + math.Abs(x))",
		ir.KSign:     "func() float64 { if x > 0 { return 1 }; if x < 0 { return -1 }; return x }()",
	}
	if e, ok := simple[op.Kind()]; ok {
		return e, false, nil
	}
	switch o := op.(type) {
	case ir.Simple:
		switch o.K {
		case ir.KSoftplus:
			c.helper("softplus", softplusSrc)
			return "softplus(x)", false, nil
		case ir.KMish:
			c.helper("softplus", softplusSrc)
			return "x * math.Tanh(softplus(x))", false, nil
		case ir.KIsNaN:
			c.helper("b2i", b2iSrc)
			return "b2i(x != x)", true, nil
		}
	case *ir.IsInf:
		c.helper("b2i", b2iSrc)
		return fmt.Sprintf("b2i(%v && math.IsInf(x, 1) || %v && math.IsInf(x, -1))", o.Pos, o.Neg), true, nil
	case *ir.AlphaAct:
		a := floatLit(o.Alpha)
		switch o.K {
		case ir.KElu:
			return "func() float64 { if x < 0 { return " + a + " * math.Expm1(x) }; return x }()", false, nil
		case ir.KCelu:
			return "max(0, x) + min(0, " + a + "*math.Expm1(x/" + a + "))", false, nil
		case ir.KThresholdedRelu:
			return "func() float64 { if x > " + a + " { return x }; return 0 }()", false, nil
		case ir.KSwish:
			return "x / (1 + math.Exp(-" + a + "*x))", false, nil
		}
	case *ir.Selu:
		g, a := floatLit(o.Gamma), floatLit(o.Alpha)
		return "func() float64 { if x <= 0 { return " + g + " * " + a + " * math.Expm1(x) }; return " + g + " * x }()", false, nil
	case *ir.Shrink:
		l, b := floatLit(o.Lambd), floatLit(o.Bias)
		return "func() float64 { if x < -" + l + " { return x + " + b + " }; if x > " + l + " { return x - " + b + " }; return 0 }()", false, nil
	}
	return "", false, fmt.Errorf("%s is not supported by the generated kernels yet", op.Kind())
}

func genMath(c *kctx) error {
	x, y := c.in(0).DType, c.out(0).DType
	c.line("o0 = o0[:$N]", "N", numelExpr(c.out(0).Shape))
	switch k := c.node.Op.Kind(); {
	case k == ir.KNot:
		c.line("for i, v := range i0[:len(o0)] {")
		c.line("o0[i] = 1 - v")
		c.line("}")
		return nil
	case k == ir.KBitNot:
		c.line("for i, v := range i0[:len(o0)] {")
		c.line("o0[i] = $E", "E", heldWrap("^v", y))
		c.line("}")
		return nil
	case k == ir.KSign && !x.IsFloat():
		c.line("for i, v := range i0[:len(o0)] {")
		c.line("o0[i] = 0")
		c.line("if v > 0 {")
		c.line("o0[i] = 1")
		c.line("} else if v < 0 {")
		c.line("o0[i] = -1")
		c.line("}")
		c.line("}")
		return nil
	case !x.IsFloat() || x != ir.F32:
		return fmt.Errorf("%s on %s is not supported by the generated kernels yet", k, x)
	}
	expr, boolOut, err := mathExpr(c)
	if err != nil {
		return err
	}
	c.line("for i, v := range i0[:len(o0)] {")
	c.line("x := float64(v)")
	if boolOut {
		c.line("o0[i] = $E", "E", expr)
	} else {
		c.line("o0[i] = float32($E)", "E", expr)
	}
	c.line("}")
	return nil
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

// genReduce loops over the kept axes (in order, so the result is written
// row-major) and, inside, over the reduced ones, accumulating in float64
// as the evaluator does; float32 only.
func genReduce(c *kctx) error {
	r := c.node.Op.(*ir.Reduce)
	x := c.in(0).Shape
	if c.in(0).DType != ir.F32 {
		return fmt.Errorf("%s on %s is not supported by the generated kernels yet", r.K, c.in(0).DType)
	}
	red := make([]bool, x.Rank())
	for _, a := range r.Axes {
		red[normAxis(a, x.Rank())] = true
	}
	if len(r.Axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	st := rowStrides(x)
	var kept, reduced []int
	for i := range x {
		if red[i] {
			reduced = append(reduced, i)
		} else {
			kept = append(kept, i)
		}
	}
	init, step, finish := "0.0", "s += v", "s"
	switch r.K {
	case ir.KReduceMax:
		init, step = "math.Inf(-1)", "if v > s || v != v { s = v }"
	case ir.KReduceMin:
		init, step = "math.Inf(1)", "if v < s || v != v { s = v }"
	case ir.KReduceProd:
		init, step = "1.0", "s *= v"
	case ir.KReduceL1:
		step = "s += math.Abs(v)"
	case ir.KReduceL2:
		step, finish = "s += v * v", "math.Sqrt(s)"
	case ir.KReduceLogSum:
		finish = "math.Log(s)"
	case ir.KReduceSumSquare:
		step = "s += v * v"
	case ir.KReduceMean:
		count := []ir.Dim{}
		for _, i := range reduced {
			count = append(count, x[i])
		}
		finish = "s / float64(" + numelExpr(ir.Shape(count)) + ")"
	case ir.KReduceLogSumExp:
		// Two passes: the maximum, then Σ e^(x − max).
		init, step, finish = "math.Inf(-1)", "if v > s { s = v }", "s"
	}
	c.line("o := 0")
	loops := func(axes []int, from string) string {
		prev := from
		for _, i := range axes {
			c.line("for d$D, p$D := 0, $P; d$D < $S; d$D, p$D = d$D+1, p$D+($T) {", "D", i, "P", prev, "S", dimExpr(x[i]), "T", st[i])
			prev = fmt.Sprintf("p%d", i)
		}
		return prev
	}
	base := loops(kept, "0")
	c.line("s := $I", "I", init)
	at := loops(reduced, base)
	c.line("v := float64(i0[$P])", "P", at)
	c.line(step)
	for range reduced {
		c.line("}")
	}
	if r.K == ir.KReduceLogSumExp {
		c.line("if !math.IsInf(s, 0) {")
		c.line("m, e := s, 0.0")
		at := loops(reduced, base)
		c.line("e += math.Exp(float64(i0[$P]) - m)", "P", at)
		for range reduced {
			c.line("}")
		}
		c.line("s = m + math.Log(e)")
		c.line("}")
	}
	c.line("o0[o] = float32($F)", "F", finish)
	c.line("o++")
	for range kept {
		c.line("}")
	}
	return nil
}
