package kernels

import (
	"fmt"
	"unsafe"

	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/quant"
)

// Quantized kernels (docs/algorithms.md §5): quantize, dequantize,
// requantize, and the integer linear layer and convolution with their
// requantizing or dequantizing epilogue. They call runtime/quant — the
// arithmetic the reference evaluator (ir/ops_quant.go) calls — so they
// are bit-exact with it by construction. Integers are held as int64, as
// the generated package holds every integer tensor; a layer's constants
// (zero points, ranges, multipliers) are literals of its kernel.

// QParams is a quantized type's format as a kernel applies it: scale,
// zero point and saturation range.
type QParams struct {
	Scale  float64
	Zp     int64
	Lo, Hi int64
}

// QParamsOf returns t's format.
func QParamsOf(t ir.Type) QParams {
	s, z := t.Quant.Affine()
	lo, hi := ir.QuantRange(t)
	return QParams{s, z, lo, hi}
}

// QuantizeShape is quantize of N floats to the format Q.
type QuantizeShape struct {
	N     ir.Dim
	Scale float32
	Q     QParams
}

// QuantizeOf returns the shape of a quantize node.
func QuantizeOf(nd *ir.Node) QuantizeShape {
	q := QParamsOf(nd.Outputs[0].Type)
	return QuantizeShape{N: Numel(nd.Outputs[0].Type.Shape), Scale: float32(q.Scale), Q: q}
}

// Quantize rounds x/scale to the nearest (half to even), adds the zero
// point and saturates (quant.Quantize; NaN is the zero point).
func Quantize(s QuantizeShape, n int, y []int64, x []float32) {
	for i, v := range x[:s.N.At(n)] {
		y[i] = int64(quant.Quantize(v, s.Scale, int32(s.Q.Zp), int32(s.Q.Lo), int32(s.Q.Hi)))
	}
}

// Dequantize computes (q − Z)·scale.
func Dequantize(s QuantizeShape, n int, y []float32, x []int64) {
	for i, q := range x[:s.N.At(n)] {
		y[i] = quant.Dequantize(int32(q), int32(s.Q.Zp), s.Scale)
	}
}

// DequantizeOf returns the shape of a dequantize node.
func DequantizeOf(nd *ir.Node) QuantizeShape {
	q := QParamsOf(nd.Inputs[0].Type)
	return QuantizeShape{N: Numel(nd.Outputs[0].Type.Shape), Scale: float32(q.Scale), Q: q}
}

// RequantizeShape is requantize of N integers to the format Out: a
// plain integer (Plain) saturated as it is, a quantized one as
// quant.Output of q − Zin by the multiplier M0·2^(−31−S).
type RequantizeShape struct {
	N     ir.Dim
	Plain bool
	Zin   int64
	M0, S int32
	Out   QParams
}

// RequantizeOf returns the shape of a requantize node, or an error for
// a ratio of scales the canonical multiplier cannot encode.
func RequantizeOf(nd *ir.Node) (RequantizeShape, error) {
	in := nd.Inputs[0].Type
	s := RequantizeShape{N: Numel(nd.Outputs[0].Type.Shape), Plain: in.Quant.IsZero(), Out: QParamsOf(nd.Outputs[0].Type)}
	if !s.Plain {
		pi := QParamsOf(in)
		m, err := quant.Encode(pi.Scale / s.Out.Scale)
		if err != nil {
			return s, err
		}
		s.Zin, s.M0, s.S = pi.Zp, m.M0, m.S
	}
	return s, nil
}

// Requantize takes each integer to the output's format.
func Requantize(s RequantizeShape, n int, y, x []int64) {
	for i, q := range x[:s.N.At(n)] {
		if s.Plain {
			y[i] = quant.Clamp(q, s.Out.Lo, s.Out.Hi)
		} else {
			y[i] = quant.Output(q-s.Zin, quant.Multiplier{M0: s.M0, S: s.S}, s.Out.Zp, s.Out.Lo, s.Out.Hi)
		}
	}
}

// QEpi is the epilogue of a qlinear or qconv2d as ir's qEpilogue.apply
// computes it on output channel j's int64 accumulator: wrapped to int32
// first with a 32-bit accumulator (Acc32); then to float32 (ToF32:
// acc·(S_x·ws_j), ReLU'd with Relu), to int32 (ToI32), requantized in
// float32 (Float: quant.RequantFloat by (S_x·ws_j)/S_y), or by the
// canonical multipliers Mult (one per output channel, computed when the
// package is built from the constant weight scales; codegen binds it to
// a table of the generated package, a Var hook).
type QEpi struct {
	Acc32, ToF32, ToI32, Float, Relu bool
	SX                               float64 // S_x
	SX32, SY                         float32 // S_x and S_y in float32
	Out                              QParams // the output's format, Lo raised to Z_y by a ReLU
	Mult                             []quant.Multiplier
	Zx                               int64 // the input's zero point
	Bias                             bool  // a bias (input 3) starts each accumulator
}

// QEpiOf returns a qlinear or qconv2d node's epilogue; ws are its weight
// scales (input 2), needed when they are not folded at run time (the
// canonical requantization to an integer output), else nil.
func QEpiOf(nd *ir.Node, ws []float32) (QEpi, error) {
	e, _ := ir.QEpilogueOf(nd.Op)
	x, out := QParamsOf(nd.Inputs[0].Type), QParamsOf(nd.Outputs[0].Type)
	dt := nd.Outputs[0].Type.DType
	s := QEpi{Acc32: e.Acc == 32, ToF32: dt == ir.F32, ToI32: dt == ir.I32, Float: e.Requant == "float", Relu: e.Act == "relu",
		SX: x.Scale, SX32: float32(x.Scale), SY: float32(out.Scale), Out: out, Zx: x.Zp, Bias: len(nd.Inputs) == 4}
	if s.Relu {
		s.Out.Lo = max(s.Out.Lo, s.Out.Zp)
	}
	if s.Canonical() {
		if ws == nil {
			return s, fmt.Errorf("weight scales fed at run time: canonical requantization is not supported by codegen yet")
		}
		for j, w := range ws {
			m, err := ir.LayerMultiplier(x.Scale, w, out.Scale)
			if err != nil {
				return s, fmt.Errorf("output channel %d: %w", j, err)
			}
			s.Mult = append(s.Mult, m)
		}
	}
	return s, nil
}

// Canonical reports whether the epilogue requantizes by the canonical
// multipliers (Mult).
func (s QEpi) Canonical() bool { return !s.ToF32 && !s.ToI32 && !s.Float }

// QLinearShape is the integer linear layer y = x·wᵀ on K-element rows:
// the parallel items are blocks of JB output channels (of N) whose
// weight rows fit L1 together, so each row of x is read once a block
// and each weight row once a call.
type QLinearShape struct {
	QEpi
	K, N, JB int
	Rows     ir.Dim
}

// QLinearOf returns the shape of a qlinear node run as an int64 loop.
func QLinearOf(nd *ir.Node, e QEpi) (QLinearShape, error) {
	w, x := nd.Inputs[1].Type.Shape, nd.Inputs[0].Type.Shape
	rows, ok := x[:x.Rank()-1].NumelDim()
	if !ok {
		return QLinearShape{}, fmt.Errorf("rows of %s are not affine in N", x)
	}
	k := w[1].B
	return QLinearShape{QEpi: e, K: k, N: w[0].B, JB: min(16, max(1, 4096/max(k, 1))), Rows: rows}, nil // 32 KiB of int64 weights
}

// QLinear computes blocks [lo, hi) of output channels: Σ_k (x_k −
// Z_x)·w_jk + b_j exactly in int64, then the epilogue.
func QLinear[Y float32 | int64](s QLinearShape, n, lo, hi int, y []Y, x, w []int64, ws []float32, bias []int64) {
	K, N, JB, Zx := s.K, s.N, s.JB, int64(s.Zx) // typed: Zx becomes an int64 constant
	rows := s.Rows.At(n)
	for b := lo; b < hi; b++ {
		j0, j1 := b*JB, min(N, (b+1)*JB)
		for r := 0; r < rows; r++ {
			xr := x[r*K:][:K]
			for j := j0; j < j1; j++ {
				var acc int64
				if s.Bias {
					acc = bias[j]
				}
				for i, wv := range w[j*K:][:K] {
					acc += (xr[i] - Zx) * wv
				}
				if s.Acc32 {
					acc = int64(int32(acc))
				}
				switch {
				case s.ToF32:
					v := float32(acc) * float32(s.SX*float64(ws[j]))
					if s.Relu {
						v = max(v, 0)
					}
					y[r*N+j] = Y(v)
				case s.ToI32:
					y[r*N+j] = Y(int64(int32(acc)))
				case s.Float:
					y[r*N+j] = Y(quant.RequantFloat(int32(acc), quant.FloatScale(s.SX32, ws[j], s.SY), int32(s.Out.Zp), int32(s.Out.Lo), int32(s.Out.Hi)))
				default:
					y[r*N+j] = Y(quant.Output(acc, s.Mult[j], s.Out.Zp, s.Out.Lo, s.Out.Hi))
				}
			}
		}
	}
}

// QConvShape is the integer direct convolution on NCHW, groups of CG
// input and OG output channels; the parallel items are (image, output
// channel) pairs.
type QConvShape struct {
	QEpi
	C, H, W, O, CG, KH, KW, OH, OW, OG int
	SH, SW, PT, PL, DH, DW             int
}

// QConvOf returns the shape of a qconv2d node.
func QConvOf(nd *ir.Node, e QEpi) QConvShape {
	cv := nd.Op.(*ir.QConv2D)
	xs, ws, ys := nd.Inputs[0].Type.Shape, nd.Inputs[1].Type.Shape, nd.Outputs[0].Type.Shape
	return QConvShape{QEpi: e, C: xs[1].B, H: xs[2].B, W: xs[3].B, O: ws[0].B, CG: ws[1].B, KH: ws[2].B, KW: ws[3].B,
		OH: ys[2].B, OW: ys[3].B, OG: ws[0].B / cv.Groups,
		SH: cv.Stride[0], SW: cv.Stride[1], PT: cv.Pad[0], PL: cv.Pad[1], DH: cv.Dilation[0], DW: cv.Dilation[1]}
}

// QConv computes items [lo, hi): each output pixel's window accumulated
// exactly in int64, padding contributing Z_x (the real zero), then the
// epilogue.
func QConv[Y float32 | int64](s QConvShape, n, lo, hi int, y []Y, x, w []int64, ws []float32, bias []int64) {
	C, H, W, O, CG, KH, KW, OH, OW, OG := s.C, s.H, s.W, s.O, s.CG, s.KH, s.KW, s.OH, s.OW, s.OG
	SH, SW, PT, PL, DH, DW, Zx := s.SH, s.SW, s.PT, s.PL, s.DH, s.DW, int64(s.Zx)
	for no := lo; no < hi; no++ {
		b, o := no/O, no%O
		g := o / OG
		for oy := 0; oy < OH; oy++ {
			for ox := 0; ox < OW; ox++ {
				var acc int64
				if s.Bias {
					acc = bias[o]
				}
				for ci := 0; ci < CG; ci++ {
					plane := x[(b*C+g*CG+ci)*H*W:][:H*W]
					wk := w[(o*CG+ci)*KH*KW:][:KH*KW]
					for kh := 0; kh < KH; kh++ {
						iy := oy*SH - PT + kh*DH
						if iy < 0 || iy >= H {
							continue
						}
						for kw := 0; kw < KW; kw++ {
							ix := ox*SW - PL + kw*DW
							if ix >= 0 && ix < W {
								acc += (plane[iy*W+ix] - Zx) * wk[kh*KW+kw]
							}
						}
					}
				}
				at := (no*OH+oy)*OW + ox
				if s.Acc32 {
					acc = int64(int32(acc))
				}
				switch {
				case s.ToF32:
					v := float32(acc) * float32(s.SX*float64(ws[o]))
					if s.Relu {
						v = max(v, 0)
					}
					y[at] = Y(v)
				case s.ToI32:
					y[at] = Y(int64(int32(acc)))
				case s.Float:
					y[at] = Y(quant.RequantFloat(int32(acc), quant.FloatScale(s.SX32, ws[o], s.SY), int32(s.Out.Zp), int32(s.Out.Lo), int32(s.Out.Hi)))
				default:
					y[at] = Y(quant.Output(acc, s.Mult[o], s.Out.Zp, s.Out.Lo, s.Out.Hi))
				}
			}
		}
	}
}

// QGemmShape is the quantized linear on the integer GEMM (isa.QGemm,
// docs/algorithms.md §5.5): activations of 8 bits enter as the bytes u
// = x − XLo (XLo the activation type's least value), so
//
//	Σ_k (x_k − Z_x)·w_jk = Σ_k u_k·w_jk + (XLo − Z_x)·Σ_k w_jk,
//
// the second term the per-channel correction Corr (computed when the
// package is built; codegen binds it to a table of the generated
// package, a Var hook). The weights are int8, packed by quant.PackS8 in
// panels of PW columns; the parallel items are blocks of RB rows, each
// converted into G = ⌈K/4⌉ words a row of the scratch, followed by its
// N int32 sums.
type QGemmShape struct {
	QEpi
	K, N, G, RB, PW int
	XLo             int64
	Rows            ir.Dim
	Corr            []int64
	Gemm            QGemmKernel
}

// QGemmOf returns the shape of a qlinear node on the integer GEMM,
// its weights w (constant, [N, K]) packed in panels of pw columns and
// rows of x a parallel item.
func QGemmOf(nd *ir.Node, e QEpi, w []int64, pw, rb int) (QGemmShape, error) {
	x, ws := nd.Inputs[0].Type, nd.Inputs[1].Type.Shape
	rows, ok := x.Shape[:x.Shape.Rank()-1].NumelDim()
	if !ok {
		return QGemmShape{}, fmt.Errorf("rows of %s are not affine in N", x.Shape)
	}
	k, nOut := ws[1].B, ws[0].B
	lo, _, _ := ir.IntRange(x.DType)
	s := QGemmShape{QEpi: e, K: k, N: nOut, G: quant.Groups(k), RB: rb, PW: pw, XLo: lo, Rows: rows, Corr: make([]int64, nOut)}
	for j := range nOut {
		sum := int64(0)
		for _, v := range w[j*k : (j+1)*k] {
			sum += v
		}
		s.Corr[j] = (lo - e.Zx) * sum
	}
	return s, nil
}

// QGemm computes row blocks [lo, hi): the rows as bytes (those past K
// meet the packing's zero weights), their int32 sums by the targets'
// QGemm kernel or quant.GemmU8S8 (its twin), then per output the
// correction, the bias and the epilogue. scratch holds RB·(G+N) words
// per item.
func QGemm[Y float32 | int64](s QGemmShape, n, lo, hi int, y []Y, x []int64, w []int8, ws []float32, bias []int64, scratch []float32) {
	K, N, G, RB, PW, XLo := s.K, s.N, s.G, s.RB, s.PW, int64(s.XLo)
	rows := s.Rows.At(n)
	for b := lo; b < hi; b++ {
		r0, r1 := b*RB, min(rows, (b+1)*RB)
		m := r1 - r0
		buf := scratch[r0*(G+N) : r1*(G+N)]
		a := unsafe.Slice((*uint8)(unsafe.Pointer(&buf[0])), m*4*G)
		sums := unsafe.Slice((*int32)(unsafe.Pointer(&buf[m*G])), m*N)
		for r := 0; r < m; r++ {
			ar := a[r*4*G:][:4*G]
			for i, v := range x[(r0+r)*K:][:K] {
				ar[i] = uint8(v - XLo)
			}
		}
		if !s.Gemm.Run(m, a, 4*G, w, sums, N) {
			quant.GemmU8S8(m, N, K, a, 4*G, w, PW, sums, N)
		}
		for r := 0; r < m; r++ {
			for j := 0; j < N; j++ {
				acc := int64(sums[r*N+j]) + s.Corr[j]
				if s.Bias {
					acc += bias[j]
				}
				if s.Acc32 {
					acc = int64(int32(acc))
				}
				switch {
				case s.ToF32:
					v := float32(acc) * float32(s.SX*float64(ws[j]))
					if s.Relu {
						v = max(v, 0)
					}
					y[(r0+r)*N+j] = Y(v)
				case s.ToI32:
					y[(r0+r)*N+j] = Y(int64(int32(acc)))
				case s.Float:
					y[(r0+r)*N+j] = Y(quant.RequantFloat(int32(acc), quant.FloatScale(s.SX32, ws[j], s.SY), int32(s.Out.Zp), int32(s.Out.Lo), int32(s.Out.Hi)))
				default:
					y[(r0+r)*N+j] = Y(quant.Output(acc, s.Mult[j], s.Out.Zp, s.Out.Lo, s.Out.Hi))
				}
			}
		}
	}
}
