package kernels

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/ir"
)

// prologues are the conv2d prologues the tests run: a BatchNorm's
// scale and shift alone, and followed by the activations pre-activation
// networks put between it and the convolution.
var prologues = []ir.Prologue{{Pre: true}, {Pre: true, PreAct: "relu"}, {Pre: true, PreAct: "relu6"}, {Pre: true, PreAct: "silu"}}

// evalPre evaluates a conv2d with prologue p (its scale and shift the
// last two inputs, sampled like the others: shifts that are not zero,
// so a padding that went through the prologue shows) on NHWC.
func evalPre(t *testing.T, op *ir.Conv2D, p ir.Prologue, seed uint64, ins ...ir.Type) opCase {
	t.Helper()
	op.Prologue = p
	C := ins[0].Shape[1]
	c := evalOp(t, 2, seed, op, append(ins, f32(C), f32(C))...)
	c.node.Inputs[0].Type.Layout, c.node.Outputs[0].Type.Layout = ir.NHWC, ir.NHWC
	return c
}

// TestConvNHWCPrologue checks ConvNHWC with a prologue against the
// reference evaluator (which pads the prologue's result with zeros):
// padded windows, where the padding must stay zero, a strided one, and
// a 1×1 without padding, which takes the band copy for the prologue;
// with the Go path and the targets' row kernels stood in.
func TestConvNHWCPrologue(t *testing.T) {
	for i, k := range convCases[:3] {
		for j, pro := range prologues {
			e := testEpis[(i+j)%len(testEpis)]
			bias := j%2 == 1
			C := 3
			op := &ir.Conv2D{Stride: []int{k.SH, k.SW}, Pad: k.Pad[:], Dilation: []int{1, 1}, Groups: 1, Epilogue: e}
			yt := f32(ir.N, ir.D(k.O), ir.D((7+k.Pad[0]+k.Pad[2]-k.KH)/k.SH+1), ir.D((6+k.Pad[1]+k.Pad[3]-k.KW)/k.SW+1))
			ins := append([]ir.Type{f32(ir.N, ir.D(C), ir.D(7), ir.D(6)), f32(ir.D(k.O), ir.D(C), ir.D(k.KH), ir.D(k.KW))},
				epiInputs(e, bias, ir.Shape{ir.D(k.O)}, yt)...)
			c := evalPre(t, op, pro, uint64(7*i+j), ins...)
			w := WindowOf(c.node)
			K := w.KH * w.KW * w.C
			p := gemm.VectorParams(w.O, K, 1)
			p.Bias = bias
			_, act, err := ActOf(e.Act)
			require.NoError(t, err)
			_, preAct, err := ActOf(pro.PreAct)
			require.NoError(t, err)
			b, res := epiArgs(c, e)
			if res != nil {
				res = nhwc(c.in[len(c.in)-3])
			}
			ps, pt := PackPre(w.W)(c.in[len(c.in)-2].F), PackPre(w.W)(c.in[len(c.in)-1].F)
			x, want := nhwc(c.in[0]), &ir.Tensor{F: nhwc(c.out[0])}
			s, err := NewConvNHWC(c.node, p, false, false)
			require.NoError(t, err)
			require.True(t, s.Pre && s.Padded, "a prologue takes the band copy")
			s.Act, s.PreAct, s.Gemm = act, preAct, gemmStandIn(p)
			items := s.Items.At(2)
			wp := PackConvNHWC(p, w.O, w.C, w.KH, w.KW)(c.in[1].F)
			var bp []float32
			if bias {
				bp = padTo(b, p.Panels()*p.Panel())
			}
			pad := garbage(items * s.RowsIn * s.Wp * w.C)
			col := garbage(items * w.OW * K)
			for _, vector := range []int{0, 1, 2} {
				s.Row = ConvRowKernel{}
				s.PreMul, s.PreAdd, s.PreRelu = ElementwiseKernel{}, ElementwiseKernel{}, ElementwiseKernel{}
				s.PreMul, s.PreAdd, s.PreRelu = ElementwiseKernel{}, ElementwiseKernel{}, ElementwiseKernel{}
				if vector > 0 {
					s.Row = rowStandIn(s, act, vector == 2)
					// The element-wise kernels leave a tail to Go.
					s.PreMul, s.PreAdd = ewStandIn("mul"), ewStandIn("add")
					if pro.PreAct == "relu" {
						s.PreRelu = ewStandIn("relu")
					}
				}
				y := outBuf(c.out[0])
				chunks(items, 3, func(lo, hi int) { ConvNHWC(s, 2, lo, hi, y, x, wp, bp, res, ps, pt, nil, nil, pad, col) })
				matches(t, guarded(t, y, len(want.F)), want, ir.Describe(c.node.Op))
			}
		}
	}
}

// TestDepthwisePrologue is TestConvNHWCPrologue for the depthwise
// template: padded, strided and dilated windows, and none.
func TestDepthwisePrologue(t *testing.T) {
	cases := []convCase{
		{KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, Pad: [4]int{1, 1, 1, 1}},
		{KH: 3, KW: 2, SH: 1, SW: 2, DH: 2, DW: 1, Pad: [4]int{2, 0, 1, 1}},
		{KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1},
	}
	const C = 5
	for i, k := range cases {
		for j, pro := range prologues {
			e := []ir.Epilogue{{Act: "relu6"}, {Act: "hardswish", Residual: true}, {}}[(i+j)%3]
			bias := (i+j)%2 == 0
			op := &ir.Conv2D{Stride: []int{k.SH, k.SW}, Pad: k.Pad[:], Dilation: []int{k.DH, k.DW}, Groups: C, Epilogue: e}
			yt := f32(ir.N, ir.D(C), ir.D((7+k.Pad[0]+k.Pad[2]-k.DH*(k.KH-1)-1)/k.SH+1), ir.D((6+k.Pad[1]+k.Pad[3]-k.DW*(k.KW-1)-1)/k.SW+1))
			ins := append([]ir.Type{f32(ir.N, ir.D(C), ir.D(7), ir.D(6)), f32(ir.D(C), ir.D(1), ir.D(k.KH), ir.D(k.KW))},
				epiInputs(e, bias, ir.Shape{ir.D(C)}, yt)...)
			c := evalPre(t, op, pro, uint64(10*i+j), ins...)
			s, err := NewDepthwise(c.node)
			require.NoError(t, err)
			require.True(t, s.Pre && s.Padded, "a prologue takes the band copy")
			_, act, err := ActOf(e.Act)
			require.NoError(t, err)
			_, preAct, err := ActOf(pro.PreAct)
			require.NoError(t, err)
			s.Act, s.PreAct = act, preAct
			w := WindowOf(c.node)
			b, res := epiArgs(c, e)
			if res != nil {
				res = nhwc(c.in[len(c.in)-3])
			}
			ps, pt := PackPre(w.W)(c.in[len(c.in)-2].F), PackPre(w.W)(c.in[len(c.in)-1].F)
			x, want := nhwc(c.in[0]), &ir.Tensor{F: nhwc(c.out[0])}
			wp := PackDepthwise(w.C, w.KH, w.KW)(c.in[1].F)
			items := s.Items.At(2)
			pad := garbage(items * s.RowsIn * s.Wp * w.C)
			for _, vector := range []int{0, 1, 2} {
				s.Row = DepthwiseKernel{}
				s.PreMul, s.PreAdd, s.PreRelu = ElementwiseKernel{}, ElementwiseKernel{}, ElementwiseKernel{}
				s.PreMul, s.PreAdd, s.PreRelu = ElementwiseKernel{}, ElementwiseKernel{}, ElementwiseKernel{}
				if vector > 0 {
					s.Row = depthwiseStandIn(s, act, vector == 2)
					// The element-wise kernels leave a tail to Go.
					s.PreMul, s.PreAdd = ewStandIn("mul"), ewStandIn("add")
					if pro.PreAct == "relu" {
						s.PreRelu = ewStandIn("relu")
					}
				}
				y := outBuf(c.out[0])
				chunks(items, 3, func(lo, hi int) { Depthwise(s, 2, lo, hi, y, x, wp, b, res, ps, pt, pad) })
				matches(t, guarded(t, y, len(want.F)), want, ir.Describe(c.node.Op))
			}
		}
	}
}
