package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// TestMath runs every float math op through Unary, on samples with the
// special values each op treats apart (±0, ±Inf, NaN, the thresholds).
func TestMath(t *testing.T) {
	ops := []ir.Op{
		ir.Simple{K: ir.KSin}, ir.Simple{K: ir.KCos}, ir.Simple{K: ir.KTan}, ir.Simple{K: ir.KAsin}, ir.Simple{K: ir.KAcos},
		ir.Simple{K: ir.KAtan}, ir.Simple{K: ir.KSinh}, ir.Simple{K: ir.KCosh}, ir.Simple{K: ir.KAsinh}, ir.Simple{K: ir.KAcosh},
		ir.Simple{K: ir.KAtanh}, ir.Simple{K: ir.KCeil}, ir.Simple{K: ir.KFloor}, ir.Simple{K: ir.KRound},
		ir.Simple{K: ir.KReciprocal}, ir.Simple{K: ir.KSoftsign}, ir.Simple{K: ir.KSign}, ir.Simple{K: ir.KSoftplus},
		ir.Simple{K: ir.KMish}, &ir.AlphaAct{K: ir.KElu, Alpha: 0.7}, &ir.AlphaAct{K: ir.KCelu, Alpha: 1.3},
		&ir.AlphaAct{K: ir.KThresholdedRelu, Alpha: 0.5}, &ir.AlphaAct{K: ir.KSwish, Alpha: 1.5},
		&ir.Selu{Gamma: 1.05, Alpha: 1.67}, &ir.Shrink{Lambd: 0.5, Bias: 0.25},
	}
	special := []float32{0, float32(math.Copysign(0, -1)), 0.5, -0.5, 2.5, -2.5, 40, -40,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for i, op := range ops {
		n := 1 + i%2
		c := evalOpWith(t, n, uint64(i), op, func(in []*ir.Tensor) { copy(in[0].F, special) }, f32(ir.N, ir.D(13)))
		h, ok := MathOp(op)
		require.True(t, ok, ir.Describe(op))
		y := outBuf(c.out[0])
		Unary(UnaryShape{N: ir.Dim{A: 13}, Op: inlined[func(float64) float64](t, h)}, n, y, c.in[0].F)
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(op))
	}
	_, ok := MathOp(ir.Simple{K: ir.KRelu})
	require.False(t, ok)
}

// TestPredicate runs is_nan and is_inf (each sign alone and both).
func TestPredicate(t *testing.T) {
	special := []float32{0, 1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for i, op := range []ir.Op{ir.Simple{K: ir.KIsNaN}, &ir.IsInf{Pos: true, Neg: true}, &ir.IsInf{Pos: true}, &ir.IsInf{Neg: true}} {
		c := evalOpWith(t, 2, uint64(i), op, func(in []*ir.Tensor) { copy(in[0].F, special) }, f32(ir.N, ir.D(5)))
		s, h, ok := PredicateOf(c.node)
		require.True(t, ok)
		s.Op = inlined[func(float64) bool](t, h)
		y := make([]int64, 10)
		Predicate(s, 2, y, c.in[0].F)
		require.Equal(t, c.out[0].I, y, ir.Describe(op))
	}
}

// TestIntUnary runs not, bit_not (wrapped to each integer type) and
// integer sign.
func TestIntUnary(t *testing.T) {
	ints := []int64{0, 1, -1, 5, -7, 127, -128, 255, 1 << 40}
	cases := []struct {
		op ir.Op
		dt ir.DType
	}{{ir.Simple{K: ir.KNot}, ir.Bool}, {ir.Simple{K: ir.KSign}, ir.I64}, {ir.Simple{K: ir.KSign}, ir.I32}}
	for _, dt := range []ir.DType{ir.I8, ir.U8, ir.I16, ir.U16, ir.I32, ir.U32, ir.I64} {
		cases = append(cases, struct {
			op ir.Op
			dt ir.DType
		}{ir.Simple{K: ir.KBitNot}, dt})
	}
	for i, tc := range cases {
		c := evalOpWith(t, 1, uint64(i), tc.op, func(in []*ir.Tensor) {
			for j, v := range ints {
				switch tc.dt {
				case ir.Bool:
					v = v & 1
				default:
					v = inlined[func(int64) int64](t, WrapOf(tc.dt))(v)
				}
				in[0].I[j] = v
			}
		}, ir.Type{DType: tc.dt, Shape: ir.Shape{ir.N, ir.D(9)}})
		s, h, ok := IntUnaryOf(c.node)
		require.True(t, ok)
		s.Op = inlined[func(int64) int64](t, h["Op"].(tmpl.Inline))
		s.Wrap = inlined[func(int64) int64](t, h["Wrap"].(tmpl.Inline))
		y := make([]int64, 9)
		IntUnary(s, 1, y, c.in[0].I)
		require.Equal(t, c.out[0].I, y, "%s on %s", ir.Describe(tc.op), tc.dt)
	}
}
