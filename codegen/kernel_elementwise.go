package codegen

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/ir"
)

// Elementwise kernels: one loop, f32 storage, float64 arithmetic per
// element (as the reference evaluator does), so results agree to rounding.

func init() {
	register(genUnary, ir.KRelu, ir.KLeakyRelu, ir.KSigmoid, ir.KTanh, ir.KGelu, ir.KErf, ir.KExp,
		ir.KLog, ir.KSqrt, ir.KNeg, ir.KAbs, ir.KHardSigmoid, ir.KHardSwish, ir.KClip)
	register(genBinary, ir.KAdd, ir.KSub, ir.KMul, ir.KDiv, ir.KPow)
}

// floatLit is f as a Go float64 expression (math.Inf and math.NaN for
// the non-finite values, which have no literal).
func floatLit(f float64) string {
	switch {
	case f != f:
		return "math.NaN()"
	case isInf(f) && f > 0:
		return "math.Inf(1)"
	case isInf(f):
		return "math.Inf(-1)"
	}
	return ir.FormatFloat(f)
}

// unaryExpr is the float64 expression of an elementwise op of x.
func unaryExpr(op ir.Op) string {
	switch o := op.(type) {
	case *ir.LeakyRelu:
		return fmt.Sprintf("x * (1 + float64(btof(x < 0))*(%s - 1))", floatLit(o.Alpha))
	case *ir.Gelu:
		if o.Approximate == "tanh" {
			return "0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))"
		}
		return "float64(numerics.Gelu32(float32(x)))"
	case *ir.HardSigmoid:
		return fmt.Sprintf("min(max(%s*x+%s, 0), 1)", floatLit(o.Alpha), floatLit(o.Beta))
	case *ir.Clip:
		lo, hi := "math.Inf(-1)", "math.Inf(1)"
		if !isInf(o.Min) {
			lo = floatLit(o.Min)
		}
		if !isInf(o.Max) {
			hi = floatLit(o.Max)
		}
		return fmt.Sprintf("min(max(x, %s), %s)", lo, hi)
	}
	switch op.Kind() {
	case ir.KRelu:
		return "max(x, 0)"
	case ir.KSigmoid:
		return "1 / (1 + math.Exp(-x))"
	case ir.KTanh:
		return "math.Tanh(x)"
	case ir.KErf:
		return "math.Erf(x)"
	case ir.KExp:
		return "math.Exp(x)"
	case ir.KLog:
		return "math.Log(x)"
	case ir.KSqrt:
		return "math.Sqrt(x)"
	case ir.KNeg:
		return "-x"
	case ir.KAbs:
		return "math.Abs(x)"
	case ir.KHardSwish:
		return "x * min(max(x+3, 0), 6) / 6"
	}
	return ""
}

func isInf(f float64) bool { return f > 1e308 || f < -1e308 }

func genUnary(c *kctx) error {
	if !c.in(0).DType.IsFloat() {
		return fmt.Errorf("integer %s is not supported by the generated kernels yet", c.node.Op.Kind())
	}
	expr := unaryExpr(c.node.Op)
	if strings.Contains(expr, "btof") {
		expr = strings.ReplaceAll(expr, "float64(btof(x < 0))", "b2f(x < 0)")
		c.line("b2f := func(b bool) float64 { if b { return 1 }; return 0 }")
	}
	c.line("o0 = o0[:$N]", "N", numelExpr(c.out(0).Shape))
	start := "0"
	if c.node.Op.Kind() == ir.KRelu {
		start = c.elementwiseVector("relu", "o0", "i0", "nil", "0, 0")
	}
	c.line("for i, v := range i0[$S:len(o0)] {", "S", start)
	c.line("x := float64(v)")
	c.line("o0[$S+i] = float32($E)", "S", start, "E", expr)
	c.line("}")
	return nil
}

// elementwiseVector emits the call of the targets' element-wise kernels
// of op on dst's whole vectors (a and b the operands, st the affine
// scalars "s, t") and returns the variable holding how many elements
// they did (0 on the pure-Go tiers).
func (c *kctx) elementwiseVector(op, dst, a, b, st string) string {
	ks := c.kernels(func(t isa.Target) []isa.Kernel { return t.Elementwise(isa.ElementwiseSpec{Op: op}) })
	c.line("done := 0")
	c.dispatch(ks, func(name string) {
		c.line("done = $F($D, $A, $B, $ST)", "F", name, "D", dst, "A", a, "B", b, "ST", st)
	}, nil)
	return "done"
}

var binaryExpr = map[ir.Kind]string{
	ir.KAdd: "a + b", ir.KSub: "a - b", ir.KMul: "a * b", ir.KDiv: "a / b", ir.KPow: "math.Pow(a, b)",
}

// broadcastStrides returns expressions for the strides with which an
// input of shape in is read when broadcast to out (0 on broadcast dims).
func broadcastStrides(in, out ir.Shape) []string {
	st := make([]string, len(out))
	off := len(out) - len(in)
	acc := []string{}
	for i := len(out) - 1; i >= 0; i-- {
		j := i - off
		if j < 0 || (in[j] == ir.D(1) && out[i] != ir.D(1)) {
			st[i] = "0"
		} else if len(acc) == 0 {
			st[i] = "1"
		} else {
			st[i] = strings.Join(acc, "*")
		}
		if j >= 0 && in[j] != ir.D(1) {
			acc = append(acc, dimExpr(in[j]))
		}
	}
	return st
}

func genBinary(c *kctx) error {
	if !c.in(0).DType.IsFloat() {
		return genBroadcast2(c) // integers (kernel_math.go)
	}
	expr := binaryExpr[c.node.Op.Kind()]
	out := c.out(0).Shape
	a, b := c.in(0).Shape, c.in(1).Shape
	c.line("o0 = o0[:$N]", "N", numelExpr(out))
	if a.Equal(out) && b.Equal(out) {
		c.line("i0, i1 = i0[:len(o0)], i1[:len(o0)]")
		start := "0"
		if op := map[ir.Kind]string{ir.KAdd: "add", ir.KSub: "sub", ir.KMul: "mul"}[c.node.Op.Kind()]; op != "" {
			start = c.elementwiseVector(op, "o0", "i0", "i1", "0, 0")
		}
		c.line("for i := $S; i < len(o0); i++ {", "S", start)
		c.line("a, b := float64(i0[i]), float64(i1[i])")
		c.line("o0[i] = float32($E)", "E", expr)
		c.line("}")
		return nil
	}
	// General broadcast: nested loops over out's dims with per-input strides.
	sa, sb := broadcastStrides(a, out), broadcastStrides(b, out)
	r := len(out)
	if r == 0 {
		c.line("a, b := float64(i0[0]), float64(i1[0])")
		c.line("o0[0] = float32($E)", "E", expr)
		return nil
	}
	c.line("o := 0")
	for d := 0; d < r; d++ {
		c.line("for d$D, pa$D, pb$D := 0, $PA, $PB; d$D < $S; d$D, pa$D, pb$D = d$D+1, pa$D+$SA, pb$D+$SB {",
			"D", d, "S", dimExpr(out[d]), "SA", sa[d], "SB", sb[d], "PA", prev("pa", d), "PB", prev("pb", d))
	}
	last := r - 1
	c.line("a, b := float64(i0[pa$L]), float64(i1[pb$L])", "L", last)
	c.line("o0[o] = float32($E)", "E", expr)
	c.line("o++")
	for d := 0; d < r; d++ {
		c.line("}")
	}
	return nil
}

// prev is the starting offset of loop d: the enclosing loop's offset.
func prev(p string, d int) string {
	if d == 0 {
		return "0"
	}
	return fmt.Sprintf("%s%d", p, d-1)
}
