package kernels

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// TestDepthwise checks the depthwise template against the reference
// evaluator on NHWC activations: windows 3×3, 5×5 and 3×2, strides 1
// and 2, dilation, asymmetric and no padding, each epilogue activation
// of real CNNs (and a residual), with the Go loop and with a target's
// kernel stood in from the family's contract (with its epilogue, and
// without: the Go epilogue then follows).
func TestDepthwise(t *testing.T) {
	cases := []convCase{
		{KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, Pad: [4]int{1, 1, 1, 1}},
		{KH: 5, KW: 5, SH: 2, SW: 2, DH: 1, DW: 1, Pad: [4]int{2, 2, 2, 2}},
		{KH: 3, KW: 2, SH: 1, SW: 2, DH: 2, DW: 1, Pad: [4]int{2, 0, 1, 1}},
		{KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1},
	}
	epis := []ir.Epilogue{{Act: "relu6"}, {Act: "hardswish", Residual: true}, {Act: "silu"}, {Act: "sigmoid"}, {Act: "hardsigmoid", Residual: true}, {}, {Act: "gelu"}}
	const C = 5
	for i, k := range cases {
		for j, e := range epis {
			bias := (i+j)%2 == 0
			op := &ir.Conv2D{Stride: []int{k.SH, k.SW}, Pad: k.Pad[:], Dilation: []int{k.DH, k.DW}, Groups: C, Epilogue: e}
			yt := f32(ir.N, ir.D(C), ir.D((7+k.Pad[0]+k.Pad[2]-k.DH*(k.KH-1)-1)/k.SH+1), ir.D((6+k.Pad[1]+k.Pad[3]-k.DW*(k.KW-1)-1)/k.SW+1))
			ins := append([]ir.Type{f32(ir.N, ir.D(C), ir.D(7), ir.D(6)), f32(ir.D(C), ir.D(1), ir.D(k.KH), ir.D(k.KW))},
				epiInputs(e, bias, ir.Shape{ir.D(C)}, yt)...)
			c := evalOp(t, 2, uint64(10*i+j), op, ins...)
			c.node.Inputs[0].Type.Layout, c.node.Outputs[0].Type.Layout = ir.NHWC, ir.NHWC
			s, err := NewDepthwise(c.node)
			require.NoError(t, err)
			_, act, err := ActOf(e.Act)
			require.NoError(t, err)
			s.Act = act
			w := WindowOf(c.node)
			b, res := epiArgs(c, e)
			if res != nil {
				res = nhwc(c.in[len(c.in)-1])
			}
			x, want := nhwc(c.in[0]), &ir.Tensor{F: nhwc(c.out[0])}
			wp := PackDepthwise(w.C, w.KH, w.KW)(c.in[1].F)
			items := s.Items.At(2)
			pad := garbage(items * s.RowsIn * s.Wp * w.C)
			for _, vector := range []int{0, 1, 2} {
				s.Row = DepthwiseKernel{}
				if vector > 0 {
					s.Row = depthwiseStandIn(s, act, vector == 2)
				}
				y := outBuf(c.out[0])
				chunks(items, 3, func(lo, hi int) { Depthwise(s, 2, lo, hi, y, x, wp, b, res, nil, nil, pad) })
				matches(t, guarded(t, y, len(want.F)), want, ir.Describe(c.node.Op))
			}
		}
	}
}

// depthwiseStandIn is a target's Depthwise kernel for s written from
// the family's contract (isa.Depthwise): with noEpi it adds the bias
// only, and the template applies the residual and activation.
func depthwiseStandIn(s DepthwiseShape, act func(float32) float32, noEpi bool) DepthwiseKernel {
	return DepthwiseKernel{NoEpi: noEpi, F: func(x, w, bias, y, resid []float32) {
		for ow := range s.OW {
			for c := range s.C {
				var acc float32
				for kh := range s.KH {
					for kw := range s.KW {
						acc += x[(kh*s.DH*s.Wp+ow*s.SW+kw*s.DW)*s.C+c] * w[(kh*s.KW+kw)*s.C+c]
					}
				}
				if bias != nil {
					acc += bias[c]
				}
				if !noEpi {
					if resid != nil {
						acc += resid[ow*s.C+c]
					}
					acc = act(acc)
				}
				y[ow*s.C+c] = acc
			}
		}
	}}
}
