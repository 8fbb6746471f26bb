package kernels

import (
	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/ir"
)

// LinearShape is a linear layer y = x·Wᵀ (+ bias, then the epilogue) on
// codegen/gemm's kernels, W [N, K] packed by gemm.Pack into NP panels of
// PW columns. The parallel items are (row block, panel) pairs,
// row-block-major: a large batch splits its rows too, so few panels (N =
// 192 is three) still keep every thread busy, and each block of x stays
// in L2 while its panels pass.
type LinearShape struct {
	K, N, PW, NP int
	RB           int    // rows per block, at most (gemm.RowBlock)
	Per, NB      int    // the pure-Go kernel's NR-column blocks per panel, and in all
	Rows         ir.Dim // rows of x
	Bias, Resid  bool
	Fused        bool
	// RuntimeW: the weights are fed at run time (or a splat constant,
	// which never reaches weights.bin), so the kernel packs them into
	// wbuf itself, once per call, and runs its items serially.
	RuntimeW bool
	Act      func(float32) float32
	// Gemm is the pure-Go kernel (gemm.Emit's, by name).
	Gemm   func(m, lo, hi int, y, x, wp, bias []float32)
	Vector LinearKernel
}

// NewLinear returns the shape of linear node nd on the GEMM variant p.
func NewLinear(nd *ir.Node, p gemm.Params) LinearShape {
	x := nd.Inputs[0].Type.Shape
	e := EpiOf(nd)
	return LinearShape{K: p.K, N: p.N, PW: p.Panel(), NP: p.Panels(), RB: gemm.RowBlock(p.K, 0), Per: p.Panel() / p.NR, NB: p.Blocks(),
		Rows: Numel(x[:x.Rank()-1]), Bias: e.Bias, Resid: e.Resid, Fused: e.Fused()}
}

// Linear computes items [lo, hi): the GEMM of a block of rows by a run
// of panels, then, while they are in cache, the residual and activation
// of those columns where the kernel that ran did not apply them. factors
// is a phm_linear's A, which its dense form reads only when the package
// is built (W = Σ A_r ⊗ F_r packed in place of F, w): the kernel never
// reads it, and a linear omits it. With RuntimeW, w is W [N, K] as fed,
// which the kernel packs into wbuf (gemm.Pack's layout) first.
func Linear(s LinearShape, n, lo, hi int, y, x, factors, w, bias, resid, wbuf []float32) {
	K, N, PW, NP, RB := s.K, s.N, s.PW, s.NP, s.RB
	if s.RuntimeW {
		clear(wbuf)
		for o := 0; o < N; o++ {
			for k := 0; k < K; k++ {
				wbuf[(o/PW*K+k)*PW+o%PW] = -w[o*K+k]
			}
		}
		w = wbuf
	}
	rows := s.Rows.At(n)
	// Blocks of equal size (a multiple of 6 rows, at most RB+5): 128 rows
	// split as 126 + 2 would leave one thread's half of the items empty.
	nb := (rows + RB - 1) / RB
	bs := ((rows+nb-1)/nb + 5) / 6 * 6
	for it := lo; it < hi; {
		rb, q0 := it/NP, it%NP
		q1 := min(NP, q0+hi-it)
		r0, r1 := min(rows, rb*bs), min(rows, (rb+1)*bs)
		var res []float32
		if s.Resid {
			res = resid[r0*N : r1*N]
		}
		if !s.Vector.Run(r1-r0, q0, q1, y[r0*N:r1*N], x[r0*K:r1*K], w, bias, res) {
			s.Gemm(r1-r0, q0*s.Per, min(q1*s.Per, s.NB), y[r0*N:r1*N], x[r0*K:r1*K], w, bias)
		}
		if s.Vector.GoEpi() {
			if s.Fused {
				j0, j1 := q0*PW, min(q1*PW, N)
				for r := r0; r < r1; r++ {
					out := y[r*N+j0 : r*N+j1]
					for j, v := range out {
						if s.Resid {
							v += resid[r*N+j0+j]
						}
						out[j] = s.Act(v)
					}
				}
			}
		}
		it += q1 - q0
	}
}
