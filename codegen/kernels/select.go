package kernels

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/numerics"
)

// Indexing and element-type kernels: gather, where, cast. Integer and
// bool tensors are held as int64 (as the evaluator holds them); a cast
// to a narrower integer wraps as Go's conversions do.

// GatherShape is numpy take along an axis of L elements: Outer rows of
// the axis, each element Inner values, Indices indices.
type GatherShape struct {
	L, Outer, Inner, Indices ir.Dim
}

// GatherOf returns the shape of a gather node.
func GatherOf(nd *ir.Node) GatherShape {
	x := nd.Inputs[0].Type.Shape
	axis := NormAxis(nd.Op.(*ir.Gather).Axis, x.Rank())
	return GatherShape{L: x[axis], Outer: Numel(x[:axis]), Inner: Numel(x[axis+1:]), Indices: Numel(nd.Inputs[1].Type.Shape)}
}

// Gather copies, for each outer index and each index in idx, the inner
// block of row idx[j] along the axis; negative indices count from the
// end, and one out of range is an error.
func Gather[T any](s GatherShape, n int, y, x []T, idx []int64) error {
	L := s.L.At(n)
	outer, inner, ni := s.Outer.At(n), s.Inner.At(n), s.Indices.At(n)
	for o := 0; o < outer; o++ {
		for j, k := range idx[:ni] {
			if k < 0 {
				k += int64(L)
			}
			if k < 0 || k >= int64(L) {
				return fmt.Errorf("gather: index %d at position %d is outside [-%d, %d)", idx[j], j, L, L)
			}
			src := (o*L + int(k)) * inner
			dst := (o*ni + j) * inner
			copy(y[dst:dst+inner], x[src:src+inner])
		}
	}
	return nil
}

// WhereShape is where with numpy broadcasting of the condition and both
// values: loops over the output with the three operands' offsets.
type WhereShape struct{ Loops tmpl.Nest }

// WhereOf returns the shape of a where node.
func WhereOf(nd *ir.Node) WhereShape {
	out := nd.Outputs[0].Type.Shape
	l := tmpl.Nest{Dims: out}
	for _, v := range nd.Inputs {
		l.Steps = append(l.Steps, BroadcastStrides(v.Type.Shape, out))
	}
	return WhereShape{Loops: l}
}

// Where computes y = cond ? a : b.
func Where[T any](s WhereShape, n int, y []T, cond []int64, a, b []T) {
	o := 0
	for p := range s.Loops.Each(n, 0, 0, 0) {
		if cond[p[0]] != 0 {
			y[o] = a[p[1]]
		} else {
			y[o] = b[p[2]]
		}
		o++
	}
}

// CastShape is a cast of N elements to the type To; Wrap wraps an int64
// to To's range (WrapInt8, …), Round a float32 to To's precision
// (RoundF16, RoundBF16, else Same32), both inlined.
type CastShape struct {
	N     ir.Dim
	To    string
	Wrap  func(v int64) int64
	Round func(v float32) float32
}

// CastOf returns the shape of a cast node, and the template that casts
// between its types: CastToBool (to bool: x ≠ 0), CastFloats (float to
// float: a copy), CastToFloat (integer to float, rounding once through
// float64), CastFromFloat (float to integer: truncated toward zero and
// wrapped; NaN and ±Inf are an error) or CastInts (wrapped), with the
// Inline hooks of its Wrap and Round.
func CastOf(nd *ir.Node) (s CastShape, template string, hooks map[string]tmpl.Hook) {
	from, to := nd.Inputs[0].Type.DType, nd.Op.(*ir.Cast).To
	s = CastShape{N: Numel(nd.Outputs[0].Type.Shape), To: to.String()}
	wrap := tmpl.Inline{Func: map[ir.DType]string{ir.I8: "WrapInt8", ir.U8: "WrapUint8", ir.I16: "WrapInt16", ir.I32: "WrapInt32"}[to]}
	if wrap.Func == "" {
		wrap.Func = "WrapInt64"
	}
	round := tmpl.Inline{Func: map[ir.DType]string{ir.F16: "RoundF16", ir.BF16: "RoundBF16"}[to]}
	if round.Func == "" {
		round.Func = "Same32"
	}
	hooks = map[string]tmpl.Hook{"Wrap": wrap, "Round": round}
	switch {
	case to == ir.Bool:
		template = "CastToBool"
	case to.IsFloat() && from.IsFloat():
		template = "CastFloats"
	case to.IsFloat():
		template = "CastToFloat"
	case from.IsFloat():
		template = "CastFromFloat"
	default:
		template = "CastInts"
	}
	return s, template, hooks
}

// CastToBool casts to bool: 1 where x ≠ 0.
func CastToBool[T float32 | int64](s CastShape, n int, y []int64, x []T) {
	y = y[:s.N.At(n)]
	for i, v := range x[:len(y)] {
		y[i] = 0
		if v != 0 {
			y[i] = 1
		}
	}
}

// CastFloats casts between float types, which are all held as float32
// (f16 and bf16 rounded to their precision).
func CastFloats(s CastShape, n int, y, x []float32) {
	y = y[:s.N.At(n)]
	for i, v := range x[:len(y)] {
		y[i] = s.Round(v)
	}
}

// CastToFloat casts integers to float, rounding once through float64
// (then to f16's or bf16's precision).
func CastToFloat(s CastShape, n int, y []float32, x []int64) {
	y = y[:s.N.At(n)]
	for i, v := range x[:len(y)] {
		y[i] = s.Round(float32(float64(v)))
	}
}

// The roundings of a float32 to the float types' precision (f16's and
// bf16's nearest value, ties to even, as the evaluator holds them).

func RoundF16(v float32) float32  { return numerics.F16ToF32(numerics.F32ToF16(v)) }
func RoundBF16(v float32) float32 { return numerics.BF16ToF32(numerics.F32ToBF16(v)) }
func Same32(v float32) float32    { return v }

// CastFromFloat casts floats to an integer type, truncating toward zero
// and wrapping; NaN and ±Inf are an error.
func CastFromFloat(s CastShape, n int, y []int64, x []float32) error {
	y = y[:s.N.At(n)]
	for i, v := range x[:len(y)] {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			return fmt.Errorf("cast: cannot cast %v to %s (element %d)", v, s.To, i)
		}
		y[i] = s.Wrap(int64(v))
	}
	return nil
}

// CastInts casts between integer types, wrapping.
func CastInts(s CastShape, n int, y, x []int64) {
	y = y[:s.N.At(n)]
	for i, v := range x[:len(y)] {
		y[i] = s.Wrap(v)
	}
}

// The wraps of int64 to the integer types' ranges, as Go's conversions
// do.

func WrapInt8(v int64) int64  { return int64(int8(v)) }
func WrapUint8(v int64) int64 { return int64(uint8(v)) }
func WrapInt16(v int64) int64 { return int64(int16(v)) }
func WrapInt32(v int64) int64 { return int64(int32(v)) }
func WrapInt64(v int64) int64 { return v }

// BitCastShape reinterprets the bits of N elements as another dtype of
// the same width; Wrap holds them as the result's dtype (between
// integers of one width, wrapping a held value is the reinterpretation).
type BitCastShape struct {
	N    ir.Dim
	Wrap func(v int64) int64 // Inline hook: the result's Wrap function
}

// BitCastOf returns the shape of a bit_cast node, its template
// (BitCastFromFloat, BitCastToFloat or BitCastInts) and hooks.
func BitCastOf(nd *ir.Node) (BitCastShape, string, map[string]tmpl.Hook) {
	from, to := nd.Inputs[0].Type.DType, nd.Outputs[0].Type.DType
	hooks := map[string]tmpl.Hook{"Wrap": WrapOf(to)}
	s := BitCastShape{N: Numel(nd.Outputs[0].Type.Shape)}
	switch {
	case from == ir.F32:
		return s, "BitCastFromFloat", hooks
	case to == ir.F32:
		return s, "BitCastToFloat", hooks
	}
	return s, "BitCastInts", hooks
}

// BitCastFromFloat holds a float's bits as an integer dtype.
func BitCastFromFloat(s BitCastShape, n int, y []int64, x []float32) {
	y = y[:s.N.At(n)]
	for i, v := range x[:len(y)] {
		y[i] = s.Wrap(int64(math.Float32bits(v)))
	}
}

// BitCastToFloat reads an integer's 32 bits as a float.
func BitCastToFloat(s BitCastShape, n int, y []float32, x []int64) {
	y = y[:s.N.At(n)]
	for i, v := range x[:len(y)] {
		y[i] = math.Float32frombits(uint32(v))
	}
}

// BitCastInts holds an integer's bits as another integer dtype.
func BitCastInts(s BitCastShape, n int, y, x []int64) {
	y = y[:s.N.At(n)]
	for i, v := range x[:len(y)] {
		y[i] = s.Wrap(v)
	}
}
