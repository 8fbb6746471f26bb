package kernels

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/ir"
)

// Stand-ins for the tests, written from the contracts: gemm.Emit's
// kernel and the targets' Linear, ConvBlock, ConvRow and Attention
// kernels (codegen/isa's family docs). A stand-in for a target's kernel
// that lacks the epilogue (noEpi) applies only the bias.

// gemmStandIn is gemm.Emit(p)'s kernel: column blocks [lo, hi) (NR
// columns each) of y[m×N] = x[m×K]·Wᵀ (+ bias), wp = gemm.Pack(p, W)
// (negated panels).
func gemmStandIn(p gemm.Params) func(m, lo, hi int, y, x, wp, bias []float32) {
	pw := p.Panel()
	return func(m, lo, hi int, y, x, wp, bias []float32) {
		for jb := lo; jb < hi; jb++ {
			for j := jb * p.NR; j < min((jb+1)*p.NR, p.N); j++ {
				for i := range m {
					var acc float32
					for k := range p.K {
						acc -= x[i*p.K+k] * wp[(j/pw*p.K+k)*pw+j%pw]
					}
					if p.Bias {
						acc += bias[j]
					}
					y[i*p.N+j] = acc
				}
			}
		}
	}
}

// epi applies a stand-in kernel's epilogue to acc.
func epi(acc float32, resid []float32, i int, act func(float32) float32) float32 {
	if resid != nil {
		acc += resid[i]
	}
	return act(acc)
}

func linearStandIn(s LinearShape, act func(float32) float32, noEpi bool) LinearKernel {
	if noEpi {
		act = NoAct
	}
	return LinearKernel{NoEpi: noEpi, F: func(m, lo, hi int, y, x, wp, bias, resid []float32) {
		for q := lo; q < hi; q++ {
			for j := q * s.PW; j < min((q+1)*s.PW, s.N); j++ {
				for i := range m {
					var acc float32
					for k := range s.K {
						acc -= x[i*s.K+k] * wp[(q*s.K+k)*s.PW+j-q*s.PW]
					}
					if s.Bias {
						acc += bias[j]
					}
					y[i*s.N+j] = epi(acc, resid, i*s.N+j, act)
				}
			}
		}
	}}
}

func blockStandIn(K, PW int, act func(float32) float32, noEpi bool) ConvBlockKernel {
	if noEpi {
		act = NoAct
	}
	return ConvBlockKernel{NoEpi: noEpi, F: func(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32) {
		for i := range m {
			for j := range ncols {
				var acc float32
				for k := range K {
					acc -= x[i*lda+k] * wp[(j/PW*K+k)*PW+j%PW]
				}
				y[i*ldc+j] = epi(acc, resid, i*ldc+j, act)
			}
		}
	}}
}

func rowStandIn(s ConvNHWCShape, act func(float32) float32, noEpi bool) ConvRowKernel {
	if noEpi {
		act = NoAct
	}
	return ConvRowKernel{NoEpi: noEpi, F: func(x, wp, bias, y, resid []float32) {
		for ow := range s.OW {
			for o := range s.O {
				var acc float32
				for kh := range s.KH {
					for kw := range s.KW {
						for c := range s.C {
							k := (kh*s.KW+kw)*s.C + c
							acc -= x[(kh*s.Wp+ow*s.SW+kw)*s.C+c] * wp[(o/s.PW*s.K+k)*s.PW+o%s.PW]
						}
					}
				}
				if s.Bias {
					acc += bias[o]
				}
				y[ow*s.O+o] = epi(acc, resid, ow*s.O+o, act)
			}
		}
	}}
}

// linearOp returns a linear or conv2d op's epilogue's inputs after x
// and w: the bias, the residual.
func epiInputs(e ir.Epilogue, bias bool, bshape ir.Shape, out ir.Type) []ir.Type {
	var ts []ir.Type
	if bias {
		ts = append(ts, f32(bshape...))
	}
	if e.Residual {
		ts = append(ts, out)
	}
	return ts
}

// pad returns b padded with zeros to n floats, as codegen packs biases.
func padTo(b []float32, n int) []float32 {
	return append(append(make([]float32, 0, n), b...), make([]float32, n-len(b))...)
}

var testEpis = []ir.Epilogue{{}, {Act: "relu"}, {Act: "gelu", Residual: true}, {Act: "gelu_tanh"}, {Residual: true}}

func TestLinear(t *testing.T) {
	r := rng(5)
	for i, e := range testEpis {
		for _, bias := range []bool{true, false} {
			N, K := 1+r.IntN(100), 1+r.IntN(70)
			n := 1 + r.IntN(40)
			out := f32(ir.N, ir.D(3), ir.D(N))
			ins := append([]ir.Type{f32(ir.N, ir.D(3), ir.D(K)), f32(ir.D(N), ir.D(K))}, epiInputs(e, bias, ir.Shape{ir.D(N)}, out)...)
			c := evalOp(t, n, uint64(i), &ir.Linear{Epilogue: e}, ins...)
			p := gemm.VectorParams(N, K, 1)
			p.Bias = bias
			s := NewLinear(c.node, p)
			s.RB = 6 + 6*r.IntN(3) // small blocks, so rows split
			_, act, err := ActOf(e.Act)
			require.NoError(t, err)
			s.Act, s.Gemm = act, gemmStandIn(p)
			wp := gemm.Pack(p, c.in[1].F)
			var b, res []float32
			next := 2
			if bias {
				b, next = padTo(c.in[2].F, s.NP*s.PW), 3
			}
			if e.Residual {
				res = c.in[next].F
			}
			rows := s.Rows.At(n)
			items := (rows + s.RB - 1) / s.RB * s.NP
			for _, vector := range []int{0, 1, 2} { // none, whole epilogue, bias only
				s.Vector = LinearKernel{}
				if vector > 0 {
					s.Vector = linearStandIn(s, act, vector == 2)
				}
				y := outBuf(c.out[0])
				chunks(items, 1+r.IntN(3), func(lo, hi int) { Linear(s, n, lo, hi, y, c.in[0].F, nil, wp, b, res, nil) })
				matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
			}
			// Weights fed at run time: the kernel packs them, then runs
			// every item (serially), into a wbuf holding stale values.
			rs := s
			rs.RuntimeW, rs.Vector = true, linearStandIn(s, act, false)
			wbuf := make([]float32, p.PackedLen())
			for j := range wbuf {
				wbuf[j] = 99
			}
			y := outBuf(c.out[0])
			Linear(rs, n, 0, items, y, c.in[0].F, nil, c.in[1].F, b, res, wbuf)
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op)+", weights fed at run time")
			require.Equal(t, wp, wbuf, "packed at run time as at build time")
		}
	}
}

func TestAttention(t *testing.T) {
	for i, a := range []*ir.Attention{{Heads: 2, Scale: 0.25}, {Heads: 1, Scale: 0.5, Causal: true}, {Heads: 3, Scale: 0.125, Causal: true}} {
		n := 2
		d, dv := 4*a.Heads, 2*a.Heads
		c := evalOp(t, n, uint64(i), a, f32(ir.N, ir.D(5), ir.D(d)), f32(ir.N, ir.D(7), ir.D(d)), f32(ir.N, ir.D(7), ir.D(dv)))
		if a.Causal {
			// T < S: the causal mask cuts at t.
			c = evalOp(t, n, uint64(i), a, f32(ir.N, ir.D(6), ir.D(d)), f32(ir.N, ir.D(6), ir.D(d)), f32(ir.N, ir.D(6), ir.D(dv)))
		}
		s := AttentionOf(c.node)
		y := outBuf(c.out[0])
		chunks(s.Items.At(n), 2, func(lo, hi int) { Attention(s, n, lo, hi, y, c.in[0].F, c.in[1].F, c.in[2].F, nil) })
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(a))
		// A target's kernel, when there is one, does the whole item.
		calls := 0
		s.Vector = AttentionKernel{F: func(lo, hi int, o, q, k, v, scratch []float32) {
			calls++
			require.Len(t, scratch, 3)
			Attention(AttentionOf(c.node), n, lo, hi, o, q, k, v, nil)
		}}
		y = outBuf(c.out[0])
		chunks(s.Items.At(n), 3, func(lo, hi int) { Attention(s, n, lo, hi, y, c.in[0].F, c.in[1].F, c.in[2].F, make([]float32, 3)) })
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(a))
		require.Equal(t, (s.Items.At(n)+2)/3, calls)
	}
}
