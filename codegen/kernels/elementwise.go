package kernels

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/numerics"
)

// Element-wise kernels: one loop, f32 storage, float64 arithmetic per
// element (as the reference evaluator does), so results agree to
// rounding. The op is a hook: one of the functions below, inlined.

// UnaryShape is an element-wise op of one operand.
type UnaryShape struct {
	N      ir.Dim                  // elements
	Op     func(x float64) float64 // the op: UnaryOp's function, inlined
	Vector ElementwiseKernel       // the targets' kernels, where they have the op
}

// Unary computes y = op(x) over N elements; where a target has the op
// (ReLU) its kernel does the leading whole vectors and Go the rest.
func Unary(s UnaryShape, n int, y, x []float32) {
	y = y[:s.N.At(n)]
	done := s.Vector.Run(y, x, nil, 0, 0)
	for i, v := range x[done:len(y)] {
		xv := float64(v)
		y[done+i] = float32(s.Op(xv))
	}
}

// BinaryShape is an element-wise op of two operands of the output's
// shape.
type BinaryShape struct {
	N      ir.Dim // elements
	Op     func(a, b float64) float64
	Vector ElementwiseKernel
}

// Binary computes y = op(a, b) over N elements; where a target has the
// op (add, sub, mul) its kernel does the leading whole vectors.
func Binary(s BinaryShape, n int, y, a, b []float32) {
	y = y[:s.N.At(n)]
	a, b = a[:len(y)], b[:len(y)]
	done := s.Vector.Run(y, a, b, 0, 0)
	for i := done; i < len(y); i++ {
		y[i] = float32(s.Op(float64(a[i]), float64(b[i])))
	}
}

// BroadcastShape is an element-wise op of two operands broadcast to the
// output's shape (numpy rules).
type BroadcastShape struct {
	N ir.Dim // elements of the output
	// Loops run over the output's dimensions, with a's and b's offsets
	// (stride 0 on a broadcast dimension).
	Loops tmpl.Nest
	Op    func(a, b float64) float64
}

// NewBroadcast returns the shape of an op of a and b broadcast to out.
func NewBroadcast(a, b, out ir.Shape) BroadcastShape {
	return BroadcastShape{N: Numel(out), Loops: tmpl.Nest{Dims: out, Steps: [][]ir.Dim{BroadcastStrides(a, out), BroadcastStrides(b, out)}}}
}

// Broadcast computes y = op(a, b) over the output's elements in order.
func Broadcast(s BroadcastShape, n int, y, a, b []float32) {
	y = y[:s.N.At(n)]
	o := 0
	for p := range s.Loops.Each(n, 0, 0) {
		y[o] = float32(s.Op(float64(a[p[0]]), float64(b[p[1]])))
		o++
	}
}

// BroadcastStrides returns the strides with which an operand of shape
// in is read when broadcast to out: row-major over in's dimensions, 0 on
// a dimension broadcast (in's is 1 or missing).
func BroadcastStrides(in, out ir.Shape) []ir.Dim {
	st := make([]ir.Dim, len(out))
	off := len(out) - len(in)
	acc := ir.D(1)
	for i := len(out) - 1; i >= 0; i-- {
		j := i - off
		if j < 0 || (in[j] == ir.D(1) && out[i] != ir.D(1)) {
			st[i] = ir.D(0)
		} else {
			st[i] = acc
		}
		if j >= 0 && in[j] != ir.D(1) {
			acc = mul(acc, in[j])
		}
	}
	return st
}

// RowStrides returns the row-major strides of s.
func RowStrides(s ir.Shape) []ir.Dim {
	st := make([]ir.Dim, len(s))
	acc := ir.D(1)
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = acc
		acc = mul(acc, s[i])
	}
	return st
}

// Numel is the element count of s, which the memory plan has checked is
// affine in the batch.
func Numel(s ir.Shape) ir.Dim {
	d, ok := s.NumelDim()
	if !ok {
		panic("BUG: kernels: the size of " + s.String() + " is not affine in N (memory-plan checks sizes)")
	}
	return d
}

// NormAxis turns a negative axis (counted from the end) into its index;
// shape rules have already checked it is in range.
func NormAxis(axis, rank int) int {
	if axis < 0 {
		axis += rank
	}
	return axis
}

// mul multiplies two sizes; a product that is not affine in the batch is
// a shape no memory plan accepts, so a bug here.
func mul(a, b ir.Dim) ir.Dim {
	p, ok := a.Mul(b)
	if !ok {
		panic(fmt.Sprintf("BUG: kernels: %s·%s is not affine in N (memory-plan checks sizes)", a, b))
	}
	return p
}

// UnaryOp returns the Inline hook of op's function (its attributes as
// the trailing arguments), or false for an op that is not element-wise.
func UnaryOp(op ir.Op) (tmpl.Inline, bool) {
	switch o := op.(type) {
	case *ir.LeakyRelu:
		return tmpl.Inline{Func: "LeakyRelu", Args: []any{o.Alpha}}, true
	case *ir.Gelu:
		if o.Approximate == "tanh" {
			return tmpl.Inline{Func: "GeluTanh"}, true
		}
		return tmpl.Inline{Func: "Gelu"}, true
	case *ir.HardSigmoid:
		return tmpl.Inline{Func: "HardSigmoid", Args: []any{o.Alpha, o.Beta}}, true
	case *ir.Clip:
		return tmpl.Inline{Func: "Clip", Args: []any{o.Min, o.Max}}, true
	}
	name, ok := map[ir.Kind]string{
		ir.KRelu: "Relu", ir.KSigmoid: "Sigmoid", ir.KTanh: "Tanh", ir.KErf: "Erf", ir.KExp: "Exp",
		ir.KLog: "Log", ir.KSqrt: "Sqrt", ir.KNeg: "Neg", ir.KAbs: "Abs", ir.KHardSwish: "HardSwish",
	}[op.Kind()]
	return tmpl.Inline{Func: name}, ok
}

// BinaryOp returns the Inline hook of a binary op of kind k.
func BinaryOp(k ir.Kind) (tmpl.Inline, bool) {
	name, ok := map[ir.Kind]string{ir.KAdd: "Add", ir.KSub: "Sub", ir.KMul: "Mul", ir.KDiv: "Div", ir.KPow: "Pow"}[k]
	return tmpl.Inline{Func: name}, ok
}

// The ops' functions, in float64 as the evaluator computes them (GELU's
// erf form on numerics.Gelu32, as the vector kernels compute it).

func Relu(x float64) float64             { return max(x, 0) }
func LeakyRelu(x, alpha float64) float64 { return x * (1 + b2f(x < 0)*(alpha-1)) }
func Sigmoid(x float64) float64          { return 1 / (1 + math.Exp(-x)) }
func Tanh(x float64) float64             { return math.Tanh(x) }
func Gelu(x float64) float64             { return float64(numerics.Gelu32(float32(x))) }
func GeluTanh(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}
func Erf(x float64) float64                      { return math.Erf(x) }
func Exp(x float64) float64                      { return math.Exp(x) }
func Log(x float64) float64                      { return math.Log(x) }
func Sqrt(x float64) float64                     { return math.Sqrt(x) }
func Neg(x float64) float64                      { return -x }
func Abs(x float64) float64                      { return math.Abs(x) }
func HardSigmoid(x, alpha, beta float64) float64 { return min(max(alpha*x+beta, 0), 1) }
func HardSwish(x float64) float64                { return x * min(max(x+3, 0), 6) / 6 }
func Clip(x, lo, hi float64) float64             { return min(max(x, lo), hi) }

func Add(a, b float64) float64 { return a + b }
func Sub(a, b float64) float64 { return a - b }
func Mul(a, b float64) float64 { return a * b }
func Div(a, b float64) float64 { return a / b }
func Pow(a, b float64) float64 { return math.Pow(a, b) }

// b2f is 1 for true, 0 for false.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ChannelNHWCShape is an element-wise op of an NHWC activation [N, H, W,
// C] and a per-channel operand [N, C, 1, 1] (squeeze-and-excitation's
// scale), the rows of C floats the parallel items. The image's channel
// vector is tiled over a block of up to RB rows, so the targets'
// element-wise kernels (add, sub, mul) apply it as an op of two
// same-length vectors; the Go loop does the rest, as Binary does.
type ChannelNHWCShape struct {
	C, HW, RB int
	VecFirst  bool   // the per-channel operand is a, not b
	Items     ir.Dim // rows: N·H·W
	Op        func(a, b float64) float64
	Vector    ElementwiseKernel
}

// ChannelNHWCOf returns the shape of binary node nd whose operand vec (0
// or 1) is per channel, on NHWC: blocks of about 2048 floats.
func ChannelNHWCOf(nd *ir.Node, vec int) ChannelNHWCShape {
	y := nd.Outputs[0].Type.Shape
	c := y[1].B
	return ChannelNHWCShape{C: c, HW: y[2].B * y[3].B, RB: max(1, 2048/c), VecFirst: vec == 0, Items: Numel(ir.Shape{y[0], y[2], y[3]})}
}

// ChannelNHWC computes rows [lo, hi).
func ChannelNHWC(s ChannelNHWCShape, n, lo, hi int, y, a, b []float32) {
	C, HW, RB := s.C, s.HW, s.RB
	x, v := a, b
	if s.VecFirst {
		x, v = b, a
	}
	rep := make([]float32, RB*C)
	img := -1
	for r0 := lo; r0 < hi; {
		bi := r0 / HW
		r1 := min(hi, r0+RB, (bi+1)*HW)
		if bi != img {
			img = bi
			for r := 0; r < min(RB, HW); r++ {
				copy(rep[r*C:(r+1)*C], v[bi*C:(bi+1)*C])
			}
		}
		src, dst := x[r0*C:r1*C], y[r0*C:r1*C]
		sv := rep[:len(dst)]
		if s.VecFirst {
			done := s.Vector.Run(dst, sv, src, 0, 0)
			for i := done; i < len(dst); i++ {
				dst[i] = float32(s.Op(float64(sv[i]), float64(src[i])))
			}
		} else {
			done := s.Vector.Run(dst, src, sv, 0, 0)
			for i := done; i < len(dst); i++ {
				dst[i] = float32(s.Op(float64(src[i]), float64(sv[i])))
			}
		}
		r0 = r1
	}
}
