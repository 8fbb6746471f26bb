package kernels

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Binary ops beyond arithmetic on floats, broadcast by numpy's rules:
// comparisons, logic, bitwise ops, min, max, mod, prelu and bit shifts.
// Float operands compute in float64 as the evaluator does; integers and
// bools are held as int64 (u64 as its bit pattern) and wrapped to the
// result's dtype.

// CompareShape is a comparison of two float operands broadcast to the
// output's shape; the result is a bool, held as int64.
type CompareShape struct {
	Loops tmpl.Nest               // over the output, with a's and b's offsets
	Op    func(a, b float64) bool // Inline hook
}

// Compare sets y to 1 where op(a, b) holds, 0 elsewhere.
func Compare(s CompareShape, n int, y []int64, a, b []float32) {
	o := 0
	for p := range s.Loops.Each(n, 0, 0) {
		y[o] = b2i(s.Op(float64(a[p[0]]), float64(b[p[1]])))
		o++
	}
}

// IntBroadcastShape is an op of two integer (or bool) operands broadcast
// to the output's shape. DivZero and NegPow make a zero divisor and a
// negative exponent an error, as the evaluator's.
type IntBroadcastShape struct {
	Loops   tmpl.Nest
	Op      func(a, b int64) int64 // Inline hook
	Wrap    func(v int64) int64    // Inline hook: a Wrap function
	DivZero bool
	NegPow  bool
}

// IntBroadcast computes y = wrap(op(a, b)).
func IntBroadcast(s IntBroadcastShape, n int, y, a, b []int64) error {
	o := 0
	for p := range s.Loops.Each(n, 0, 0) {
		av, bv := a[p[0]], b[p[1]]
		if s.DivZero && bv == 0 {
			return fmt.Errorf("integer division by zero")
		}
		if s.NegPow && bv < 0 {
			return fmt.Errorf("integer power with negative exponent %d", bv)
		}
		y[o] = s.Wrap(s.Op(av, bv))
		o++
	}
	return nil
}

// Broadcast2Of returns the template (Broadcast, Compare or IntBroadcast)
// computing a binary node of ir's ops_compare.go (or integer
// arithmetic), its shape and hooks.
func Broadcast2Of(nd *ir.Node) (template string, shape any, hooks map[string]tmpl.Hook, err error) {
	dt := nd.Inputs[0].Type.DType
	out, a, b := nd.Outputs[0].Type.Shape, nd.Inputs[0].Type.Shape, nd.Inputs[1].Type.Shape
	loops := tmpl.Nest{Dims: out, Steps: [][]ir.Dim{BroadcastStrides(a, out), BroadcastStrides(b, out)}}
	k := nd.Op.Kind()
	unsupported := fmt.Errorf("%s on %s is not supported by the generated kernels yet", k, dt)
	if dt.IsFloat() {
		if name, ok := map[ir.Kind]string{ir.KEqual: "Equal", ir.KLess: "Less", ir.KLessEqual: "LessEqual",
			ir.KGreater: "Greater", ir.KGreaterEqual: "GreaterEqual"}[k]; ok {
			return "Compare", CompareShape{Loops: loops}, map[string]tmpl.Hook{"Op": tmpl.Inline{Func: name}}, nil
		}
		name, ok := map[ir.Kind]string{ir.KMin: "Min", ir.KMax: "Max", ir.KMod: "Mod", ir.KPRelu: "PRelu"}[k]
		if !ok {
			return "", nil, nil, unsupported
		}
		return "Broadcast", BroadcastShape{N: Numel(out), Loops: loops}, map[string]tmpl.Hook{"Op": tmpl.Inline{Func: name}}, nil
	}
	s := IntBroadcastShape{Loops: loops, DivZero: k == ir.KDiv || k == ir.KMod, NegPow: k == ir.KPow}
	wrap := WrapOf(nd.Outputs[0].Type.DType)
	u := dt == ir.U64
	var op tmpl.Inline
	switch o := nd.Op.(type) {
	case *ir.Mod:
		switch {
		case u:
			op.Func = "ModU"
		case o.Fmod:
			op.Func = "Rem"
		default:
			op.Func = "ModFloor"
		}
	case *ir.BitShift:
		op = tmpl.Inline{Func: "ShiftRight", Args: []any{dt.Size() * 8}}
		if o.Left {
			op.Func = "ShiftLeft"
		}
	default:
		names := map[ir.Kind]string{ir.KEqual: "EqualInt", ir.KLess: "LessInt", ir.KLessEqual: "LessEqualInt",
			ir.KGreater: "GreaterInt", ir.KGreaterEqual: "GreaterEqualInt", ir.KAdd: "AddInt", ir.KSub: "SubInt",
			ir.KMul: "MulInt", ir.KDiv: "DivInt", ir.KPow: "PowInt", ir.KAnd: "And", ir.KOr: "Or", ir.KXor: "Xor",
			ir.KBitAnd: "BitAnd", ir.KBitOr: "BitOr", ir.KBitXor: "BitXor", ir.KMin: "MinInt", ir.KMax: "MaxInt",
			ir.KPRelu: "PReluInt"}
		if u {
			for k, n := range map[ir.Kind]string{ir.KLess: "LessU", ir.KLessEqual: "LessEqualU", ir.KGreater: "GreaterU",
				ir.KGreaterEqual: "GreaterEqualU", ir.KDiv: "DivU", ir.KMin: "MinU", ir.KMax: "MaxU"} {
				names[k] = n
			}
		}
		op.Func = names[k]
	}
	if op.Func == "" {
		return "", nil, nil, unsupported
	}
	if boolOp(k) {
		wrap = tmpl.Inline{Func: "WrapInt64"} // already 0 or 1
	}
	return "IntBroadcast", s, map[string]tmpl.Hook{"Op": op, "Wrap": wrap}, nil
}

// boolOp reports whether an op of kind k gives 0 or 1 whatever its
// operands: comparisons and logic.
func boolOp(k ir.Kind) bool {
	switch k {
	case ir.KEqual, ir.KLess, ir.KLessEqual, ir.KGreater, ir.KGreaterEqual, ir.KAnd, ir.KOr, ir.KXor:
		return true
	}
	return false
}

// The float ops (min and max are NaN-propagating, as Go's are).

func Equal(a, b float64) bool        { return a == b }
func Less(a, b float64) bool         { return a < b }
func LessEqual(a, b float64) bool    { return a <= b }
func Greater(a, b float64) bool      { return a > b }
func GreaterEqual(a, b float64) bool { return a >= b }
func Min(a, b float64) float64       { return min(a, b) }
func Max(a, b float64) float64       { return max(a, b) }
func Mod(a, b float64) float64       { return math.Mod(a, b) }
func PRelu(a, b float64) float64     { return prelu(a, b) }

// The integer ops, on int64 (the U forms on the uint64 bit pattern).

func EqualInt(a, b int64) int64        { return b2i(a == b) }
func LessInt(a, b int64) int64         { return b2i(a < b) }
func LessEqualInt(a, b int64) int64    { return b2i(a <= b) }
func GreaterInt(a, b int64) int64      { return b2i(a > b) }
func GreaterEqualInt(a, b int64) int64 { return b2i(a >= b) }
func LessU(a, b int64) int64           { return b2i(uint64(a) < uint64(b)) }
func LessEqualU(a, b int64) int64      { return b2i(uint64(a) <= uint64(b)) }
func GreaterU(a, b int64) int64        { return b2i(uint64(a) > uint64(b)) }
func GreaterEqualU(a, b int64) int64   { return b2i(uint64(a) >= uint64(b)) }
func AddInt(a, b int64) int64          { return a + b }
func SubInt(a, b int64) int64          { return a - b }
func MulInt(a, b int64) int64          { return a * b }
func DivInt(a, b int64) int64          { return a / b }
func DivU(a, b int64) int64            { return int64(uint64(a) / uint64(b)) }
func PowInt(a, b int64) int64          { return powInt(a, b) }
func And(a, b int64) int64             { return b2i(a != 0 && b != 0) }
func Or(a, b int64) int64              { return b2i(a != 0 || b != 0) }
func Xor(a, b int64) int64             { return b2i((a != 0) != (b != 0)) }
func BitAnd(a, b int64) int64          { return a & b }
func BitOr(a, b int64) int64           { return a | b }
func BitXor(a, b int64) int64          { return a ^ b }
func MinInt(a, b int64) int64          { return min(a, b) }
func MaxInt(a, b int64) int64          { return max(a, b) }
func MinU(a, b int64) int64            { return int64(min(uint64(a), uint64(b))) }
func MaxU(a, b int64) int64            { return int64(max(uint64(a), uint64(b))) }
func PReluInt(a, b int64) int64        { return preluInt(a, b) }
func Rem(a, b int64) int64             { return a % b }
func ModFloor(a, b int64) int64        { return modFloor(a, b) }
func ModU(a, b int64) int64            { return int64(uint64(a) % uint64(b)) }
func ShiftLeft(a, b int64, bits int) int64 {
	return shiftLeft(a, b, bits)
}
func ShiftRight(a, b int64, bits int) int64 {
	return shiftRight(a, b, bits)
}

func prelu(a, b float64) float64 {
	if a < 0 {
		return a * b
	}
	return a
}

func preluInt(a, b int64) int64 {
	if a < 0 {
		return a * b
	}
	return a
}

// powInt is aᵇ for b ≥ 0 (IntBroadcast has refused b < 0).
func powInt(a, b int64) int64 {
	r := int64(1)
	for ; b > 0; b-- {
		r *= a
	}
	return r
}

// modFloor is a mod b with the sign of b (Python's %).
func modFloor(a, b int64) int64 {
	r := a % b
	if r != 0 && (r < 0) != (b < 0) {
		r += b
	}
	return r
}

// shiftLeft and shiftRight shift a's bits-wide pattern by b, 0 from bits
// on.
func shiftLeft(a, b int64, bits int) int64 {
	if uint64(b) >= uint64(bits) {
		return 0
	}
	return int64(uint64(a) << uint64(b))
}

func shiftRight(a, b int64, bits int) int64 {
	if uint64(b) >= uint64(bits) {
		return 0
	}
	return int64(uint64(a) >> uint64(b))
}
