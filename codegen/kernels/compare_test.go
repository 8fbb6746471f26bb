package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// runBroadcast2 runs the template Broadcast2Of picks for c's node, its
// hooks bound to their Go functions, and returns its result and error.
func runBroadcast2(t *testing.T, c opCase) (f []float32, i []int64, err error) {
	t.Helper()
	name, shape, hooks, err := Broadcast2Of(c.node)
	require.NoError(t, err)
	n := c.out[0].Numel()
	switch name {
	case "Broadcast":
		s := shape.(BroadcastShape)
		s.Op = inlined[func(a, b float64) float64](t, hooks["Op"].(tmpl.Inline))
		f = make([]float32, n)
		Broadcast(s, c.n, f, c.in[0].F, c.in[1].F)
	case "Compare":
		s := shape.(CompareShape)
		s.Op = inlined[func(a, b float64) bool](t, hooks["Op"].(tmpl.Inline))
		i = make([]int64, n)
		Compare(s, c.n, i, c.in[0].F, c.in[1].F)
	case "IntBroadcast":
		s := shape.(IntBroadcastShape)
		s.Op = inlined[func(a, b int64) int64](t, hooks["Op"].(tmpl.Inline))
		s.Wrap = inlined[func(int64) int64](t, hooks["Wrap"].(tmpl.Inline))
		i = make([]int64, n)
		err = IntBroadcast(s, c.n, i, c.in[0].I, c.in[1].I)
	default:
		t.Fatalf("template %s", name)
	}
	return f, i, err
}

// TestBroadcast2Floats runs the float comparisons, min, max, mod and
// prelu, broadcast, with NaN, ±Inf and ties among the samples.
func TestBroadcast2Floats(t *testing.T) {
	special := []float32{0, 1, -1, 2.5, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1}
	for i, k := range []ir.Kind{ir.KEqual, ir.KLess, ir.KLessEqual, ir.KGreater, ir.KGreaterEqual, ir.KMin, ir.KMax, ir.KMod, ir.KPRelu} {
		op := ir.Op(ir.Simple{K: k})
		if k == ir.KMod {
			op = &ir.Mod{Fmod: true}
		}
		c := evalOpWith(t, 2, uint64(i), op, func(in []*ir.Tensor) {
			copy(in[0].F, special)
			copy(in[1].F, special[2:])
		}, f32(ir.N, ir.D(3), ir.D(8)), f32(ir.D(8)))
		f, ints, err := runBroadcast2(t, c)
		require.NoError(t, err)
		if f != nil {
			matches(t, f, c.out[0], ir.Describe(op))
		} else {
			require.Equal(t, c.out[0].I, ints, ir.Describe(op))
		}
	}
}

// TestBroadcast2Ints runs every integer op on each integer type (held
// values wrapped to it), broadcast, against the evaluator, and its
// errors: a zero divisor, a negative exponent.
func TestBroadcast2Ints(t *testing.T) {
	as := []int64{0, 1, -1, 7, -7, 100, -128, 255, 3}
	bs := []int64{1, 2, -3, 3, 5, 7, 1, 9, 2}
	ops := []ir.Op{ir.Simple{K: ir.KEqual}, ir.Simple{K: ir.KLess}, ir.Simple{K: ir.KLessEqual}, ir.Simple{K: ir.KGreater},
		ir.Simple{K: ir.KGreaterEqual}, ir.Simple{K: ir.KAdd}, ir.Simple{K: ir.KSub}, ir.Simple{K: ir.KMul},
		ir.Simple{K: ir.KDiv}, ir.Simple{K: ir.KBitAnd}, ir.Simple{K: ir.KBitOr}, ir.Simple{K: ir.KBitXor},
		ir.Simple{K: ir.KMin}, ir.Simple{K: ir.KMax}, ir.Simple{K: ir.KPRelu}, &ir.Mod{}, &ir.Mod{Fmod: true},
		&ir.BitShift{Left: true}, &ir.BitShift{}}
	for _, dt := range []ir.DType{ir.I8, ir.U8, ir.I32, ir.U32, ir.I64, ir.U64} {
		for i, op := range ops {
			ty := ir.Type{DType: dt, Shape: ir.Shape{ir.N, ir.D(9)}}
			c, err := tryEval(t, op, func(in []*ir.Tensor) {
				w := inlined[func(int64) int64](t, WrapOf(dt))
				for j := range as {
					in[0].I[j], in[1].I[j] = w(as[j]), w(bs[j])
				}
			}, uint64(i), ty, ty)
			if err != nil { // an op the evaluator does not define on dt
				continue
			}
			_, got, err := runBroadcast2(t, c)
			require.NoError(t, err)
			require.Equal(t, c.out[0].I, got, "%s on %s", ir.Describe(op), dt)
		}
	}
	for _, tc := range []struct {
		op ir.Op
		b  int64
	}{{ir.Simple{K: ir.KDiv}, 0}, {&ir.Mod{}, 0}, {ir.Simple{K: ir.KPow}, -1}} {
		ty := ir.Type{DType: ir.I64, Shape: ir.Shape{ir.N, ir.D(1)}}
		c := evalOpWith(t, 1, 1, tc.op, func(in []*ir.Tensor) { in[0].I[0], in[1].I[0] = 3, 1 }, ty, ty)
		c.in[1].I[0] = tc.b
		_, _, err := runBroadcast2(t, c)
		require.Error(t, err, ir.Describe(tc.op))
	}
	{ // and, or, xor on bools
		ty := ir.Type{DType: ir.Bool, Shape: ir.Shape{ir.N, ir.D(4)}}
		for i, k := range []ir.Kind{ir.KAnd, ir.KOr, ir.KXor} {
			c := evalOpWith(t, 1, uint64(i), ir.Simple{K: k}, func(in []*ir.Tensor) {
				copy(in[0].I, []int64{0, 0, 1, 1})
				copy(in[1].I, []int64{0, 1, 0, 1})
			}, ty, ty)
			_, got, err := runBroadcast2(t, c)
			require.NoError(t, err)
			require.Equal(t, c.out[0].I, got, k.String())
		}
	}
}

// tryEval is evalOpWith for an op that may not be defined on the input
// types: their error instead of a failure.
func tryEval(t *testing.T, op ir.Op, fix func([]*ir.Tensor), seed uint64, ins ...ir.Type) (opCase, error) {
	t.Helper()
	b := ir.NewBuilder("t")
	var vs []*ir.Value
	for i, ty := range ins {
		v, err := b.Input(string(rune('a'+i)), ty)
		require.NoError(t, err)
		vs = append(vs, v)
	}
	node, err := b.Add("op", op, vs)
	if err != nil {
		return opCase{}, err
	}
	b.G.Outputs = node.Outputs
	in := ir.SampleInputs(b.G, 1, seed)
	fix(in)
	out, err := ir.Eval(b.G, in...)
	if err != nil {
		return opCase{}, err
	}
	return opCase{node: node, n: 1, in: in, out: out}, nil
}
