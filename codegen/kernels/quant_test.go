package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/quant"
)

// qType returns the quantized type dt<scale, zp> of shape s.
func qType(dt ir.DType, scale float64, zp int64, s ...ir.Dim) ir.Type {
	return ir.Type{DType: dt, Shape: s, Quant: ir.Quant{Scale: scale, ZeroPoint: zp}}
}

// TestQuantize runs quantize, dequantize and requantize (of a quantized
// and of a plain integer) bit-exactly against the evaluator, NaN,
// saturation and ties included.
func TestQuantize(t *testing.T) {
	c := evalOpWith(t, 2, 1, &ir.Quantize{QFormat: ir.QFormat{To: ir.I8, Scale: 0.25, ZP: 3}}, func(in []*ir.Tensor) {
		copy(in[0].F, []float32{0.375, -0.375, 100, -100, 0.625, float32(math.NaN()), 0.125})
	}, f32(ir.N, ir.D(5)))
	y := make([]int64, 10)
	Quantize(QuantizeOf(c.node), 2, y, c.in[0].F)
	require.Equal(t, c.out[0].I, y)

	q := qType(ir.U8, 0.5, 100, ir.N, ir.D(5))
	c = evalOpWith(t, 2, 2, ir.Simple{K: ir.KDequantize}, func(in []*ir.Tensor) {
		for i := range in[0].I {
			in[0].I[i] = int64(i * 29 % 256)
		}
	}, q)
	yf := make([]float32, 10)
	Dequantize(DequantizeOf(c.node), 2, yf, c.in[0].I)
	require.Equal(t, c.out[0].F, yf)

	for _, in := range []ir.Type{qType(ir.I8, 0.125, -3, ir.N, ir.D(5)), {DType: ir.I32, Shape: ir.Shape{ir.N, ir.D(5)}}} {
		c = evalOpWith(t, 2, 3, &ir.Requantize{QFormat: ir.QFormat{To: ir.U8, Scale: 0.5, ZP: 100}}, func(in []*ir.Tensor) {
			for i := range in[0].I {
				in[0].I[i] = int64(i*37%256 - 128)
			}
		}, in)
		s, err := RequantizeOf(c.node)
		require.NoError(t, err)
		Requantize(s, 2, y, c.in[0].I)
		require.Equal(t, c.out[0].I, y, "requantize from %s", in)
	}
}

// qLayers are qlinear and qconv2d epilogues: canonical (with and
// without ReLU), float, to f32 (with ReLU) and to i32, with 32- and
// 64-bit accumulators, with and without a bias.
var qLayers = []struct {
	act, requant string
	acc          int
	to           ir.QFormat
	bias         bool
}{
	{"", "", 32, ir.QFormat{To: ir.I8, Scale: 0.0703125, ZP: -3}, true},
	{"relu", "", 64, ir.QFormat{To: ir.U8, Scale: 0.5, ZP: 20}, false},
	{"", "float", 32, ir.QFormat{To: ir.I8, Scale: 0.25, ZP: 7}, true},
	{"relu", "", 32, ir.QFormat{To: ir.F32}, true},
	{"", "", 64, ir.QFormat{To: ir.F32}, false},
	{"", "", 32, ir.QFormat{To: ir.I32}, true},
}

// qInputs fills a qlayer's inputs: activations over x's whole range,
// int8 weights, positive weight scales, a bias.
func qInputs(in []*ir.Tensor) {
	r := rng(9)
	lo := int64(-128)
	if in[0].DType == ir.U8 {
		lo = 0
	}
	for i := range in[0].I {
		in[0].I[i] = int64(r.IntN(256)) + lo
	}
	for i := range in[1].I {
		in[1].I[i] = int64(r.IntN(255)) - 127
	}
	for i := range in[2].F {
		in[2].F[i] = float32(i+1) * 0.0037841796875
	}
	if len(in) == 4 {
		for i := range in[3].I {
			in[3].I[i] = int64(r.IntN(20001)) - 10000
		}
	}
}

// qlayerCase evaluates one qlinear or qconv2d and binds its epilogue;
// y is a buffer for its output and got reads it as the reference holds
// it.
func qlayerCase(t *testing.T, op ir.Op, bias bool, n int, x, w ir.Type) (opCase, QEpi) {
	ins := []ir.Type{x, w, {DType: ir.F32, Shape: ir.Shape{w.Shape[0]}}}
	if bias {
		ins = append(ins, ir.Type{DType: ir.I32, Shape: ir.Shape{w.Shape[0]}})
	}
	c := evalOpWith(t, n, 1, op, qInputs, ins...)
	e, err := QEpiOf(c.node, c.in[2].F)
	require.NoError(t, err)
	return c, e
}

// checkQ runs a layer's kernel into float32 and int64 outputs and
// compares the one its output type uses with the reference.
func checkQ(t *testing.T, c opCase, what string, run func(yf []float32, yi []int64)) {
	t.Helper()
	yf, yi := make([]float32, c.out[0].Numel()), make([]int64, c.out[0].Numel())
	run(yf, yi)
	if c.out[0].F != nil {
		require.Equal(t, c.out[0].F, yf, what)
	} else {
		require.Equal(t, c.out[0].I, yi, what)
	}
}

// TestQLinear runs the int64 and the integer-GEMM quantized linear
// layers bit-exactly against the evaluator, for every epilogue.
func TestQLinear(t *testing.T) {
	const K, N = 37, 21
	for _, l := range qLayers {
		for _, xdt := range []ir.DType{ir.I8, ir.U8} {
			op := &ir.QLinear{Act: l.act, Acc: l.acc, Requant: l.requant, QFormat: l.to}
			zp := int64(-5)
			if xdt == ir.U8 {
				zp = 131
			}
			x, w := qType(xdt, 0.0234375, zp, ir.N, ir.D(K)), ir.Type{DType: ir.I8, Shape: ir.Shape{ir.D(N), ir.D(K)}}
			c, e := qlayerCase(t, op, l.bias, 7, x, w)
			what := fmt.Sprintf("%s from %s", ir.Describe(op), xdt)
			bias := []int64(nil)
			if l.bias {
				bias = c.in[3].I
			}
			s, err := QLinearOf(c.node, e)
			require.NoError(t, err)
			items := (N + s.JB - 1) / s.JB
			checkQ(t, c, what, func(yf []float32, yi []int64) {
				chunks(items, 2, func(lo, hi int) {
					QLinear(s, 7, lo, hi, yf, c.in[0].I, c.in[1].I, c.in[2].F, bias)
					QLinear(s, 7, lo, hi, yi, c.in[0].I, c.in[1].I, c.in[2].F, bias)
				})
			})

			const pw, rb = 32, 4
			g, err := QGemmOf(c.node, e, c.in[1].I, pw, rb)
			require.NoError(t, err)
			w8 := make([]int8, len(c.in[1].I))
			for i, v := range c.in[1].I {
				w8[i] = int8(v)
			}
			packed := quant.PackS8(w8, N, K, pw)
			scratch := make([]float32, 7*(g.G+N))
			for _, kernel := range []func(m int, a []uint8, lda int, b []int8, c []int32, ldc int){nil, func(m int, a []uint8, lda int, b []int8, c []int32, ldc int) {
				quant.GemmU8S8(m, N, K, a, lda, b, pw, c, ldc)
			}} {
				g.Gemm = QGemmKernel{F: kernel}
				checkQ(t, c, what+" on the integer GEMM", func(yf []float32, yi []int64) {
					chunks((7+rb-1)/rb, 2, func(lo, hi int) {
						QGemm(g, 7, lo, hi, yf, c.in[0].I, packed, c.in[2].F, bias, scratch)
						QGemm(g, 7, lo, hi, yi, c.in[0].I, packed, c.in[2].F, bias, scratch)
					})
				})
			}
		}
	}
}

// TestQConv runs the integer convolution (padding, stride, dilation,
// groups) bit-exactly against the evaluator, for every epilogue.
func TestQConv(t *testing.T) {
	for i, l := range qLayers {
		groups := 1 + i%2
		op := &ir.QConv2D{Stride: []int{2, 1}, Pad: []int{1, 0, 2, 1}, Dilation: []int{1, 2}, Groups: groups,
			Act: l.act, Acc: l.acc, Requant: l.requant, QFormat: l.to}
		x := qType(ir.I8, 0.5, 17, ir.N, ir.D(4), ir.D(5), ir.D(6))
		w := ir.Type{DType: ir.I8, Shape: ir.Shape{ir.D(6), ir.D(4 / groups), ir.D(3), ir.D(2)}}
		c, e := qlayerCase(t, op, l.bias, 2, x, w)
		s := QConvOf(c.node, e)
		bias := []int64(nil)
		if l.bias {
			bias = c.in[3].I
		}
		checkQ(t, c, ir.Describe(op), func(yf []float32, yi []int64) {
			chunks(2*s.O, 3, func(lo, hi int) {
				QConv(s, 2, lo, hi, yf, c.in[0].I, c.in[1].I, c.in[2].F, bias)
				QConv(s, 2, lo, hi, yi, c.in[0].I, c.in[1].I, c.in[2].F, bias)
			})
		})
	}
}
