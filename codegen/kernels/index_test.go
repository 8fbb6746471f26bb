package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// TestArgReduce runs arg_max and arg_min (first and last of ties) on
// floats with a NaN and ties, and on integers, along each axis.
func TestArgReduce(t *testing.T) {
	for _, k := range []ir.Kind{ir.KArgMax, ir.KArgMin} {
		for _, last := range []bool{false, true} {
			for axis := -3; axis < 3; axis++ {
				op := &ir.ArgReduce{K: k, Axis: axis, SelectLast: last}
				x := ir.Shape{ir.D(2), ir.D(3), ir.D(4)}
				c := evalOpWith(t, 1, 1, op, func(in []*ir.Tensor) {
					for i := range in[0].F {
						in[0].F[i] = float32(i % 3) // ties
					}
					in[0].F[5] = float32(math.NaN())
				}, ir.Type{DType: ir.F32, Shape: x})
				s, err := AxisOf(k, x, axis)
				require.NoError(t, err)
				y := make([]int64, c.out[0].Numel())
				ArgReduce(ArgReduceShape{AxisShape: s, Max: k == ir.KArgMax, Last: last}, 1, y, c.in[0].F)
				require.Equal(t, c.out[0].I, y, "%s", ir.Describe(op))

				ci := evalOp(t, 1, uint64(axis+3), op, ir.Type{DType: ir.I64, Shape: x})
				ArgReduce(ArgReduceShape{AxisShape: s, Max: k == ir.KArgMax, Last: last}, 1, y, ci.in[0].I)
				require.Equal(t, ci.out[0].I, y, "%s on i64", ir.Describe(op))

				cu := evalOpWith(t, 1, uint64(axis+7), op, fillU64, ir.Type{DType: ir.U64, Shape: x})
				ArgReduce(ArgReduceShape{AxisShape: s, Max: k == ir.KArgMax, Last: last, Unsigned: true}, 1, y, cu.in[0].I)
				require.Equal(t, cu.out[0].I, y, "%s on u64", ir.Describe(op))
			}
		}
	}
	_, err := AxisOf(ir.KArgMax, ir.Shape{ir.N, ir.D(3)}, 1)
	require.Error(t, err)
}

func TestHardmax(t *testing.T) {
	x := ir.Shape{ir.D(2), ir.D(3), ir.D(4)}
	for axis := -3; axis < 3; axis++ {
		c := evalOp(t, 1, uint64(axis+3), &ir.Hardmax{Axis: axis}, f32(x...))
		s, err := AxisOf(ir.KHardmax, x, axis)
		require.NoError(t, err)
		y := make([]float32, 24)
		for i := range y {
			y[i] = 7 // overwritten
		}
		Hardmax(s, 1, y, c.in[0].F)
		require.Equal(t, c.out[0].F, y, "axis %d", axis)
	}
}

// TestCumulative runs cumsum and cumprod, exclusive and reversed, on
// floats and integers.
func TestCumulative(t *testing.T) {
	x := ir.Shape{ir.D(2), ir.D(5), ir.D(3)}
	for _, k := range []ir.Kind{ir.KCumSum, ir.KCumProd} {
		for _, excl := range []bool{false, true} {
			for _, rev := range []bool{false, true} {
				for axis := -1; axis < 3; axis++ {
					op := &ir.Cumulative{K: k, Axis: axis, Exclusive: excl, Reverse: rev}
					ax, err := AxisOf(k, x, axis)
					require.NoError(t, err)
					s := CumulativeShape{AxisShape: ax, Prod: k == ir.KCumProd, Exclusive: excl, Reverse: rev}
					c := evalOp(t, 1, uint64(axis+1), op, f32(x...))
					y := make([]float32, 30)
					Cumulative(s, 1, y, c.in[0].F)
					matches(t, y, c.out[0], ir.Describe(op))
					for _, dt := range []ir.DType{ir.I64, ir.I32, ir.U8} {
						wrap := inlined[func(int64) int64](t, WrapOf(dt))
						ci := evalOpWith(t, 1, uint64(axis+1), op, func(in []*ir.Tensor) {
							for i, v := range in[0].I { // large enough to wrap i32 and u8
								in[0].I[i] = wrap(v * 40013)
							}
						}, ir.Type{DType: dt, Shape: x})
						s.Wrap = wrap
						yi := make([]int64, 30)
						CumulativeInt(s, 1, yi, ci.in[0].I)
						require.Equal(t, ci.out[0].I, yi, "%s on %s", ir.Describe(op), dt)
					}
				}
			}
		}
	}
}
