package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// The N-D templates against the evaluator, as Go, at batch 2 and in
// chunks of planes.

func TestConvND(t *testing.T) {
	cases := []struct {
		op     *ir.ConvND
		x, w   ir.Shape
		biases []bool
	}{
		{&ir.ConvND{Groups: 1, Window: ir.Window{Pad: []int{1, 1, 1, 1, 1, 1}}},
			batchShape(3, 5, 4, 6), ir.Shape{ir.D(4), ir.D(3), ir.D(3), ir.D(3), ir.D(3)}, []bool{true, false}},
		{&ir.ConvND{Groups: 2, Window: ir.Window{Stride: []int{2, 1, 3}, Pad: []int{0, 1, 2, 1, 0, 1}, Dilation: []int{2, 2, 1}}},
			batchShape(4, 7, 6, 8), ir.Shape{ir.D(6), ir.D(2), ir.D(3), ir.D(2), ir.D(3)}, []bool{true}},
		{&ir.ConvND{Groups: 1, Window: ir.Window{Stride: []int{2}, Pad: []int{1, 2}}},
			batchShape(3, 11), ir.Shape{ir.D(2), ir.D(3), ir.D(4)}, []bool{false}},
	}
	for i, c := range cases {
		for _, bias := range c.biases {
			ins := []ir.Type{f32(c.x...), f32(c.w...)}
			if bias {
				ins = append(ins, f32(c.w[0]))
			}
			oc := evalOp(t, 2, uint64(i), c.op, ins...)
			s, err := WindowNDOf(oc.node)
			require.NoError(t, err)
			var b []float32
			if bias {
				b = oc.in[2].F
			}
			y := outBuf(oc.out[0])
			chunks(2*s.CO, 3, func(lo, hi int) { ConvND(s, 2, lo, hi, y, oc.in[0].F, oc.in[1].F, b) })
			matches(t, guarded(t, y, oc.out[0].Numel()), oc.out[0], ir.Describe(c.op))
		}
	}
}

func TestConvTransposeND(t *testing.T) {
	for i, cv := range []*ir.ConvTransposeND{
		{Groups: 1},
		{Groups: 2, OutPad: []int{1, 1, 0}, Window: ir.Window{Stride: []int{2, 3, 1}, Pad: []int{1, 0, 1, 1, 1, 0}, Dilation: []int{1, 2, 1}}},
		{Groups: 1, Window: ir.Window{Stride: []int{2, 1, 2}, Pad: []int{0, -1, 0, -1, 0, 1}}},
	} {
		for _, bias := range []bool{true, false} {
			ins := []ir.Type{f32(batchShape(4, 3, 3, 4)...), f32(ir.D(4), ir.D(3), ir.D(3), ir.D(2), ir.D(3))}
			if bias {
				ins = append(ins, f32(ir.D(3*cv.Groups)))
			}
			c := evalOp(t, 2, uint64(i), cv, ins...)
			s, err := WindowNDOf(c.node)
			require.NoError(t, err)
			var b []float32
			if bias {
				b = c.in[2].F
			}
			y := outBuf(c.out[0])
			chunks(2*s.CO, 4, func(lo, hi int) { ConvTransposeND(s, 2, lo, hi, y, c.in[0].F, c.in[1].F, b) })
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(cv))
		}
	}
}

func TestPoolND(t *testing.T) {
	ops := []ir.Op{
		&ir.MaxPoolND{Kernel: []int{2, 2, 2}, Window: ir.Window{Stride: []int{2, 2, 2}}},
		&ir.MaxPoolND{Kernel: []int{3, 2, 3}, Window: ir.Window{Stride: []int{2, 2, 2}, Pad: []int{1, 1, 1, 1, 1, 1}, Dilation: []int{2, 1, 1}}, CeilMode: true, Indices: true},
		&ir.MaxPoolND{Kernel: []int{3, 2, 2}, Window: ir.Window{Stride: []int{1, 2, 1}, Pad: []int{0, 1, 1, 2, 0, 1}}, Indices: true, ColumnMajor: true},
		&ir.AvgPoolND{Kernel: []int{3, 3, 3}, Window: ir.Window{Stride: []int{2, 1, 2}, Pad: []int{1, 1, 1, 1, 1, 1}}, CountIncludePad: true},
		&ir.AvgPoolND{Kernel: []int{3, 2, 2}, Window: ir.Window{Stride: []int{2, 2, 2}, Pad: []int{1, 1, 0, 1, 1, 0}}, CeilMode: true},
		&ir.AvgPoolND{Kernel: []int{2, 3, 2}, Window: ir.Window{Stride: []int{3, 2, 2}, Pad: []int{1, 0, 1, 0, 1, 1}, Dilation: []int{3, 1, 2}}, CeilMode: true, CountIncludePad: true},
	}
	for i, op := range ops {
		nan := func(in []*ir.Tensor) {
			if _, ok := op.(*ir.MaxPoolND); ok && i > 0 { // ties: the first maximum's index
				for j, v := range in[0].F {
					in[0].F[j] = float32(math.Round(float64(v)))
				}
			}
			in[0].F[5] = float32(math.NaN())
		}
		c := evalOpWith(t, 2, uint64(i), op, nan, f32(batchShape(3, 8, 7, 9)...))
		s, err := WindowNDOf(c.node)
		require.NoError(t, err)
		y := outBuf(c.out[0])
		planes := 2 * 3
		switch op.(type) {
		case *ir.MaxPoolND:
			idx := make([]int64, c.out[0].Numel())
			chunks(planes, 4, func(lo, hi int) { MaxPoolND(s, 2, lo, hi, y, idx, c.in[0].F) })
			if s.Indices {
				require.Equal(t, c.out[1].I, idx, ir.Describe(op))
			}
		default:
			chunks(planes, 4, func(lo, hi int) { AvgPoolND(s, 2, lo, hi, y, c.in[0].F) })
		}
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(op))
	}
}

// TestColumnMajor: the column-major offset of each row-major one.
func TestColumnMajor(t *testing.T) {
	dims := []int{2, 3, 4}
	for i := 0; i < 24; i++ {
		a, b, c := i/12, i/4%3, i%4
		require.Equal(t, a+2*b+6*c, columnMajor(i, dims), "offset %d", i)
	}
}
