package onnx

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// Comparisons, logic, bitwise ops, min/max/mean, mod, prelu, unary math
// and activations, reductions and selections: one IR op each (ir's
// ops_compare.go, ops_unary.go, ops_reduce.go).

var compareKinds = map[string]ir.Kind{
	"Equal": ir.KEqual, "Less": ir.KLess, "LessOrEqual": ir.KLessEqual, "Greater": ir.KGreater,
	"GreaterOrEqual": ir.KGreaterEqual, "And": ir.KAnd, "Or": ir.KOr, "Xor": ir.KXor,
	"BitwiseAnd": ir.KBitAnd, "BitwiseOr": ir.KBitOr, "BitwiseXor": ir.KBitXor, "PRelu": ir.KPRelu,
}

// importCompare: comparisons, logic and bitwise binary ops and PRelu
// (numpy broadcasting; PRelu-6's slope of one value per channel is
// aligned with axis 1).
func importCompare(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	a, err := c.in(0)
	if err != nil {
		return err
	}
	b, err := c.in(1)
	if err != nil {
		return err
	}
	if c.opset() < 7 {
		c.ignore("broadcast", "axis")
	}
	k := compareKinds[c.n.GetOpType()]
	if k == ir.KPRelu {
		if r := a.Type.Shape.Rank(); b.Type.Shape.Rank() == 1 && r > 2 && b.Type.Shape[0] == a.Type.Shape[1] && b.Type.Shape[0] != ir.D(1) {
			s := ir.Shape{b.Type.Shape[0]}
			for range r - 2 {
				s = append(s, ir.D(1))
			}
			if b, err = c.tmp(&ir.Reshape{Shape: s}, b); err != nil {
				return err
			}
		}
	}
	return c.emit(0, ir.Simple{K: k}, a, b)
}

func importMod(c *nodeCtx) error {
	var e errs
	fm := e.int(c, "fmod", 0) != 0
	if e.err != nil {
		return e.err
	}
	if err := c.arity(2, 2); err != nil {
		return err
	}
	a, err := c.in(0)
	if err != nil {
		return err
	}
	b, err := c.in(1)
	if err != nil {
		return err
	}
	if a.Type.DType.IsFloat() && !fm {
		return fmt.Errorf("Mod of floats needs fmod=1")
	}
	return c.emit(0, &ir.Mod{Fmod: fm}, a, b)
}

func importBitShift(c *nodeCtx) error {
	var e errs
	dir := e.str(c, "direction", "")
	if e.err != nil {
		return e.err
	}
	if dir != "LEFT" && dir != "RIGHT" {
		return fmt.Errorf(`direction must be "LEFT" or "RIGHT", got %q`, dir)
	}
	if err := c.arity(2, 2); err != nil {
		return err
	}
	a, err := c.in(0)
	if err != nil {
		return err
	}
	b, err := c.in(1)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.BitShift{Left: dir == "LEFT"}, a, b)
}

// importVariadic: Min, Max, Mean (and Sum, importSum) fold their inputs
// pairwise, left to right; Mean divides the sum by the count.
func importVariadic(c *nodeCtx) error {
	if c.nin() < 1 {
		return fmt.Errorf("takes at least 1 input")
	}
	if c.opset() < 8 {
		c.ignore("consumed_inputs")
	}
	k := map[string]ir.Kind{"Min": ir.KMin, "Max": ir.KMax, "Mean": ir.KAdd}[c.n.GetOpType()]
	acc, err := c.in(0)
	if err != nil {
		return err
	}
	if c.nin() == 1 {
		c.alias(0, 0)
		return nil
	}
	for i := 1; i < c.nin(); i++ {
		x, err := c.in(i)
		if err != nil {
			return err
		}
		if i == c.nin()-1 && c.n.GetOpType() != "Mean" {
			return c.emit(0, ir.Simple{K: k}, acc, x)
		}
		if acc, err = c.tmp(ir.Simple{K: k}, acc, x); err != nil {
			return err
		}
	}
	n, err := c.scalarConst(acc.Type.DType, float64(c.nin()))
	if err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: ir.KDiv}, acc, n)
}

// scalarConst adds a rank-0 constant of dtype dt.
func (c *nodeCtx) scalarConst(dt ir.DType, v float64) (*ir.Value, error) {
	t := ir.NewTensor(dt, nil)
	if t.F != nil {
		t.F[0] = float32(v)
	} else {
		t.I[0] = int64(v)
	}
	return c.konst(t)
}

var mathKinds = map[string]ir.Kind{
	"Not": ir.KNot, "BitwiseNot": ir.KBitNot, "Sign": ir.KSign, "Reciprocal": ir.KReciprocal,
	"Sin": ir.KSin, "Cos": ir.KCos, "Tan": ir.KTan, "Asin": ir.KAsin, "Acos": ir.KAcos, "Atan": ir.KAtan,
	"Sinh": ir.KSinh, "Cosh": ir.KCosh, "Asinh": ir.KAsinh, "Acosh": ir.KAcosh, "Atanh": ir.KAtanh,
	"Ceil": ir.KCeil, "Floor": ir.KFloor, "Round": ir.KRound, "Softplus": ir.KSoftplus,
	"Softsign": ir.KSoftsign, "Mish": ir.KMish, "IsNaN": ir.KIsNaN,
}

// importMath: unary math without attributes.
func importMath(c *nodeCtx) error {
	if c.opset() < 7 {
		c.ignore("consumed_inputs")
	}
	return c.unaryOp(nil, ir.Simple{K: mathKinds[c.n.GetOpType()]})
}

// importActivation: the activations with parameters.
func importActivation(c *nodeCtx) error {
	var e errs
	var op ir.Op
	switch c.n.GetOpType() {
	case "Elu":
		op = &ir.AlphaAct{K: ir.KElu, Alpha: e.float(c, "alpha", 1)}
	case "Celu":
		op = &ir.AlphaAct{K: ir.KCelu, Alpha: e.float(c, "alpha", 1)}
	case "ThresholdedRelu":
		op = &ir.AlphaAct{K: ir.KThresholdedRelu, Alpha: e.float(c, "alpha", 1)}
	case "Swish":
		op = &ir.AlphaAct{K: ir.KSwish, Alpha: e.float(c, "alpha", 1)}
	case "Selu":
		op = &ir.Selu{Alpha: e.float(c, "alpha", 1.67326319217681884765625), Gamma: e.float(c, "gamma", 1.05070102214813232421875)}
	case "Shrink":
		op = &ir.Shrink{Bias: e.float(c, "bias", 0), Lambd: e.float(c, "lambd", 0.5)}
	case "IsInf":
		op = &ir.IsInf{Neg: e.int(c, "detect_negative", 1) != 0, Pos: e.int(c, "detect_positive", 1) != 0}
	}
	if c.opset() < 7 {
		c.ignore("consumed_inputs")
	}
	return c.unaryOp(e.err, op)
}

// importCastLike casts input 0 to input 1's dtype.
func importCastLike(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	c.ignore("saturate", "round_mode")
	t, err := c.typeOf(1)
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	if x.Type.DType == t.DType {
		c.alias(0, 0)
		return nil
	}
	return c.emit(0, &ir.Cast{To: t.DType}, x)
}

// importSize gives the element count as a scalar i64 (shape math when it
// depends on the batch).
func importSize(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	t, err := c.typeOf(0)
	if err != nil {
		return err
	}
	d, ok := t.Shape.NumelDim()
	if !ok {
		return fmt.Errorf("the element count of %s is not affine in N", t.Shape)
	}
	c.setVal(0, &val{sym: &symTensor{dt: ir.I64, scalar: true, d: []ir.Dim{d}}})
	return nil
}

var reduceKinds = map[string]ir.Kind{
	"ReduceMean": ir.KReduceMean, "ReduceSum": ir.KReduceSum, "ReduceMax": ir.KReduceMax,
	"ReduceMin": ir.KReduceMin, "ReduceProd": ir.KReduceProd, "ReduceL1": ir.KReduceL1,
	"ReduceL2": ir.KReduceL2, "ReduceLogSum": ir.KReduceLogSum, "ReduceLogSumExp": ir.KReduceLogSumExp,
	"ReduceSumSquare": ir.KReduceSumSquare,
}

// importArgReduce: ArgMax, ArgMin (select_last_index from opset 12).
func importArgReduce(c *nodeCtx) error {
	var e errs
	axis := e.int(c, "axis", 0)
	keep := e.int(c, "keepdims", 1) != 0
	last := e.int(c, "select_last_index", 0) != 0
	k := ir.KArgMax
	if c.n.GetOpType() == "ArgMin" {
		k = ir.KArgMin
	}
	return c.unaryOp(e.err, &ir.ArgReduce{K: k, Axis: axis, KeepDims: keep, SelectLast: last})
}

// importTopK: k an attribute before opset 10, then an input known at
// import time; largest and sorted from opset 11.
func importTopK(c *nodeCtx) error {
	var e errs
	axis := e.int(c, "axis", -1)
	largest := e.int(c, "largest", 1) != 0
	sorted := e.int(c, "sorted", 1) != 0
	k := 0
	if c.opset() < 10 {
		k = e.int(c, "k", -1)
		if err := c.arity(1, 1); err != nil {
			return err
		}
	} else {
		if err := c.arity(2, 2); err != nil {
			return err
		}
		v, err := c.ints(1, "K")
		if err != nil {
			return err
		}
		if len(v) != 1 {
			return fmt.Errorf("K must have one element, got %d", len(v))
		}
		k = clampInt(v[0])
	}
	if e.err != nil {
		return e.err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	op := &ir.TopK{Axis: axis, K: k, Largest: largest, Sorted: sorted}
	n, err := c.im.b.Add(c.n.GetName(), op, []*ir.Value{x}, c.outNames(2)...)
	if err != nil {
		return err
	}
	c.set(0, n.Outputs[0])
	c.set(1, n.Outputs[1])
	return nil
}

// outNames names n outputs after the node's (temporaries where omitted).
func (c *nodeCtx) outNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = c.outName(i)
		if names[i] == "" {
			names[i] = c.im.tmpName(c.hint())
		}
	}
	return names
}

// importHardmax: along axis from opset 13; before, over the 2-D
// flattening at axis (default 1), like Softmax.
func importHardmax(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	def := int64(-1)
	if c.opset() < 13 {
		def = 1
	}
	axis, err := c.attrInt("axis", def)
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	r := x.Type.Shape.Rank()
	a, err := normAxis(clampInt(axis), r)
	if err != nil {
		return err
	}
	if c.opset() >= 13 || a == r-1 {
		return c.emit(0, &ir.Hardmax{Axis: a}, x)
	}
	flat, err := c.tmp(&ir.Flatten{Axis: a}, x)
	if err != nil {
		return err
	}
	y, err := c.tmp(&ir.Hardmax{Axis: 1}, flat)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Reshape{Shape: x.Type.Shape.Clone()}, y)
}

// importCumulative: CumSum, CumProd; the axis is an input known at import
// time.
func importCumulative(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	var e errs
	excl := e.int(c, "exclusive", 0) != 0
	rev := e.int(c, "reverse", 0) != 0
	if e.err != nil {
		return e.err
	}
	ax, err := c.ints(1, "axis")
	if err != nil {
		return err
	}
	if len(ax) != 1 {
		return fmt.Errorf("axis must have one element, got %d", len(ax))
	}
	k := ir.KCumSum
	if c.n.GetOpType() == "CumProd" {
		k = ir.KCumProd
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Cumulative{K: k, Axis: clampInt(ax[0]), Exclusive: excl, Reverse: rev}, x)
}

// importGlobalMaxPool is the maximum over the spatial axes.
func importGlobalMaxPool(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	var axes []int
	for a := 2; a < x.Type.Shape.Rank(); a++ {
		axes = append(axes, a)
	}
	if len(axes) == 0 {
		return fmt.Errorf("input %s has no spatial axes", x.Type.Shape)
	}
	return c.emit(0, &ir.Reduce{K: ir.KReduceMax, Axes: axes, KeepDims: true}, x)
}
