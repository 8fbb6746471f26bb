package kernels

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/ir"
)

// kronCase is a Kronecker-factored layer for the tests: R terms of
// A [m1×n1] ⊗ F [m2×n2(×kh×kw)], and its epilogue.
type kronCase struct {
	r, m1, n1, m2, n2   int
	scaled, bias, resid bool
	act                 string
}

var kronCases = []kronCase{
	{r: 2, m1: 2, n1: 2, m2: 5, n2: 3},
	{r: 3, m1: 2, n1: 3, m2: 7, n2: 4, bias: true, act: "relu"},
	{r: 4, m1: 4, n1: 4, m2: 9, n2: 6, scaled: true, bias: true, resid: true, act: "gelu"},
	{r: 5, m1: 3, n1: 2, m2: 3, n2: 40, resid: true},
	{r: 1, m1: 1, n1: 3, m2: 33, n2: 5, scaled: true, act: "silu"},
}

// kronInputs returns the types of a factored node's inputs after x, a
// and s: scale, bias and residual, as the case has them.
func kronInputs(k kronCase, ch int, out ir.Type) []ir.Type {
	var ts []ir.Type
	if k.scaled {
		ts = append(ts, f32(ir.D(ch)))
	}
	if k.bias {
		ts = append(ts, f32(ir.D(ch)))
	}
	if k.resid {
		ts = append(ts, out)
	}
	return ts
}

// kronArgs returns the scale, bias and residual of case c (nil when
// absent).
func kronArgs(c opCase) (scale, bias, resid []float32) {
	vs := map[*ir.Value]*ir.Tensor{}
	for i, v := range c.node.Inputs {
		vs[v] = c.in[i]
	}
	get := func(v *ir.Value) []float32 {
		if v == nil {
			return nil
		}
		return vs[v].F
	}
	sv, bv, rv := ir.KronInputs(c.node)
	return get(sv), get(bv), get(rv)
}

func TestPHMLinear(t *testing.T) {
	r := rng(11)
	for i, k := range kronCases {
		for _, lead := range [][]int{{}, {3}} {
			n := 1 + r.IntN(9)
			out := f32(append(batchShape(lead...), ir.D(k.m1*k.m2))...)
			ins := append([]ir.Type{f32(append(batchShape(lead...), ir.D(k.n1*k.n2))...),
				f32(ir.D(k.r), ir.D(k.m1), ir.D(k.n1)), f32(ir.D(k.r), ir.D(k.m2), ir.D(k.n2))},
				kronInputs(k, k.m1*k.m2, out)...)
			op := &ir.PHMLinear{Scaled: k.scaled, Epilogue: ir.Epilogue{Act: k.act, Residual: k.resid}}
			c := evalOp(t, n, uint64(i), op, ins...)
			p := gemm.VectorParams(k.r*k.m2, k.n2, 1)
			s := NewPHMLinear(c.node, p)
			require.Zero(t, s.CP*s.PW%k.r, "a chunk holds whole o")
			s.RB = 1 + r.IntN(3) // small blocks, so rows split
			_, act, err := ActOf(k.act)
			require.NoError(t, err)
			s.Act, s.Gemm = act, gemmStandIn(p)
			kr, _ := ir.KronOf(c.node)
			a, f := PackPHMA(kr)(c.in[1].F), PackPHMF(p, kr)(c.in[2].F)
			scale, bias, resid := kronArgs(c)
			rows := s.Rows.At(n)
			items := (rows + s.RB - 1) / s.RB * s.NC
			for _, vector := range []bool{false, true} {
				s.Vector = LinearKernel{}
				if vector {
					s.Vector = linearStandIn(LinearShape{K: k.n2, N: s.ZN, PW: s.PW}, NoAct, false)
				}
				y := outBuf(c.out[0])
				z := garbage(rows * s.Q * s.ZN)
				chunks(items, 1+r.IntN(3), func(lo, hi int) {
					PHMLinear(s, n, lo, hi, y, c.in[0].F, a, f, scale, bias, resid, z, nil, nil)
				})
				matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
			}
			// Factors fed at run time: packed by the kernel, as at build
			// time, which then runs every item.
			rs := s
			rs.RuntimeW = true
			abuf, fbuf := garbage(len(a)), garbage(len(f))
			y := outBuf(c.out[0])
			PHMLinear(rs, n, 0, items, y, c.in[0].F, c.in[1].F, c.in[2].F, scale, bias, resid, garbage(rows*s.Q*s.ZN), abuf, fbuf)
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op)+", factors fed at run time")
			require.Equal(t, a, abuf)
			require.Equal(t, f, fbuf)
		}
	}
}

// TestPHMLinearDense checks the dense form codegen runs a phm_linear as:
// kernels.Linear on W = Σ A_r ⊗ F_r, which never reads the factors A.
func TestPHMLinearDense(t *testing.T) {
	for i, k := range kronCases {
		if k.scaled {
			continue // the dense form needs no scale
		}
		n := 3
		out := f32(ir.N, ir.D(k.m1*k.m2))
		ins := append([]ir.Type{f32(ir.N, ir.D(k.n1*k.n2)), f32(ir.D(k.r), ir.D(k.m1), ir.D(k.n1)), f32(ir.D(k.r), ir.D(k.m2), ir.D(k.n2))},
			kronInputs(k, k.m1*k.m2, out)...)
		c := evalOp(t, n, uint64(i), &ir.PHMLinear{Exec: ir.ExecDense, Epilogue: ir.Epilogue{Act: k.act, Residual: k.resid}}, ins...)
		p := gemm.VectorParams(k.m1*k.m2, k.n1*k.n2, 1)
		p.Bias = k.bias
		s := NewLinear(c.node, p)
		require.Equal(t, k.bias, s.Bias)
		require.Equal(t, k.resid, s.Resid)
		_, act, err := ActOf(k.act)
		require.NoError(t, err)
		s.Act, s.Gemm = act, gemmStandIn(p)
		w64 := ir.KronSum(c.in[1], c.in[2])
		w := make([]float32, len(w64))
		for j, v := range w64 {
			w[j] = float32(v)
		}
		_, bias, resid := kronArgs(c)
		if bias != nil {
			bias = padTo(bias, s.NP*s.PW)
		}
		y := outBuf(c.out[0])
		items := (s.Rows.At(n) + s.RB - 1) / s.RB * s.NP
		chunks(items, 2, func(lo, hi int) { Linear(s, n, lo, hi, y, c.in[0].F, nil, gemm.Pack(p, w), bias, resid, nil) })
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
	}
}

func TestPHCConv2D(t *testing.T) {
	for i, k := range kronCases[:4] {
		for j, cv := range convCases[:4] {
			op := &ir.PHCConv2D{Stride: []int{cv.SH, cv.SW}, Pad: cv.Pad[:], Dilation: []int{cv.DH, cv.DW}, Scaled: k.scaled,
				Epilogue: ir.Epilogue{Act: k.act, Residual: k.resid}}
			// Channel blocks of 2 (C' = 2): n1 of them in, m1 of O' = n2 out.
			cb, ob := 2, k.n2%5+1
			oh := (7+cv.Pad[0]+cv.Pad[2]-cv.DH*(cv.KH-1)-1)/cv.SH + 1
			ow := (6+cv.Pad[1]+cv.Pad[3]-cv.DW*(cv.KW-1)-1)/cv.SW + 1
			out := f32(ir.N, ir.D(k.m1*ob), ir.D(oh), ir.D(ow))
			ins := append([]ir.Type{f32(ir.N, ir.D(k.n1*cb), ir.D(7), ir.D(6)), f32(ir.D(k.r), ir.D(k.m1), ir.D(k.n1)),
				f32(ir.D(k.r), ir.D(ob), ir.D(cb), ir.D(cv.KH), ir.D(cv.KW))}, kronInputs(k, k.m1*ob, out)...)
			n := 2
			c := evalOp(t, n, uint64(10*i+j), op, ins...)
			s := NewPHCConv2D(c.node)
			_, act, err := ActOf(k.act)
			require.NoError(t, err)
			s.Act = act
			scale, bias, resid := kronArgs(c)
			y := outBuf(c.out[0])
			mix := garbage(s.Items.At(n) * s.CB * s.H * s.W)
			chunks(s.Items.At(n), 3, func(lo, hi int) {
				PHCConv2D(s, n, lo, hi, y, c.in[0].F, c.in[1].F, c.in[2].F, scale, bias, resid, mix)
			})
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
		}
	}
}
