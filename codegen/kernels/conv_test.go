package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/ir"
)

// convCase is a convolution for the tests: the input [N, C, 7, 6].
type convCase struct {
	O, KH, KW, SH, SW, DH, DW, Groups int
	Pad                               [4]int
}

var convCases = []convCase{
	{O: 4, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1, Pad: [4]int{1, 1, 1, 1}},
	{O: 5, KH: 3, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, Groups: 1, Pad: [4]int{0, 1, 2, 0}},
	{O: 3, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1},
	{O: 6, KH: 2, KW: 3, SH: 1, SW: 2, DH: 2, DW: 1, Groups: 1, Pad: [4]int{1, 0, 1, 1}},
	{O: 6, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 3, Pad: [4]int{1, 1, 1, 1}},
}

// evalConv evaluates conv case k with epilogue e and, for NHWC, lays the
// node's activations out as layout-assign does.
func evalConv(t *testing.T, k convCase, e ir.Epilogue, bias bool, seed uint64, nhwcLayout bool) opCase {
	t.Helper()
	C := 3 * k.Groups
	op := &ir.Conv2D{Stride: []int{k.SH, k.SW}, Pad: k.Pad[:], Dilation: []int{k.DH, k.DW}, Groups: k.Groups, Epilogue: e}
	ins := []ir.Type{f32(ir.N, ir.D(C), ir.D(7), ir.D(6)), f32(ir.D(k.O), ir.D(C/k.Groups), ir.D(k.KH), ir.D(k.KW))}
	yt := f32(ir.N, ir.D(k.O), ir.D((7+k.Pad[0]+k.Pad[2]-k.DH*(k.KH-1)-1)/k.SH+1), ir.D((6+k.Pad[1]+k.Pad[3]-k.DW*(k.KW-1)-1)/k.SW+1))
	ins = append(ins, epiInputs(e, bias, ir.Shape{ir.D(k.O)}, yt)...)
	c := evalOp(t, 2, seed, op, ins...)
	if nhwcLayout {
		c.node.Inputs[0].Type.Layout, c.node.Outputs[0].Type.Layout = ir.NHWC, ir.NHWC
	}
	return c
}

func TestConvDirect(t *testing.T) {
	for i, k := range convCases {
		e := testEpis[i%len(testEpis)]
		c := evalConv(t, k, e, i%2 == 0, uint64(i), false)
		s := ConvDirectOf(c.node)
		_, act, err := ActOf(e.Act)
		require.NoError(t, err)
		s.Act = act
		b, res := epiArgs(c, e)
		y := outBuf(c.out[0])
		chunks(s.Items.At(2), 3, func(lo, hi int) { ConvDirect(s, 2, lo, hi, y, c.in[0].F, c.in[1].F, b, res) })
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
	}
}

// garbage returns a scratch buffer of n NaNs, as an arena reused
// between steps may hand a kernel: what it reads, it must write first.
func garbage(n int) []float32 {
	b := make([]float32, n)
	for i := range b {
		b[i] = float32(math.NaN())
	}
	return b
}

// epiArgs returns a case's bias and residual inputs (nil when absent).
func epiArgs(c opCase, e ir.Epilogue) (bias, resid []float32) {
	next := 2
	if e.HasBias(len(c.in) - ir.PrologueInputs(c.node.Op)) {
		bias, next = c.in[2].F, 3
	}
	if e.Residual {
		resid = c.in[next].F
	}
	return bias, resid
}

func TestConvGemm(t *testing.T) {
	for i, k := range convCases[:4] {
		for _, e := range testEpis {
			for _, bias := range []bool{true, false} {
				c := evalConv(t, k, e, bias, uint64(i), false)
				w := WindowOf(c.node)
				K, P := w.C*w.KH*w.KW, w.OH*w.OW
				p := gemm.VectorParams(P, K, w.O)
				s := NewConvGemm(c.node, p)
				_, act, err := ActOf(e.Act)
				require.NoError(t, err)
				s.Act, s.Gemm = act, gemmStandIn(gemm.Params{N: p.N, K: p.K, MR: p.MR, NR: p.NR, PW: p.PW})
				neg := make([]float32, len(c.in[1].F))
				for j, v := range c.in[1].F {
					neg[j] = -v
				}
				b, res := epiArgs(c, e)
				items := s.Items.At(2)
				for _, vector := range []int{0, 1, 2} {
					s.Block = ConvBlockKernel{}
					if vector > 0 {
						// With a bias the kernels are asked for no epilogue.
						s.Block = blockStandIn(K, s.PW, act, vector == 2 || bias)
					}
					col := garbage(items * K * s.PW)
					y := outBuf(c.out[0])
					chunks(items, 2, func(lo, hi int) { ConvGemm(s, 2, lo, hi, y, c.in[0].F, neg, b, res, col, nil) })
					matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
				}
				// Weights fed at run time: negated by the kernel, which
				// then runs every item.
				rs := s
				rs.RuntimeW = true
				wbuf := garbage(len(neg))
				y := outBuf(c.out[0])
				ConvGemm(rs, 2, 0, items, y, c.in[0].F, c.in[1].F, b, res, garbage(items*K*s.PW), wbuf)
				matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op)+", weights fed at run time")
				require.Equal(t, neg, wbuf)
			}
		}
	}
}

func TestConvNHWC(t *testing.T) {
	for i, k := range convCases[:3] {
		for j, e := range testEpis {
			bias := j%2 == 0
			c := evalConv(t, k, e, bias, uint64(i), true)
			w := WindowOf(c.node)
			K := w.KH * w.KW * w.C
			p := gemm.VectorParams(w.O, K, 1)
			p.Bias = bias
			_, act, err := ActOf(e.Act)
			require.NoError(t, err)
			b, res := epiArgs(c, e)
			if res != nil {
				res = nhwc(c.in[len(c.in)-1])
			}
			x, want := nhwc(c.in[0]), &ir.Tensor{F: nhwc(c.out[0])}
			for _, runtime := range []bool{false, true} {
				s, err := NewConvNHWC(c.node, p, runtime, runtime && bias)
				require.NoError(t, err)
				s.Act, s.Gemm = act, gemmStandIn(p)
				items := s.Items.At(2)
				wp, bp := PackConvNHWC(p, w.O, w.C, w.KH, w.KW)(c.in[1].F), []float32(nil)
				var wbuf, bbuf []float32
				if bias {
					bp = padTo(b, p.Panels()*p.Panel())
				}
				if runtime {
					wp, wbuf = c.in[1].F, garbage(p.PackedLen())
					if bias {
						bp, bbuf = b, garbage(p.Panels()*p.Panel())
					}
				}
				pad := garbage(items * s.RowsIn * s.Wp * w.C)
				col := garbage(items * w.OW * K)
				for _, vector := range []int{0, 1, 2} {
					s.Row = ConvRowKernel{}
					if vector > 0 {
						s.Row = rowStandIn(s, act, vector == 2)
					}
					y := outBuf(c.out[0])
					if runtime {
						ConvNHWC(s, 2, 0, items, y, x, wp, bp, res, nil, nil, wbuf, bbuf, pad, col)
					} else {
						chunks(items, 3, func(lo, hi int) { ConvNHWC(s, 2, lo, hi, y, x, wp, bp, res, nil, nil, wbuf, bbuf, pad, col) })
					}
					matches(t, guarded(t, y, len(want.F)), want, ir.Describe(c.node.Op))
				}
			}
		}
	}
}

func TestGroupConv(t *testing.T) {
	// Groups of 3 input channels (evalConv's C = 3·Groups), dilation,
	// strides, padding on either side, and blocks of 1 or 2 groups.
	cases := []convCase{
		{O: 8, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 2, Pad: [4]int{1, 1, 1, 1}},
		{O: 12, KH: 3, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, Groups: 4, Pad: [4]int{0, 1, 2, 0}},
		{O: 6, KH: 2, KW: 3, SH: 1, SW: 2, DH: 2, DW: 2, Groups: 2, Pad: [4]int{1, 0, 1, 1}},
		{O: 3, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 3},
		{O: 9, KH: 3, KW: 3, SH: 2, SW: 1, DH: 1, DW: 1, Groups: 3},
	}
	for i, k := range cases {
		for j, e := range testEpis {
			for _, bias := range []bool{true, false} {
				c := evalConv(t, k, e, bias, uint64(i*10+j), true)
				w := WindowOf(c.node)
				CG := w.C / k.Groups
				_, act, err := ActOf(e.Act)
				require.NoError(t, err)
				b, res := epiArgs(c, e)
				if res != nil {
					res = nhwc(c.in[len(c.in)-1])
				}
				x, want := nhwc(c.in[0]), &ir.Tensor{F: nhwc(c.out[0])}
				for _, per := range []int{1, 2} {
					if k.Groups%per != 0 {
						continue
					}
					for _, fold := range []bool{false, true} {
						if fold && !bias {
							continue
						}
						OB, KB := w.O/k.Groups*per, w.KH*w.KW*CG*per
						if fold {
							KB++
						}
						p := gemm.VectorParams(OB, KB, 1)
						s, err := NewGroupConv(c.node, per, p, fold)
						require.NoError(t, err)
						s.Act, s.Gemm = act, gemmStandIn(p)
						var fb []float32
						if fold {
							fb = b
						}
						wp := PackGroupConv(p, k.Groups, per, CG, w.KH, w.KW, fb)(c.in[1].F)
						items := s.Items.At(2)
						pad := garbage(items * s.RowsIn * s.Wp * w.C)
						col := garbage(items * s.Per * w.OW * s.KB)
						tmp := garbage(items * s.Per * w.OW * s.OB)
						for _, vector := range []int{0, 1, 2} {
							s.Block = ConvBlockKernel{}
							if vector > 0 {
								// An unfolded bias: the kernels are asked for no epilogue.
								s.Block = blockStandIn(s.KB, p.Panel(), act, vector == 2 || s.Bias)
							}
							y := outBuf(c.out[0])
							chunks(items, 3, func(lo, hi int) { GroupConv(s, 2, lo, hi, y, x, wp, b, res, pad, col, tmp) })
							matches(t, guarded(t, y, len(want.F)), want, fmt.Sprintf("%s, %d per block, fold %v, vector %d", ir.Describe(c.node.Op), per, fold, vector))
						}
					}
				}
			}
		}
	}
}

// TestGroupConvWide: regnet_y_400mf's shapes (groups of 8 channels,
// 3×3, stride 1 and 2), bias and ReLU, blocks of two groups and one.
func TestGroupConvWide(t *testing.T) {
	for i, k := range []struct{ C, H, G, S int }{{48, 12, 6, 2}, {48, 12, 6, 1}, {104, 8, 13, 1}, {32, 9, 4, 2}} {
		op := &ir.Conv2D{Stride: []int{k.S, k.S}, Pad: []int{1, 1, 1, 1}, Dilation: []int{1, 1}, Groups: k.G, Epilogue: ir.Epilogue{Act: "relu"}}
		oh := (k.H+2-3)/k.S + 1
		c := evalOp(t, 2, uint64(i), op, f32(ir.N, ir.D(k.C), ir.D(k.H), ir.D(k.H)), f32(ir.D(k.C), ir.D(k.C/k.G), ir.D(3), ir.D(3)),
			f32(ir.D(k.C)))
		_ = oh
		c.node.Inputs[0].Type.Layout, c.node.Outputs[0].Type.Layout = ir.NHWC, ir.NHWC
		w := WindowOf(c.node)
		CG := w.C / k.G
		_, act, err := ActOf("relu")
		require.NoError(t, err)
		x, want := nhwc(c.in[0]), &ir.Tensor{F: nhwc(c.out[0])}
		for _, fold := range []bool{false, true} {
			per := GroupBlocks(k.G, w.O/k.G)
			OB, KB := w.O/k.G*per, w.KH*w.KW*CG*per
			if fold {
				KB++
			}
			p := gemm.VectorParams(OB, KB, 1)
			s, err := NewGroupConv(c.node, per, p, fold)
			require.NoError(t, err)
			s.Act, s.Gemm = act, gemmStandIn(p)
			var fb []float32
			if fold {
				fb = c.in[2].F
			}
			wp := PackGroupConv(p, k.G, per, CG, w.KH, w.KW, fb)(c.in[1].F)
			items := s.Items.At(2)
			pad := garbage(items * s.RowsIn * s.Wp * w.C)
			col := garbage(items * s.Per * w.OW * s.KB)
			tmp := garbage(items * s.Per * w.OW * s.OB)
			y := outBuf(c.out[0])
			chunks(items, 3, func(lo, hi int) { GroupConv(s, 2, lo, hi, y, x, wp, c.in[2].F, nil, pad, col, tmp) })
			matches(t, guarded(t, y, len(want.F)), want, fmt.Sprintf("%+v fold %v", k, fold))
		}
	}
}
