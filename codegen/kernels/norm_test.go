package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// ewStandIn is a target's element-wise kernel of the isa.Elementwise
// contract for the tests: op on dst's whole vectors of 8.
func ewStandIn(op string) ElementwiseKernel {
	return ElementwiseKernel{F: func(dst, a, b []float32, s, t float32) int {
		n := len(dst) / 8 * 8
		for i := range n {
			switch op {
			case "affine":
				dst[i] = a[i]*s + t
			case "mul":
				dst[i] = a[i] * b[i]
			case "add":
				dst[i] = a[i] + b[i]
			case "relu":
				dst[i] = Relu32(a[i])
			}
		}
		return n
	}}
}

// chunks runs run over [0, items) in chunks of k, as the pool does.
func chunks(items, k int, run func(lo, hi int)) {
	for lo := 0; lo < items; lo += k {
		run(lo, min(lo+k, items))
	}
}

// bnInputs makes batchnorm's variance positive.
func bnInputs(in []*ir.Tensor) {
	for i, v := range in[4].F {
		in[4].F[i] = float32(math.Abs(float64(v))) + 0.1
	}
}

// nhwc returns a logical NCHW tensor's data in NHWC order.
func nhwc(x *ir.Tensor) []float32 {
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := make([]float32, len(x.F))
	for b := range n {
		for ch := range c {
			for p := range h * w {
				out[(b*h*w+p)*c+ch] = x.F[(b*c+ch)*h*w+p]
			}
		}
	}
	return out
}

func TestBatchNorm(t *testing.T) {
	for i, sh := range [][3]int{{3, 4, 4}, {5, 3, 7}, {2, 1, 1}} {
		for _, n := range []int{1, 2} {
			ch := ir.D(sh[0])
			c := evalOpWith(t, n, uint64(i), &ir.BatchNorm{Eps: 1e-5}, bnInputs,
				f32(ir.N, ch, ir.D(sh[1]), ir.D(sh[2])), f32(ch), f32(ch), f32(ch), f32(ch))
			in := c.in
			s := BatchNormOf(c.node)
			if s.I >= 16 {
				s.Affine = ewStandIn("affine")
			}
			y := outBuf(c.out[0])
			BatchNorm(s, n, y, in[0].F, in[1].F, in[2].F, in[3].F, in[4].F)
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "batchnorm")

			ns := BatchNormNHWCOf(c.node)
			ns.RB = 3 // blocks of 3 rows, so chunks end inside blocks
			if i%2 == 0 {
				ns.Mul, ns.Add = ewStandIn("mul"), ewStandIn("add")
			}
			y = outBuf(c.out[0])
			chunks(ns.Items.At(n), 4, func(lo, hi int) {
				BatchNormNHWC(ns, n, lo, hi, y, nhwc(in[0]), in[1].F, in[2].F, in[3].F, in[4].F)
			})
			require.NoError(t, matchErr(guarded(t, y, c.out[0].Numel()), nhwc(c.out[0])), "batchnorm nhwc")
		}
	}
}

// lnStandIn is a target's layernorm kernel for rows of I for the tests,
// from the isa.LayerNorm contract (float32 statistics; no scale when g
// is nil, a plain kernel).
func lnStandIn(I int) LayerNormKernel {
	return LayerNormKernel{F: func(lo, hi int, dst, x, g, b []float32, eps float32) {
		for r := lo; r < hi; r++ {
			row := x[r*I : (r+1)*I]
			var sum float32
			for _, v := range row {
				sum += v
			}
			mean := sum / float32(I)
			var ss float32
			for _, v := range row {
				ss += (v - mean) * (v - mean)
			}
			inv := 1 / float32(math.Sqrt(float64(ss/float32(I)+eps)))
			for i, v := range row {
				dst[r*I+i] = (v - mean) * inv
				if g != nil {
					dst[r*I+i] *= g[i]
				}
				if b != nil {
					dst[r*I+i] += b[i]
				}
			}
		}
	}}
}

// TestLayerNorm runs plain (no affine inputs), scaled and scaled and
// shifted layernorms, in Go and on a stand-in target kernel.
func TestLayerNorm(t *testing.T) {
	for i, w := range []int{16, 7, 48} {
		for affine := range 3 { // inputs after x: none, γ, γ and β
			n := 1 + i
			ins := []ir.Type{f32(ir.N, ir.D(3), ir.D(w))}
			for range affine {
				ins = append(ins, f32(ir.D(w)))
			}
			c := evalOp(t, n, uint64(i), &ir.LayerNorm{Axis: -1, Eps: 1e-5}, ins...)
			s, err := LayerNormOf(c.node)
			require.NoError(t, err)
			require.Equal(t, affine == 2, s.Beta)
			require.Equal(t, affine == 0, s.Plain)
			var g, b []float32
			if affine >= 1 {
				g = c.in[1].F
			}
			if affine == 2 {
				b = c.in[2].F
			}
			for _, vector := range []bool{false, true} {
				if vector {
					s.Vector = lnStandIn(w)
				}
				y := outBuf(c.out[0])
				chunks(s.Items.At(n), 2, func(lo, hi int) { LayerNorm(s, n, lo, hi, y, c.in[0].F, g, b) })
				matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "layernorm")
			}
		}
	}
}

// smStandIn is a target's softmax kernel for rows of L for the tests
// (isa.Softmax).
func smStandIn(L int) SoftmaxKernel {
	return SoftmaxKernel{F: func(lo, hi int, dst, x []float32) {
		smRows(L, lo, hi, dst, x)
	}}
}

func smRows(L, lo, hi int, dst, x []float32) {
	for r := lo; r < hi; r++ {
		m := float32(math.Inf(-1))
		for _, v := range x[r*L : (r+1)*L] {
			m = max(m, v)
		}
		var sum float32
		for j, v := range x[r*L : (r+1)*L] {
			dst[r*L+j] = float32(math.Exp(float64(v - m)))
			sum += dst[r*L+j]
		}
		for j := range L {
			dst[r*L+j] /= sum
		}
	}
}

func TestSoftmax(t *testing.T) {
	for i, axis := range []int{-1, 1, 2, 0} {
		for _, k := range []ir.Kind{ir.KSoftmax, ir.KLogSoftmax} {
			n := 2
			c := evalOp(t, n, uint64(i), &ir.Softmax{K: k, Axis: axis}, f32(ir.D(2), ir.N, ir.D(5), ir.D(3)))
			s, err := SoftmaxOf(c.node)
			if axis == 0 || axis == 1 {
				// The batch is the softmax's axis, or after it.
				require.Error(t, err)
				continue
			}
			require.NoError(t, err)
			y := outBuf(c.out[0])
			chunks(s.Items.At(n), 3, func(lo, hi int) { Softmax(s, n, lo, hi, y, c.in[0].F) })
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
		}
	}
	// The last axis, on the stand-in kernel too; a row with NaN and one of
	// −Inf only come out NaN.
	c := evalOpWith(t, 2, 9, &ir.Softmax{K: ir.KSoftmax, Axis: -1}, func(in []*ir.Tensor) {
		in[0].F[3] = float32(math.NaN())
		for j := range 11 {
			in[0].F[11+j] = float32(math.Inf(-1))
		}
	}, f32(ir.N, ir.D(3), ir.D(11)))
	s, err := SoftmaxOf(c.node)
	require.NoError(t, err)
	require.Equal(t, SoftmaxShape{L: 11, Inner: 1, Items: ir.Dim{A: 3}}, s)
	y := outBuf(c.out[0])
	chunks(s.Items.At(2), 4, func(lo, hi int) { Softmax(s, 2, lo, hi, y, c.in[0].F) })
	matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "softmax")
	require.True(t, math.IsNaN(float64(y[0])) && math.IsNaN(float64(y[11])))
	s.Vector = smStandIn(11)
	y = outBuf(c.out[0])
	Softmax(s, 2, 2, 6, y, c.in[0].F)
	matches(t, y[22:66], &ir.Tensor{F: c.out[0].F[22:66]}, "softmax on the stand-in")
}

func TestGlobalAvgPool(t *testing.T) {
	for i, sh := range [][3]int{{3, 4, 4}, {1, 1, 1}, {5, 2, 3}} {
		n := 1 + i
		c := evalOp(t, n, uint64(i), ir.Simple{K: ir.KGlobalAvgPool}, f32(ir.N, ir.D(sh[0]), ir.D(sh[1]), ir.D(sh[2])))
		y := outBuf(c.out[0])
		GlobalAvgPool(GlobalAvgPoolOf(c.node), n, y, c.in[0].F)
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "global average pool")
		y = outBuf(c.out[0])
		GlobalAvgPoolNHWC(GlobalAvgPoolNHWCOf(c.node), n, y, nhwc(c.in[0]))
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "global average pool nhwc")
	}
}
