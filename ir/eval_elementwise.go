package ir

import (
	"fmt"
	"math"
)

// Elementwise ops: computed in float64 from f32 storage, rounded once.

func unaryF(f func(x float64) float64) evalFunc {
	return func(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
		x := in[0]
		res := NewTensor(out[0].DType, out[0].Shape.Ints())
		parallelFor(c.threads, len(res.F), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				res.F[i] = float32(f(float64(x.F[i])))
			}
		})
		return []*Tensor{res}, nil
	}
}

// unaryNum handles ops defined on both floats and integers.
func unaryNum(f func(float64) float64, fi func(int64) int64) evalFunc {
	ff := unaryF(f)
	return func(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
		if in[0].DType.IsFloat() {
			return ff(c, op, in, out)
		}
		res := NewTensor(out[0].DType, out[0].Shape.Ints())
		for i, v := range in[0].I {
			res.I[i] = wrapInt(fi(v), out[0].DType)
		}
		return []*Tensor{res}, nil
	}
}

func relu(x float64) float64 {
	if x < 0 {
		return 0
	}
	return x // NaN stays NaN
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func geluErf(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

func geluTanh(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

func clamp(x, lo, hi float64) float64 {
	if x < lo {
		x = lo
	}
	if x > hi {
		x = hi
	}
	return x // NaN stays NaN
}

func hardswish(x float64) float64 { return x * clamp(x+3, 0, 6) / 6 }

func evalGelu(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	if op.(*Gelu).Approximate == "tanh" {
		return unaryF(geluTanh)(c, op, in, out)
	}
	return unaryF(geluErf)(c, op, in, out)
}

func evalLeakyRelu(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	a := op.(*LeakyRelu).Alpha
	return unaryF(func(x float64) float64 {
		if x < 0 {
			return a * x
		}
		return x
	})(c, op, in, out)
}

func evalHardSigmoid(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	h := op.(*HardSigmoid)
	return unaryF(func(x float64) float64 { return clamp(h.Alpha*x+h.Beta, 0, 1) })(c, op, in, out)
}

func evalClip(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	cl := op.(*Clip)
	return unaryF(func(x float64) float64 { return clamp(x, cl.Min, cl.Max) })(c, op, in, out)
}

// wrapInt truncates v to the range of an integer dtype, as a store would.
func wrapInt(v int64, dt DType) int64 {
	switch dt {
	case I8:
		return int64(int8(v))
	case U8:
		return int64(uint8(v))
	case I16:
		return int64(int16(v))
	case I32:
		return int64(int32(v))
	case U16:
		return int64(uint16(v))
	case U32:
		return int64(uint32(v))
	case Bool:
		if v != 0 {
			return 1
		}
	}
	return v
}

// binFuncs is a binary op on floats, on integers and, where it differs
// from the signed one, on u64 (held as its bit pattern).
type binFuncs struct {
	f func(a, b float64) float64
	i func(a, b int64) (int64, error)
	u func(a, b uint64) (uint64, error)
}

var binaryOps = map[Kind]binFuncs{
	KAdd: {func(a, b float64) float64 { return a + b }, func(a, b int64) (int64, error) { return a + b, nil }, nil},
	KSub: {func(a, b float64) float64 { return a - b }, func(a, b int64) (int64, error) { return a - b, nil }, nil},
	KMul: {func(a, b float64) float64 { return a * b }, func(a, b int64) (int64, error) { return a * b, nil }, nil},
	KDiv: {func(a, b float64) float64 { return a / b }, func(a, b int64) (int64, error) {
		if b == 0 {
			return 0, fmt.Errorf("integer division by zero")
		}
		return a / b, nil
	}, func(a, b uint64) (uint64, error) {
		if b == 0 {
			return 0, fmt.Errorf("integer division by zero")
		}
		return a / b, nil
	}},
	KPow: {math.Pow, func(a, b int64) (int64, error) {
		if b < 0 {
			return 0, fmt.Errorf("integer power with negative exponent %d", b)
		}
		r := int64(1)
		for ; b > 0; b-- {
			r *= a
		}
		return r, nil
	}, nil},
}

func evalBinary(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	return binaryWith(c, in, out, binaryOps[op.Kind()])
}

// binaryWith applies fns elementwise to in[0] and in[1] with broadcasting.
func binaryWith(c *evalCtx, in []*Tensor, out []Type, fns binFuncs) ([]*Tensor, error) {
	a, b := in[0], in[1]
	shape := out[0].Shape.Ints()
	res := NewTensor(out[0].DType, shape)
	if a.DType.IsFloat() {
		if fns.f == nil {
			return nil, fmt.Errorf("not defined on %s", a.DType)
		}
		if sameShape(a.Shape, shape) && sameShape(b.Shape, shape) {
			parallelFor(c.threads, len(res.F), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					res.F[i] = float32(fns.f(float64(a.F[i]), float64(b.F[i])))
				}
			})
			return []*Tensor{res}, nil
		}
		forIndex(shape, [][]int{bstrides(a.Shape, shape), bstrides(b.Shape, shape)}, func(o int, offs []int) {
			res.F[o] = float32(fns.f(float64(a.F[offs[0]]), float64(b.F[offs[1]])))
		})
		return []*Tensor{res}, nil
	}
	var err error
	fi := fns.i
	if a.DType == U64 && fns.u != nil {
		fi = func(x, y int64) (int64, error) {
			v, err := fns.u(uint64(x), uint64(y))
			return int64(v), err
		}
	}
	if fi == nil {
		return nil, fmt.Errorf("not defined on %s", a.DType)
	}
	forIndex(shape, [][]int{bstrides(a.Shape, shape), bstrides(b.Shape, shape)}, func(o int, offs []int) {
		v, e := fi(a.I[offs[0]], b.I[offs[1]])
		if e != nil && err == nil {
			err = e
		}
		res.I[o] = wrapInt(v, out[0].DType)
	})
	return []*Tensor{res}, err
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func evalWhere(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	cond, x, y := in[0], in[1], in[2]
	shape := out[0].Shape.Ints()
	res := NewTensor(out[0].DType, shape)
	st := [][]int{bstrides(cond.Shape, shape), bstrides(x.Shape, shape), bstrides(y.Shape, shape)}
	forIndex(shape, st, func(o int, offs []int) {
		src, off := y, offs[2]
		if cond.I[offs[0]] != 0 {
			src, off = x, offs[1]
		}
		if res.F != nil {
			res.F[o] = src.F[off]
		} else {
			res.I[o] = src.I[off]
		}
	})
	return []*Tensor{res}, nil
}

func evalCast(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x := in[0]
	to := op.(*Cast).To
	res := NewTensor(to, out[0].Shape.Ints())
	for i := 0; i < x.Numel(); i++ {
		switch {
		case to == Bool:
			if x.Float(i) != 0 {
				res.I[i] = 1
			}
		case to.IsFloat():
			res.F[i] = float32(roundStorage(x.Float(i), to))
		case x.DType.IsFloat():
			f := x.F[i]
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return nil, fmt.Errorf("cannot cast %v to %s", f, to)
			}
			res.I[i] = wrapInt(int64(f), to) // truncates toward zero
		default:
			res.I[i] = wrapInt(x.I[i], to)
		}
	}
	return []*Tensor{res}, nil
}

// roundStorage rounds v to what a dtype can hold (f16 and bf16 are stored
// as f32 but keep only their own precision).
func roundStorage(v float64, dt DType) float64 {
	f := float32(v)
	switch dt {
	case BF16:
		b := math.Float32bits(f)
		if f == f { // not NaN: round to nearest even on the top 16 bits
			b += 0x7fff + (b>>16)&1
		}
		return float64(math.Float32frombits(b &^ 0xffff))
	case F16:
		return float64(f16Round(f))
	}
	return float64(f)
}

// f16Round rounds f to the nearest IEEE half value (as float32).
func f16Round(f float32) float32 {
	a := math.Abs(float64(f))
	switch {
	case f != f || math.IsInf(float64(f), 0):
		return f
	case a >= 65520:
		return float32(math.Copysign(math.Inf(1), float64(f)))
	case a < math.Ldexp(1, -14): // subnormal: fixed step 2^-24
		return float32(math.RoundToEven(float64(f)*(1<<24)) / (1 << 24))
	}
	_, e := math.Frexp(a) // a = m·2^e, m in [0.5,1)
	step := math.Ldexp(1, e-11)
	return float32(math.Copysign(math.RoundToEven(a/step)*step, float64(f)))
}
