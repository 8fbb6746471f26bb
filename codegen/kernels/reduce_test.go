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
	}
}
