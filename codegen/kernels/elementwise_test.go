package kernels

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

var unaryOps = []ir.Op{
	ir.Simple{K: ir.KRelu}, &ir.LeakyRelu{Alpha: 0.1}, ir.Simple{K: ir.KSigmoid}, ir.Simple{K: ir.KTanh},
	&ir.Gelu{Approximate: "none"}, &ir.Gelu{Approximate: "tanh"}, ir.Simple{K: ir.KErf}, ir.Simple{K: ir.KExp}, ir.Simple{K: ir.KLog},
	ir.Simple{K: ir.KSqrt}, ir.Simple{K: ir.KNeg}, ir.Simple{K: ir.KAbs}, &ir.HardSigmoid{Alpha: 0.2, Beta: 0.5},
	ir.Simple{K: ir.KHardSwish}, &ir.Clip{Min: -0.5, Max: 0.75},
}

// vectorStandIn is a target's element-wise kernel for the tests: whole
// vectors of 8 of relu or a binary op, as the isa.Elementwise contract
// says (it reads a and b only up to dst's whole vectors).
func vectorStandIn(op func(a, b float32) float32) ElementwiseKernel {
	return ElementwiseKernel{F: func(dst, a, b []float32, s, t float32) int {
		n := len(dst) / 8 * 8
		for i := range n {
			var bv float32
			if b != nil {
				bv = b[i]
			}
			dst[i] = op(a[i], bv)
		}
		return n
	}}
}

func TestUnary(t *testing.T) {
	r := rng(1)
	for _, op := range unaryOps {
		// Whole vectors and a tail, a tail alone, and a random shape.
		for _, nw := range [][2]int{{1, 13}, {2, 3}, {1 + r.IntN(3), 1 + r.IntN(40)}} {
			n, w := nw[0], nw[1]
			c := evalOp(t, n, r.Uint64(), op, f32(ir.N, ir.D(w)))
			h, ok := UnaryOp(op)
			require.True(t, ok)
			s := UnaryShape{N: ir.Dim{A: w}, Op: inlined[func(float64) float64](t, h)}
			if op.Kind() == ir.KRelu {
				s.Vector = vectorStandIn(func(a, _ float32) float32 { return max(a, 0) })
			}
			y := outBuf(c.out[0])
			Unary(s, n, y, c.in[0].F)
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(op))
		}
	}
	_, ok := UnaryOp(&ir.Linear{})
	require.False(t, ok)
}

func TestBinary(t *testing.T) {
	r := rng(2)
	for i, k := range []ir.Kind{ir.KAdd, ir.KSub, ir.KMul, ir.KDiv, ir.KPow, ir.KAdd} {
		n, w := 1+i%2, 9+r.IntN(30)
		c := evalOp(t, n, r.Uint64(), ir.Simple{K: k}, f32(ir.N, ir.D(w)), f32(ir.N, ir.D(w)))
		h, ok := BinaryOp(k)
		require.True(t, ok)
		op := inlined[func(a, b float64) float64](t, h)
		s := BinaryShape{N: ir.Dim{A: w}, Op: op}
		if k != ir.KPow {
			s.Vector = vectorStandIn(func(a, b float32) float32 { return float32(op(float64(a), float64(b))) })
		}
		y := outBuf(c.out[0])
		Binary(s, n, y, c.in[0].F, c.in[1].F)
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], k.String())
	}
}

// TestBroadcast: operands broadcast on leading, inner and batch
// dimensions, of lower rank, and scalars.
func TestBroadcast(t *testing.T) {
	cases := [][3]ir.Shape{
		{{ir.N, ir.D(3), ir.D(4)}, {ir.D(4)}, {ir.N, ir.D(3), ir.D(4)}},
		{{ir.N, ir.D(1), ir.D(4)}, {ir.N, ir.D(3), ir.D(1)}, {ir.N, ir.D(3), ir.D(4)}},
		{{ir.D(1), ir.D(5)}, {ir.N, ir.D(1)}, {ir.N, ir.D(5)}},
		{{}, {ir.N, ir.D(2), ir.D(2), ir.D(3)}, {ir.N, ir.D(2), ir.D(2), ir.D(3)}},
		{{}, {}, {}},
		{{ir.D(2), ir.N}, {ir.D(2), ir.D(1)}, {ir.D(2), ir.N}},
	}
	for i, sh := range cases {
		for _, n := range []int{1, 3} {
			c := evalOp(t, n, uint64(i), ir.Simple{K: ir.KSub}, f32(sh[0]...), f32(sh[1]...))
			require.Equal(t, sh[2], c.node.Outputs[0].Type.Shape)
			s := NewBroadcast(sh[0], sh[1], sh[2])
			s.Op = Sub
			y := outBuf(c.out[0])
			Broadcast(s, n, y, c.in[0].F, c.in[1].F)
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], sh[2].String())
		}
	}
}

// TestChannelNHWC: a per-channel operand [N, C, 1, 1] against NHWC
// pixels, first or second, on the Go loop and a vector stand-in, with
// chunks that cross images and blocks shorter than an image (C = 300:
// RB = 6 rows) or longer (C = 8: RB = 256).
func TestChannelNHWC(t *testing.T) {
	for i, k := range []struct {
		c, h, w int
		kind    ir.Kind
	}{{8, 3, 5, ir.KMul}, {300, 4, 3, ir.KSub}, {13, 2, 2, ir.KAdd}} {
		for vec := range 2 {
			act := f32(ir.N, ir.D(k.c), ir.D(k.h), ir.D(k.w))
			cv := f32(ir.N, ir.D(k.c), ir.D(1), ir.D(1))
			ins := []ir.Type{act, cv}
			if vec == 0 {
				ins = []ir.Type{cv, act}
			}
			c := evalOp(t, 3, uint64(i), ir.Simple{K: k.kind}, ins...)
			c.node.Outputs[0].Type.Layout = ir.NHWC
			s := ChannelNHWCOf(c.node, vec)
			s.Op = map[ir.Kind]func(a, b float64) float64{ir.KMul: func(a, b float64) float64 { return a * b },
				ir.KSub: func(a, b float64) float64 { return a - b }, ir.KAdd: func(a, b float64) float64 { return a + b }}[k.kind]
			a, b := c.in[0].F, c.in[1].F
			if vec == 0 {
				b = nhwc(c.in[1])
			} else {
				a = nhwc(c.in[0])
			}
			want := &ir.Tensor{F: nhwc(c.out[0])}
			for _, vector := range []bool{false, true} {
				s.Vector = ElementwiseKernel{}
				if vector {
					s.Vector = vectorStandIn(func(x, y float32) float32 { return float32(s.Op(float64(x), float64(y))) })
				}
				y := outBuf(c.out[0])
				chunks(s.Items.At(3), 5, func(lo, hi int) { ChannelNHWC(s, 3, lo, hi, y, a, b) })
				matches(t, guarded(t, y, len(want.F)), want, fmt.Sprintf("%+v vec %d vector %v", k, vec, vector))
			}
		}
	}
}
