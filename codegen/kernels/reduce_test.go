package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// reduceOf is ReduceOf with its hooks bound to their Go functions.
func reduceOf(t *testing.T, nd *ir.Node) ReduceShape {
	s, h := ReduceOf(nd)
	s.Step = inlined[func(acc, v float64) float64](t, h["Step"].(tmpl.Inline))
	s.Finish = inlined[func(acc, count float64) float64](t, h["Finish"].(tmpl.Inline))
	return s
}

// TestReduce runs every reduction kind over several axis sets.
func TestReduce(t *testing.T) {
	x := f32(ir.D(2), ir.N, ir.D(3), ir.D(4))
	kinds := []ir.Kind{ir.KReduceSum, ir.KReduceMean, ir.KReduceMax, ir.KReduceMin, ir.KReduceProd, ir.KReduceL1,
		ir.KReduceL2, ir.KReduceLogSum, ir.KReduceLogSumExp, ir.KReduceSumSquare}
	for i, axes := range [][]int{{2}, {-1}, {0, 2}, {0, 3}, {3, 2, 0}} {
		for _, k := range kinds {
			for _, keep := range []bool{false, true} {
				n := 1 + i%3
				var positive func([]*ir.Tensor) // log of a sum of positive numbers
				if k == ir.KReduceLogSum {
					positive = func(in []*ir.Tensor) {
						for j, v := range in[0].F {
							in[0].F[j] = float32(math.Abs(float64(v)))
						}
					}
				}
				c := evalOpWith(t, n, uint64(i), &ir.Reduce{K: k, Axes: axes, KeepDims: keep}, positive, x)
				y := outBuf(c.out[0])
				Reduce(reduceOf(t, c.node), n, y, c.in[0].F)
				matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
			}
		}
	}
}

// TestReduceAll: no axes reduce all of a static input.
func TestReduceAll(t *testing.T) {
	c := evalOp(t, 1, 3, &ir.Reduce{K: ir.KReduceMean}, f32(ir.D(2), ir.D(3), ir.D(4)))
	y := outBuf(c.out[0])
	Reduce(reduceOf(t, c.node), 1, y, c.in[0].F)
	matches(t, guarded(t, y, 1), c.out[0], "mean of all")
}

func TestPool(t *testing.T) {
	ops := []ir.Op{
		&ir.MaxPool{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pad: []int{1, 1, 1, 1}, Dilation: []int{1, 1}},
		&ir.MaxPool{Kernel: []int{2, 3}, Stride: []int{1, 2}, Pad: []int{0, 1, 1, 0}, Dilation: []int{2, 1}, CeilMode: true},
		&ir.AvgPool{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pad: []int{1, 1, 1, 1}},
		&ir.AvgPool{Kernel: []int{3, 2}, Stride: []int{2, 1}, Pad: []int{1, 0, 1, 1}, CountIncludePad: true, CeilMode: true},
	}
	for i, op := range ops {
		n := 1 + i%2
		c := evalOpWith(t, n, uint64(i), op, func(in []*ir.Tensor) { in[0].F[5] = float32(math.NaN()) }, f32(ir.N, ir.D(3), ir.D(7), ir.D(6)))
		s, err := PoolOf(c.node)
		require.NoError(t, err)
		y := outBuf(c.out[0])
		chunks(s.Planes.At(n), 2, func(lo, hi int) { Pool(s, n, lo, hi, y, c.in[0].F) })
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(op))
		// The NHWC kernel, on the same windows, bit for bit.
		yh := outBuf(c.out[0])
		chunks(s.Rows.At(n), 3, func(lo, hi int) { PoolNHWC(s, n, lo, hi, yh, nhwc(c.in[0])) })
		want := nhwc(c.out[0])
		got := guarded(t, yh, len(want))
		for k := range want {
			require.True(t, got[k] == want[k] || got[k] != got[k] && want[k] != want[k], "%s NHWC [%d]: %v, want %v", ir.Describe(op), k, got[k], want[k])
		}
	}
}

// TestReduceInt runs the integer reductions on integers of several
// widths (large enough for sums and products to wrap), u64 (ordered
// unsigned) and bools, wherever the evaluator defines them.
func TestReduceInt(t *testing.T) {
	kinds := []ir.Kind{ir.KReduceSum, ir.KReduceMax, ir.KReduceMin, ir.KReduceProd, ir.KReduceL1, ir.KReduceSumSquare}
	ran := map[ir.DType]int{}
	for _, dt := range []ir.DType{ir.I64, ir.I32, ir.U8, ir.U64, ir.Bool} {
		x := ir.Type{DType: dt, Shape: ir.Shape{ir.D(2), ir.N, ir.D(3), ir.D(4)}}
		wrap := inlined[func(int64) int64](t, WrapOf(dt))
		for i, axes := range [][]int{{2}, {-1}, {0, 2}, {3, 2, 0}} {
			for _, k := range kinds {
				c, err := tryEval(t, &ir.Reduce{K: k, Axes: axes, KeepDims: i%2 == 0}, func(in []*ir.Tensor) {
					for j, v := range in[0].I {
						if dt != ir.Bool {
							v = v*1000003 + int64(j)<<61 // wraps narrow types; u64 beyond 2^63
						}
						in[0].I[j] = wrap(v)
					}
				}, uint64(i), x)
				if err != nil {
					continue // not defined on dt
				}
				s, h, err := ReduceIntOf(c.node)
				require.NoError(t, err)
				s.Step = inlined[func(acc, v int64) int64](t, h["Step"].(tmpl.Inline))
				s.Wrap = inlined[func(int64) int64](t, h["Wrap"].(tmpl.Inline))
				y := make([]int64, c.out[0].Numel()+1)
				y[len(y)-1] = 42
				ReduceInt(s, 1, y, c.in[0].I)
				require.Equal(t, c.out[0].I, y[:len(y)-1], "%s on %s", ir.Describe(c.node.Op), dt)
				require.Equal(t, int64(42), y[len(y)-1], "wrote past the result")
				ran[dt]++
			}
		}
	}
	require.Equal(t, 8, ran[ir.Bool], "bool: max and min") // the evaluator's reduce_max/min on bool
	require.Equal(t, 24, ran[ir.I32])
}
