package codegen

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// Indexing and element-type kernels: gather, where, cast. Integer and
// bool tensors are held as int64 (as the evaluator holds them); a cast
// to a narrower integer wraps as Go's conversions do.

func init() {
	register(genGather, ir.KGather)
	register(genWhere, ir.KWhere)
	register(genCast, ir.KCast)
}

// genGather copies, for each outer index and each index in i1, the inner
// block of row i1[j] along the axis; an index out of range is an error.
func genGather(c *kctx) error {
	x := c.in(0).Shape
	axis := normAxis(c.node.Op.(*ir.Gather).Axis, x.Rank())
	c.fallible = true
	c.line("const L = $L", "L", dimExpr(x[axis]))
	c.line("outer, inner, ni := $O, $I, $NI", "O", numelExpr(x[:axis]), "I", numelExpr(x[axis+1:]), "NI", numelExpr(c.in(1).Shape))
	c.line("for o := 0; o < outer; o++ {")
	c.line("for j, k := range i1[:ni] {")
	c.line("if k < 0 {")
	c.line("k += L")
	c.line("}")
	c.line("if k < 0 || k >= L {")
	c.line(`return fmt.Errorf("gather: index %d at position %d is outside [-%d, %d)", i1[j], j, L, L)`)
	c.line("}")
	c.line("src := (o*L + int(k)) * inner")
	c.line("dst := (o*ni + j) * inner")
	c.line("copy(o0[dst:dst+inner], i0[src:src+inner])")
	c.line("}")
	c.line("}")
	c.line("return nil")
	return nil
}

// genWhere: out = cond ? x : y with numpy broadcasting of all three.
func genWhere(c *kctx) error {
	out := c.out(0).Shape
	st := [3][]string{}
	for i := range st {
		st[i] = broadcastStrides(c.in(i).Shape, out)
	}
	r := out.Rank()
	if r == 0 {
		c.line("if i0[0] != 0 {")
		c.line("o0[0] = i1[0]")
		c.line("} else {")
		c.line("o0[0] = i2[0]")
		c.line("}")
		return nil
	}
	c.line("o := 0")
	for d := 0; d < r; d++ {
		c.line("for d$D, pc$D, px$D, py$D := 0, $PC, $PX, $PY; d$D < $S; d$D, pc$D, px$D, py$D = d$D+1, pc$D+$SC, px$D+$SX, py$D+$SY {",
			"D", d, "S", dimExpr(out[d]), "SC", st[0][d], "SX", st[1][d], "SY", st[2][d],
			"PC", prev("pc", d), "PX", prev("px", d), "PY", prev("py", d))
	}
	c.line("if i0[pc$L] != 0 {", "L", r-1)
	c.line("o0[o] = i1[px$L]", "L", r-1)
	c.line("} else {")
	c.line("o0[o] = i2[py$L]", "L", r-1)
	c.line("}")
	c.line("o++")
	for d := 0; d < r; d++ {
		c.line("}")
	}
	return nil
}

// wrapExpr is the Go expression wrapping int64 v to dtype dt's range.
func wrapExpr(v string, dt ir.DType) string {
	switch dt {
	case ir.I8:
		return "int64(int8(" + v + "))"
	case ir.U8:
		return "int64(uint8(" + v + "))"
	case ir.I16:
		return "int64(int16(" + v + "))"
	case ir.I32:
		return "int64(int32(" + v + "))"
	}
	return v
}

// genCast converts element types as the evaluator does: to bool is
// x ≠ 0; float to integer truncates toward zero and wraps (NaN and ±Inf
// are an error); integer to float rounds once, through float64.
func genCast(c *kctx) error {
	from, to := c.in(0).DType, c.node.Op.(*ir.Cast).To
	if to == ir.F16 || to == ir.BF16 {
		return fmt.Errorf("cast to %s is not supported by the generated kernels yet", to)
	}
	c.line("o0 = o0[:$N]", "N", numelExpr(c.out(0).Shape))
	switch {
	case to == ir.Bool:
		c.line("for i, v := range i0[:len(o0)] {")
		c.line("o0[i] = 0")
		c.line("if v != 0 {")
		c.line("o0[i] = 1")
		c.line("}")
		c.line("}")
	case to.IsFloat() && from.IsFloat():
		c.line("copy(o0, i0)")
	case to.IsFloat():
		c.line("for i, v := range i0[:len(o0)] {")
		c.line("o0[i] = float32(float64(v))")
		c.line("}")
	case from.IsFloat():
		c.fallible = true
		c.line("for i, v := range i0[:len(o0)] {")
		c.line("if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {")
		c.line(`return fmt.Errorf("cast: cannot cast %v to $T (element %d)", v, i)`, "T", to)
		c.line("}")
		c.line("o0[i] = $E", "E", wrapExpr("int64(v)", to))
		c.line("}")
		c.line("return nil")
	default:
		c.line("for i, v := range i0[:len(o0)] {")
		c.line("o0[i] = $E", "E", wrapExpr("v", to))
		c.line("}")
	}
	return nil
}
