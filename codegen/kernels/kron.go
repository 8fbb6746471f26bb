package kernels

import (
	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/ir"
)

// Kronecker-factored kernels: phm_linear and phc_conv2d on their factors,
// never materialising W = Σ_r A_r ⊗ F_r (docs/algorithms.md §4), so the
// package embeds and streams R·(m1·n1 + m2·n2·taps) weights instead of
// the dense m1·m2·n1·n2·taps. (A phm_linear codegen runs dense is
// kernels.Linear on W materialised at build time.) Their epilogue is
// v·scale[ch] + bias[ch] + residual, then the activation: the fields
// Scale, Bias, Resid and the hook Act.

// PHMLinearShape is a phm_linear run factored in two passes (§4,
// "batched tokens"). Each row x is X[n1][n2]; stacking the rows' X gives
// a (rows·n1)×n2 matrix, and
//
//	Z = X_stack · F_stackᵀ,   F_stack[o·R + r][j] = F_r[o][j]
//
// is one GEMM on the layer's own GEMM kernels (the pure-Go one, Gemm,
// and the targets' Linear kernels, Vector, as kernels.Linear calls
// them): it reads each F_r once per block of rows and uses it for n1
// rows of each x, the memory-bound win. Then, per row,
//
//	y[p·m2 + o] = Σ_q Σ_r A_r[p][q] · Z[q][o·R + r]
//
// (m1·n1·R·m2 MACs, small beside the GEMM's n1·n2·R·m2: a fraction m1/n2;
// A is packed as Â[p][q][r] by PackPHMA, so that the mix reads it in
// order), with the epilogue. F_stack (PackPHMF) interleaves the terms so
// that a chunk of CP whole panels covers every term of a range of o: the
// parallel items are (row block, chunk) pairs, each computing both
// passes for its rows and columns: ⌈rows/RB⌉·NC of them.
type PHMLinearShape struct {
	K, N, Q, ZN, R, M1, M2 int // in (n1·n2), out (m1·m2), n1, the GEMM's columns (R·m2), terms, m1, m2
	PW, NP, CP, NC, RB     int // panel width, panels, panels a chunk, chunks, rows a block
	Per, NB                int // the pure-Go kernel's NR-column blocks per panel, and in all
	Rows                   ir.Dim
	Scale, Bias, Resid     bool
	// RuntimeW: the factors are fed at run time (or splat constants),
	// so the kernel packs them into abuf and fbuf itself (as PackPHMA
	// and PackPHMF), once per call, and runs its items serially.
	RuntimeW bool
	Act      func(float32) float32
	Gemm     func(m, lo, hi int, y, x, wp, bias []float32)
	Vector   LinearKernel
}

// NewPHMLinear returns the shape of phm_linear node nd run factored, its
// GEMM (N = R·m2 columns, K = n2) on the variant p.
func NewPHMLinear(nd *ir.Node, p gemm.Params) PHMLinearShape {
	k, _ := ir.KronOf(nd)
	x := nd.Inputs[0].Type.Shape
	e := EpiOf(nd)
	pw, np := p.Panel(), p.Panels()
	cp := k.R / gcd(pw, k.R) // its columns, lcm(PW, R), hold whole o
	nc := (np + cp - 1) / cp
	rb := max(1, gemm.RowBlock(k.N2, 0)/k.N1)
	rows := Numel(x[:x.Rank()-1])
	return PHMLinearShape{K: k.In(), N: k.Out(), Q: k.N1, ZN: k.R * k.M2, R: k.R, M1: k.M1, M2: k.M2,
		PW: pw, NP: np, CP: cp, NC: nc, RB: rb, Per: pw / p.NR, NB: p.Blocks(),
		Rows:  rows,
		Scale: ir.ScaledOf(nd.Op), Bias: e.Bias, Resid: e.Resid}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// PackPHMF packs the factors F [R][m2][n2] of a phm_linear as F_stack
// [m2·R][n2] (row o·R + r is F_r's row o), into gemm.Pack's panels of p.
func PackPHMF(p gemm.Params, k ir.Kron) func([]float32) []float32 {
	return func(s []float32) []float32 {
		w := make([]float32, len(s))
		for r := range k.R {
			for o := range k.M2 {
				copy(w[(o*k.R+r)*k.N2:(o*k.R+r+1)*k.N2], s[(r*k.M2+o)*k.N2:(r*k.M2+o+1)*k.N2])
			}
		}
		return gemm.Pack(p, w)
	}
}

// PackPHMA packs the factors A [R][m1][n1] as Â[m1][n1][R]: the mix
// reads a row's n1·R weights in order.
func PackPHMA(k ir.Kron) func([]float32) []float32 {
	return func(a []float32) []float32 {
		t := make([]float32, len(a))
		for r := range k.R {
			for p := range k.M1 {
				for q := range k.N1 {
					t[(p*k.N1+q)*k.R+r] = a[(r*k.M1+p)*k.N1+q]
				}
			}
		}
		return t
	}
}

// PHMLinear computes items [lo, hi): the GEMM of a block of rows by a
// chunk of F_stack's panels into z (n1·R·m2 floats per row), then the
// mix by A of those columns, with the epilogue. a is Â (PackPHMA), f
// F_stack packed (PackPHMF); with RuntimeW they are A and F as fed,
// packed into abuf and fbuf first.
func PHMLinear(s PHMLinearShape, n, lo, hi int, y, x, a, f, scale, bias, resid, z, abuf, fbuf []float32) {
	K, N, Q, ZN, RR, M1, M2 := s.K, s.N, s.Q, s.ZN, s.R, s.M1, s.M2
	PW, NP, CP, NC, RB := s.PW, s.NP, s.CP, s.NC, s.RB
	if s.RuntimeW {
		N2 := K / Q
		clear(fbuf)
		for r := 0; r < RR; r++ {
			for p := 0; p < M1; p++ {
				for q := 0; q < Q; q++ {
					abuf[(p*Q+q)*RR+r] = a[(r*M1+p)*Q+q]
				}
			}
			for o := 0; o < M2; o++ {
				j := o*RR + r // F_stack's row
				for k := 0; k < N2; k++ {
					fbuf[(j/PW*N2+k)*PW+j%PW] = -f[(r*M2+o)*N2+k]
				}
			}
		}
		a, f = abuf, fbuf
	}
	rows := s.Rows.At(n)
	for it := lo; it < hi; it++ {
		r0, c := it/NC*RB, it%NC
		r1 := min(rows, r0+RB)
		q0, q1 := c*CP, min(NP, (c+1)*CP)
		zb := z[r0*Q*ZN : r1*Q*ZN]
		if !s.Vector.Run((r1-r0)*Q, q0, q1, zb, x[r0*K:r1*K], f, nil, nil) {
			s.Gemm((r1-r0)*Q, q0*s.Per, min(q1*s.Per, s.NB), zb, x[r0*K:r1*K], f, nil)
		}
		oa, ob := q0*PW/RR, min(M2, q1*PW/RR)
		for row := r0; row < r1; row++ {
			zr := zb[(row-r0)*Q*ZN:][:Q*ZN]
			for p := 0; p < M1; p++ {
				ap := a[p*Q*RR:][:Q*RR]
				for o := oa; o < ob; o++ {
					var v float32
					for q := 0; q < Q; q++ {
						zq, aq := zr[q*ZN+o*RR:][:RR], ap[q*RR:][:RR]
						for r, zv := range zq {
							v += aq[r] * zv
						}
					}
					ch := p*M2 + o
					if s.Scale {
						v *= scale[ch]
					}
					if s.Bias {
						v += bias[ch]
					}
					if s.Resid {
						v += resid[row*N+ch]
					}
					y[row*N+ch] = s.Act(v)
				}
			}
		}
	}
}

// PHCConv2DShape is a phc_conv2d (NCHW) that mixes the channel blocks
// first (§4, PHC convolutions): for each image, output block p and term
// r it forms x̃ = Σ_q A_r[p][q]·x_q (C' = CB channels) in scratch, then
// convolves it directly with F_r (O' = OB × C' × kh × kw) into the
// block's O' output channels — R·m1 convolutions of size O'×C', the
// dense convolution's MACs when R = n1, on the factors' weights only.
// The parallel items are (image, output block) pairs.
type PHCConv2DShape struct {
	Window             // C = n1·C', O = m1·O'
	R, M1, N1, OB, CB  int
	Scale, Bias, Resid bool
	Act                func(float32) float32
	Items              ir.Dim
}

// NewPHCConv2D returns the shape of phc_conv2d node nd.
func NewPHCConv2D(nd *ir.Node) PHCConv2DShape {
	cv := nd.Op.(*ir.PHCConv2D)
	k, _ := ir.KronOf(nd)
	x, f, y := nd.Inputs[0].Type.Shape, nd.Inputs[2].Type.Shape, nd.Outputs[0].Type.Shape
	w := Window{C: x[1].B, H: x[2].B, W: x[3].B, O: y[1].B, KH: f[3].B, KW: f[4].B, OH: y[2].B, OW: y[3].B,
		SH: cv.Stride[0], SW: cv.Stride[1], DH: cv.Dilation[0], DW: cv.Dilation[1],
		PT: cv.Pad[0], PL: cv.Pad[1], PB: cv.Pad[2], PR: cv.Pad[3]}
	e := EpiOf(nd)
	return PHCConv2DShape{Window: w, R: k.R, M1: k.M1, N1: k.N1, OB: k.M2, CB: k.N2,
		Scale: cv.Scaled, Bias: e.Bias, Resid: e.Resid, Items: x[0].MulInt(k.M1)}
}

// PHCConv2D computes items [lo, hi); mix holds CB planes per item.
func PHCConv2D(s PHCConv2DShape, n, lo, hi int, y, x, a, f, scale, bias, resid, mix []float32) {
	H, W, KH, KW, OH, OW := s.H, s.W, s.KH, s.KW, s.OH, s.OW
	SH, SW, PT, PL, DH, DW := s.SH, s.SW, s.PT, s.PL, s.DH, s.DW
	RR, M1, N1, OB, CB := s.R, s.M1, s.N1, s.OB, s.CB
	for it := lo; it < hi; it++ {
		b, p := it/M1, it%M1
		xm := mix[it*CB*H*W : (it+1)*CB*H*W]
		out := y[it*OB*OH*OW : (it+1)*OB*OH*OW]
		clear(out)
		for r := 0; r < RR; r++ {
			clear(xm)
			for q := 0; q < N1; q++ {
				av := a[(r*M1+p)*N1+q]
				if av == 0 {
					continue
				}
				xq := x[(b*N1+q)*CB*H*W : (b*N1+q+1)*CB*H*W]
				for i, v := range xq {
					xm[i] += av * v
				}
			}
			for o := 0; o < OB; o++ {
				op := out[o*OH*OW : (o+1)*OH*OW]
				for ci := 0; ci < CB; ci++ {
					plane := xm[ci*H*W : (ci+1)*H*W]
					wk := f[((r*OB+o)*CB+ci)*KH*KW:][:KH*KW]
					for kh := 0; kh < KH; kh++ {
						for kw := 0; kw < KW; kw++ {
							wv := wk[kh*KW+kw]
							for oy := 0; oy < OH; oy++ {
								iy := oy*SH - PT + kh*DH
								if iy < 0 || iy >= H {
									continue
								}
								row := plane[iy*W:][:W]
								orow := op[oy*OW:][:OW]
								for ox := range orow {
									if ix := ox*SW - PL + kw*DW; ix >= 0 && ix < W {
										orow[ox] += wv * row[ix]
									}
								}
							}
						}
					}
				}
			}
		}
		for o := 0; o < OB; o++ {
			ch := p*OB + o
			op := out[o*OH*OW : (o+1)*OH*OW]
			for j, v := range op {
				if s.Scale {
					v *= scale[ch]
				}
				if s.Bias {
					v += bias[ch]
				}
				if s.Resid {
					v += resid[(it*OB+o)*OH*OW+j]
				}
				op[j] = s.Act(v)
			}
		}
	}
}
