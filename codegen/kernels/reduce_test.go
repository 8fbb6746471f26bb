package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

func TestReduce(t *testing.T) {
	x := f32(ir.D(2), ir.N, ir.D(3), ir.D(4))
	for i, axes := range [][]int{{2}, {-1}, {0, 2}, {0, 3}, {3, 2, 0}} {
		for _, k := range []ir.Kind{ir.KReduceSum, ir.KReduceMean} {
			for _, keep := range []bool{false, true} {
				n := 1 + i%3
				c := evalOp(t, n, uint64(i), &ir.Reduce{K: k, Axes: axes, KeepDims: keep}, x)
				y := outBuf(c.out[0])
				Reduce(ReduceOf(c.node), n, y, c.in[0].F)
				matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
			}
		}
	}
}

// TestReduceAll: no axes reduce all of a static input.
func TestReduceAll(t *testing.T) {
	c := evalOp(t, 1, 3, &ir.Reduce{K: ir.KReduceMean}, f32(ir.D(2), ir.D(3), ir.D(4)))
	y := outBuf(c.out[0])
	Reduce(ReduceOf(c.node), 1, y, c.in[0].F)
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
