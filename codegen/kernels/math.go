package kernels

import (
	"math"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Unary math beyond the activations: float32 ops run through Unary with
// the functions below as its Op (float64 per element, as the evaluator
// computes them); the float predicates (is_nan, is_inf) give bools, held
// as int64; the integer ops (not, bit_not, sign) work on int64 and wrap
// to the result's dtype.

// MathOp returns the Inline hook of a float unary math op, or false.
func MathOp(op ir.Op) (tmpl.Inline, bool) {
	switch o := op.(type) {
	case *ir.AlphaAct:
		name, ok := map[ir.Kind]string{ir.KElu: "Elu", ir.KCelu: "Celu", ir.KThresholdedRelu: "ThresholdedRelu", ir.KSwish: "Swish"}[o.K]
		return tmpl.Inline{Func: name, Args: []any{o.Alpha}}, ok
	case *ir.Selu:
		return tmpl.Inline{Func: "Selu", Args: []any{o.Gamma, o.Alpha}}, true
	case *ir.Shrink:
		return tmpl.Inline{Func: "Shrink", Args: []any{o.Lambd, o.Bias}}, true
	}
	name, ok := map[ir.Kind]string{
		ir.KSin: "Sin", ir.KCos: "Cos", ir.KTan: "Tan", ir.KAsin: "Asin", ir.KAcos: "Acos", ir.KAtan: "Atan",
		ir.KSinh: "Sinh", ir.KCosh: "Cosh", ir.KAsinh: "Asinh", ir.KAcosh: "Acosh", ir.KAtanh: "Atanh",
		ir.KCeil: "Ceil", ir.KFloor: "Floor", ir.KRound: "Round", ir.KReciprocal: "Reciprocal",
		ir.KSoftsign: "Softsign", ir.KSign: "Sign", ir.KSoftplus: "Softplus", ir.KMish: "Mish",
	}[op.Kind()]
	return tmpl.Inline{Func: name}, ok
}

// PredicateShape is a test of each of N float elements.
type PredicateShape struct {
	N  ir.Dim
	Op func(x float64) bool // Inline hook: IsNaN or IsInf
}

// PredicateOf returns the shape of an is_nan or is_inf node and the
// Inline hook of its test, or false for another op.
func PredicateOf(nd *ir.Node) (PredicateShape, tmpl.Inline, bool) {
	s := PredicateShape{N: Numel(nd.Outputs[0].Type.Shape)}
	switch o := nd.Op.(type) {
	case *ir.IsInf:
		return s, tmpl.Inline{Func: "IsInf", Args: []any{o.Pos, o.Neg}}, true
	case ir.Simple:
		if o.K == ir.KIsNaN {
			return s, tmpl.Inline{Func: "IsNaN"}, true
		}
	}
	return s, tmpl.Inline{}, false
}

// Predicate sets y to 1 where op(x) holds, 0 elsewhere.
func Predicate(s PredicateShape, n int, y []int64, x []float32) {
	y = y[:s.N.At(n)]
	for i, v := range x[:len(y)] {
		xv := float64(v)
		y[i] = b2i(s.Op(xv))
	}
}

// IntUnaryShape is an op of each of N integers (or bools) held as int64,
// wrapped to the result's dtype.
type IntUnaryShape struct {
	N    ir.Dim
	Op   func(v int64) int64 // Inline hook: Not, BitNot or SignInt
	Wrap func(v int64) int64 // Inline hook: a Wrap function
}

// IntUnaryOf returns the shape of an integer not, bit_not or sign node
// and its hooks, or false for another op.
func IntUnaryOf(nd *ir.Node) (IntUnaryShape, map[string]tmpl.Hook, bool) {
	op, ok := map[ir.Kind]string{ir.KNot: "Not", ir.KBitNot: "BitNot", ir.KSign: "SignInt"}[nd.Op.Kind()]
	if !ok || nd.Inputs[0].Type.DType.IsFloat() {
		return IntUnaryShape{}, nil, false
	}
	return IntUnaryShape{N: Numel(nd.Outputs[0].Type.Shape)},
		map[string]tmpl.Hook{"Op": tmpl.Inline{Func: op}, "Wrap": WrapOf(nd.Outputs[0].Type.DType)}, true
}

// IntUnary computes y = wrap(op(x)).
func IntUnary(s IntUnaryShape, n int, y, x []int64) {
	y = y[:s.N.At(n)]
	for i, v := range x[:len(y)] {
		y[i] = s.Wrap(s.Op(v))
	}
}

// WrapOf returns the Inline hook wrapping an int64 to what dt holds: its
// range for the narrow integers, 0 or 1 for bool.
func WrapOf(dt ir.DType) tmpl.Inline {
	name, ok := map[ir.DType]string{ir.I8: "WrapInt8", ir.U8: "WrapUint8", ir.I16: "WrapInt16", ir.U16: "WrapUint16",
		ir.I32: "WrapInt32", ir.U32: "WrapUint32", ir.Bool: "WrapBool"}[dt]
	if !ok {
		name = "WrapInt64"
	}
	return tmpl.Inline{Func: name}
}

// The ops' functions, as the evaluator computes them.

func Sin(x float64) float64                    { return math.Sin(x) }
func Cos(x float64) float64                    { return math.Cos(x) }
func Tan(x float64) float64                    { return math.Tan(x) }
func Asin(x float64) float64                   { return math.Asin(x) }
func Acos(x float64) float64                   { return math.Acos(x) }
func Atan(x float64) float64                   { return math.Atan(x) }
func Sinh(x float64) float64                   { return math.Sinh(x) }
func Cosh(x float64) float64                   { return math.Cosh(x) }
func Asinh(x float64) float64                  { return math.Asinh(x) }
func Acosh(x float64) float64                  { return math.Acosh(x) }
func Atanh(x float64) float64                  { return math.Atanh(x) }
func Ceil(x float64) float64                   { return math.Ceil(x) }
func Floor(x float64) float64                  { return math.Floor(x) }
func Round(x float64) float64                  { return math.RoundToEven(x) }
func Reciprocal(x float64) float64             { return 1 / x }
func Softsign(x float64) float64               { return x / (1 + math.Abs(x)) }
func Sign(x float64) float64                   { return sign(x) }
func Softplus(x float64) float64               { return softplus(x) }
func Mish(x float64) float64                   { return x * math.Tanh(softplus(x)) }
func Elu(x, alpha float64) float64             { return elu(x, alpha) }
func Celu(x, alpha float64) float64            { return max(0, x) + min(0, alpha*math.Expm1(x/alpha)) }
func ThresholdedRelu(x, alpha float64) float64 { return thresholded(x, alpha) }
func Swish(x, alpha float64) float64           { return x / (1 + math.Exp(-alpha*x)) }
func Selu(x, gamma, alpha float64) float64     { return selu(x, gamma, alpha) }
func Shrink(x, lambd, bias float64) float64    { return shrink(x, lambd, bias) }

func IsNaN(x float64) bool                { return x != x }
func IsInf(x float64, pos, neg bool) bool { return pos && math.IsInf(x, 1) || neg && math.IsInf(x, -1) }

func Not(v int64) int64        { return 1 - v }
func BitNot(v int64) int64     { return ^v }
func SignInt(v int64) int64    { return b2i(v > 0) - b2i(v < 0) }
func WrapUint16(v int64) int64 { return int64(uint16(v)) }
func WrapUint32(v int64) int64 { return int64(uint32(v)) }
func WrapBool(v int64) int64   { return b2i(v != 0) }

// sign is −1, 0 or 1 by x's sign, x itself for ±0 and NaN.
func sign(x float64) float64 {
	if x > 0 {
		return 1
	}
	if x < 0 {
		return -1
	}
	return x
}

// softplus is log(1 + eˣ), without overflow for large x.
func softplus(x float64) float64 {
	if x > 30 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func elu(x, alpha float64) float64 {
	if x < 0 {
		return alpha * math.Expm1(x)
	}
	return x
}

func thresholded(x, alpha float64) float64 {
	if x > alpha {
		return x
	}
	return 0
}

func selu(x, gamma, alpha float64) float64 {
	if x <= 0 {
		return gamma * alpha * math.Expm1(x)
	}
	return gamma * x
}

func shrink(x, lambd, bias float64) float64 {
	if x < -lambd {
		return x + bias
	}
	if x > lambd {
		return x - bias
	}
	return 0
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
