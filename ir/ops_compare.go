package ir

import (
	"fmt"
	"math"
)

// Comparisons, logic, bitwise ops, min, max, mod and prelu: elementwise
// with numpy broadcasting, as ONNX defines them. Comparisons and logic
// give bool; the others keep their operands' dtype.
//
//	equal, less, less_equal, greater, greater_equal(a, b)   a ⋈ b (NaN compares false)
//	and, or, xor(a, b), not(a)                              on bool
//	bit_and, bit_or, bit_xor(a, b), bit_not(a)              on integers
//	min, max(a, b)                                          NaN if either is NaN
//	prelu(x, slope)                                         x < 0 ? slope·x : x
//
// Unsigned dtypes compare and divide as unsigned (u64 is held as its bit
// pattern).

// BitShift shifts a's bits by b (unsigned integers): left when Left, else
// right (logical).
type BitShift struct {
	Left bool `attr:"left"`
}

func (*BitShift) Kind() Kind { return KBitShift }

// Mod is the remainder of a / b. Without Fmod (integers only) it takes
// the divisor's sign, like Python's %; with Fmod it takes the dividend's,
// like C's fmod. An integer remainder by zero is an evaluation error.
type Mod struct {
	Fmod bool `attr:"fmod"`
}

func (*Mod) Kind() Kind { return KMod }

func init() {
	cmp := func(k Kind, name string) {
		ops[k] = OpInfo{name, 2, 2, simple(k), inferCompare}
		evalTable[k] = evalCompare
	}
	cmp(KEqual, "equal")
	cmp(KLess, "less")
	cmp(KLessEqual, "less_equal")
	cmp(KGreater, "greater")
	cmp(KGreaterEqual, "greater_equal")
	for k, name := range map[Kind]string{KAnd: "and", KOr: "or", KXor: "xor"} {
		ops[k] = OpInfo{name, 2, 2, simple(k), inferLogic}
		evalTable[k] = evalBinaryKind
	}
	ops[KNot] = OpInfo{"not", 1, 1, simple(KNot), inferLogic}
	evalTable[KNot] = evalNot
	for k, name := range map[Kind]string{KBitAnd: "bit_and", KBitOr: "bit_or", KBitXor: "bit_xor"} {
		ops[k] = OpInfo{name, 2, 2, simple(k), inferIntBinary}
		evalTable[k] = evalBinaryKind
	}
	ops[KBitNot] = OpInfo{"bit_not", 1, 1, simple(KBitNot), inferIntBinary}
	evalTable[KBitNot] = evalBitNot
	ops[KBitShift] = OpInfo{"bit_shift", 2, 2, func() Op { return &BitShift{} }, inferIntBinary}
	evalTable[KBitShift] = evalBitShift
	ops[KMin] = OpInfo{"min", 2, 2, simple(KMin), inferBroadcast}
	ops[KMax] = OpInfo{"max", 2, 2, simple(KMax), inferBroadcast}
	evalTable[KMin] = evalBinaryKind
	evalTable[KMax] = evalBinaryKind
	ops[KMod] = OpInfo{"mod", 2, 2, func() Op { return &Mod{} }, inferMod}
	evalTable[KMod] = evalMod
	ops[KPRelu] = OpInfo{"prelu", 2, 2, simple(KPRelu), inferPRelu}
	evalTable[KPRelu] = evalBinaryKind

	binaryOps[KMin] = binFuncs{f: fmin, i: func(a, b int64) (int64, error) { return min(a, b), nil },
		u: func(a, b uint64) (uint64, error) { return min(a, b), nil }}
	binaryOps[KMax] = binFuncs{f: fmax, i: func(a, b int64) (int64, error) { return max(a, b), nil },
		u: func(a, b uint64) (uint64, error) { return max(a, b), nil }}
	binaryOps[KAnd] = binFuncs{i: func(a, b int64) (int64, error) { return b2i(a != 0 && b != 0), nil }}
	binaryOps[KOr] = binFuncs{i: func(a, b int64) (int64, error) { return b2i(a != 0 || b != 0), nil }}
	binaryOps[KXor] = binFuncs{i: func(a, b int64) (int64, error) { return b2i((a != 0) != (b != 0)), nil }}
	binaryOps[KBitAnd] = binFuncs{i: func(a, b int64) (int64, error) { return a & b, nil }}
	binaryOps[KBitOr] = binFuncs{i: func(a, b int64) (int64, error) { return a | b, nil }}
	binaryOps[KBitXor] = binFuncs{i: func(a, b int64) (int64, error) { return a ^ b, nil }}
	binaryOps[KPRelu] = binFuncs{f: func(x, s float64) float64 {
		if x < 0 {
			return s * x
		}
		return x
	}, i: func(x, s int64) (int64, error) {
		if x < 0 {
			return s * x, nil
		}
		return x, nil
	}}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// fmin and fmax propagate NaN (numpy's minimum and maximum).
func fmin(a, b float64) float64 {
	if a != a || b != b {
		return math.NaN()
	}
	return min(a, b)
}

func fmax(a, b float64) float64 {
	if a != a || b != b {
		return math.NaN()
	}
	return max(a, b)
}

func inferCompare(op Op, in []Type) ([]Type, error) {
	if in[0].DType != in[1].DType {
		return nil, fmt.Errorf("operand dtypes differ: %s and %s", in[0].DType, in[1].DType)
	}
	s, err := Broadcast(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	return one(TensorType(Bool, s)), nil
}

func inferLogic(op Op, in []Type) ([]Type, error) {
	shapes := make([]Shape, len(in))
	for i, t := range in {
		if t.DType != Bool {
			return nil, fmt.Errorf("input %d must be bool, got %s", i, t.DType)
		}
		shapes[i] = t.Shape
	}
	s, err := Broadcast(shapes...)
	if err != nil {
		return nil, err
	}
	return one(TensorType(Bool, s)), nil
}

func inferIntBinary(op Op, in []Type) ([]Type, error) {
	shapes := make([]Shape, len(in))
	for i, t := range in {
		if !t.DType.IsInt() || t.DType != in[0].DType {
			return nil, fmt.Errorf("input %d must be an integer tensor of the first one's dtype, got %s", i, t.DType)
		}
		shapes[i] = t.Shape
	}
	s, err := Broadcast(shapes...)
	if err != nil {
		return nil, err
	}
	return one(TensorType(in[0].DType, s)), nil
}

func inferMod(op Op, in []Type) ([]Type, error) {
	if in[0].DType.IsFloat() && !op.(*Mod).Fmod {
		return nil, fmt.Errorf("mod of floats needs fmod=true")
	}
	return inferBroadcast(op, in)
}

func inferPRelu(op Op, in []Type) ([]Type, error) {
	if in[0].DType != in[1].DType {
		return nil, fmt.Errorf("operand dtypes differ: %s and %s", in[0].DType, in[1].DType)
	}
	s, err := Broadcast(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	if !s.Equal(in[0].Shape) {
		return nil, fmt.Errorf("slope %s does not broadcast to x %s", in[1].Shape, in[0].Shape)
	}
	return one(TensorType(in[0].DType, s)), nil
}

// evalBinaryKind is evalBinary for the kinds registered in binaryOps here.
func evalBinaryKind(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	return evalBinary(c, op, in, out)
}

func evalCompare(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	a, b := in[0], in[1]
	shape := out[0].Shape.Ints()
	res := NewTensor(Bool, shape)
	var test func(c int) bool // c = sign of a − b: −1, 0, 1; 2 when unordered (NaN)
	switch op.Kind() {
	case KEqual:
		test = func(c int) bool { return c == 0 }
	case KLess:
		test = func(c int) bool { return c == -1 }
	case KLessEqual:
		test = func(c int) bool { return c == -1 || c == 0 }
	case KGreater:
		test = func(c int) bool { return c == 1 }
	case KGreaterEqual:
		test = func(c int) bool { return c == 1 || c == 0 }
	}
	st := [][]int{bstrides(a.Shape, shape), bstrides(b.Shape, shape)}
	forIndex(shape, st, func(o int, offs []int) {
		var c int
		switch {
		case a.F != nil:
			x, y := a.F[offs[0]], b.F[offs[1]]
			switch {
			case x < y:
				c = -1
			case x > y:
				c = 1
			case x == y:
				c = 0
			default:
				c = 2
			}
		case a.DType == U64:
			x, y := uint64(a.I[offs[0]]), uint64(b.I[offs[1]])
			c = cmpOrd(x < y, x > y)
		default:
			x, y := a.I[offs[0]], b.I[offs[1]]
			c = cmpOrd(x < y, x > y)
		}
		res.I[o] = b2i(test(c))
	})
	return []*Tensor{res}, nil
}

func cmpOrd(lt, gt bool) int {
	switch {
	case lt:
		return -1
	case gt:
		return 1
	}
	return 0
}

func evalNot(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	res := NewTensor(Bool, out[0].Shape.Ints())
	for i, v := range in[0].I {
		res.I[i] = b2i(v == 0)
	}
	return []*Tensor{res}, nil
}

func evalBitNot(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	res := NewTensor(out[0].DType, out[0].Shape.Ints())
	for i, v := range in[0].I {
		res.I[i] = wrapInt(^v, out[0].DType)
	}
	return []*Tensor{res}, nil
}

func evalBitShift(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	left := op.(*BitShift).Left
	dt := out[0].DType
	bits := uint64(dt.Size() * 8)
	return binaryWith(c, in, out, binFuncs{i: func(a, b int64) (int64, error) {
		ua, n := uint64(a), uint64(b)
		if n >= bits {
			return 0, nil
		}
		if left {
			return int64(ua << n), nil
		}
		return int64(ua >> n), nil
	}})
}

func evalMod(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	fmodMode := op.(*Mod).Fmod
	fns := binFuncs{
		f: math.Mod,
		i: func(a, b int64) (int64, error) {
			if b == 0 {
				return 0, fmt.Errorf("integer mod by zero")
			}
			r := a % b
			if !fmodMode && r != 0 && (r < 0) != (b < 0) {
				r += b
			}
			return r, nil
		},
		u: func(a, b uint64) (uint64, error) {
			if b == 0 {
				return 0, fmt.Errorf("integer mod by zero")
			}
			return a % b, nil
		},
	}
	return binaryWith(c, in, out, fns)
}
