package kernels

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/ir"
)

// Normalisation and row kernels: statistics in float64 per row or
// channel, as the reference evaluator computes them; where a target has
// them, layernorm rows of whole vectors run on its row kernels (float32
// statistics, two passes), softmax rows on its vector exp, and
// batchnorm's affine map on its element-wise kernels.

// BatchNormShape is inference batchnorm on NCHW: C channels of I
// elements per image.
type BatchNormShape struct {
	C, I   int
	Eps    float64
	Images ir.Dim
	Affine ElementwiseKernel // x·s + t on whole vectors (planes of 16 or more)
}

// BatchNormOf returns the shape of a batchnorm node on NCHW.
func BatchNormOf(nd *ir.Node) BatchNormShape {
	x := nd.Inputs[0].Type.Shape
	return BatchNormShape{C: x[1].B, I: Numel(x[2:]).B, Eps: nd.Op.(*ir.BatchNorm).Eps, Images: x[0]}
}

// BatchNorm computes y = (x − mean)·γ/√(var + ε) + β per channel, in
// float64; the targets' affine kernels take x·s + (β − mean·s), in
// float32, where they run.
func BatchNorm(s BatchNormShape, n int, y, x, gamma, beta, mean, variance []float32) {
	C, I, Eps := s.C, s.I, s.Eps
	images := s.Images.At(n)
	for ch := 0; ch < C; ch++ {
		sc := float64(gamma[ch]) / math.Sqrt(float64(variance[ch])+Eps)
		m, sh := float64(mean[ch]), float64(beta[ch])
		for b := 0; b < images; b++ {
			off := (b*C + ch) * I
			src, dst := x[off:off+I], y[off:off+I]
			done := s.Affine.Run(dst, src, nil, float32(sc), float32(sh-m*sc))
			for i, v := range src[done:] {
				dst[done+i] = float32((float64(v)-m)*sc + sh)
			}
		}
	}
}

// BatchNormNHWCShape is inference batchnorm on NHWC rows of C channels,
// in blocks of RB rows (the parallel items are rows).
type BatchNormNHWCShape struct {
	C, RB    int
	Eps      float64
	Items    ir.Dim // rows
	Mul, Add ElementwiseKernel
}

// BatchNormNHWCOf returns the shape of a batchnorm node on NHWC: blocks
// of about 2048 floats; the items are the N·H·W rows.
func BatchNormNHWCOf(nd *ir.Node) BatchNormNHWCShape {
	x := nd.Inputs[0].Type.Shape
	c := x[1].B
	return BatchNormNHWCShape{C: c, RB: max(1, 2048/c), Eps: nd.Op.(*ir.BatchNorm).Eps, Items: Numel(ir.Shape{x[0], x[2], x[3]})}
}

// BatchNormNHWC applies x·s + (β − μ·s), s = γ/√(σ² + ε), computed in
// float64 and applied in float32 as the planes kernel does, to rows
// [lo, hi). s and the shift are tiled over a block, so the targets'
// element-wise kernels apply them as a multiply and an add of two
// same-length vectors.
func BatchNormNHWC(s BatchNormNHWCShape, n, lo, hi int, y, x, gamma, beta, mean, variance []float32) {
	C, Eps, RB := s.C, s.Eps, s.RB
	sc := make([]float32, RB*C)
	sh := make([]float32, RB*C)
	for ch := 0; ch < C; ch++ {
		g := float64(gamma[ch]) / math.Sqrt(float64(variance[ch])+Eps)
		sc[ch], sh[ch] = float32(g), float32(float64(beta[ch])-float64(mean[ch])*g)
	}
	for r := 1; r < min(RB, hi-lo); r++ {
		copy(sc[r*C:(r+1)*C], sc[:C])
		copy(sh[r*C:(r+1)*C], sh[:C])
	}
	for r0 := lo; r0 < hi; r0 += RB {
		src, dst := x[r0*C:min(hi, r0+RB)*C], y[r0*C:min(hi, r0+RB)*C]
		{
			done := s.Mul.Run(dst, src, sc[:len(dst)], 0, 0)
			for i := done; i < len(dst); i++ {
				dst[i] = src[i] * sc[i]
			}
		}
		{
			done := s.Add.Run(dst, dst, sh[:len(dst)], 0, 0)
			for i := done; i < len(dst); i++ {
				dst[i] = dst[i] + sh[i]
			}
		}
	}
}

// LayerNormShape is layernorm over rows of I elements.
type LayerNormShape struct {
	I      int
	Eps    float64
	Beta   bool   // a shift β follows the scale
	Plain  bool   // neither scale nor shift (bn-fold moved them into the linears after it)
	Items  ir.Dim // rows
	Vector LayerNormKernel
}

// LayerNormOf returns the shape of a layernorm node, whose normalised
// axes must not depend on the batch.
func LayerNormOf(nd *ir.Node) (LayerNormShape, error) {
	ln := nd.Op.(*ir.LayerNorm)
	x := nd.Inputs[0].Type.Shape
	axis := NormAxis(ln.Axis, x.Rank())
	i := Numel(x[axis:])
	if !i.Static() {
		return LayerNormShape{}, fmt.Errorf("layernorm over axes of %s that depend on the batch is not supported by the generated kernels", x)
	}
	return LayerNormShape{I: i.B, Eps: ln.Eps, Beta: len(nd.Inputs) == 3, Plain: len(nd.Inputs) == 1, Items: Numel(x[:axis])}, nil
}

// LayerNorm normalises rows [lo, hi): (x − mean)/√(var + ε), times γ
// unless Plain, plus β when Beta, statistics in float64 over two passes.
func LayerNorm(s LayerNormShape, n, lo, hi int, y, x, gamma, beta []float32) {
	I, Eps := s.I, s.Eps
	if !s.Plain {
		gamma = gamma[:I]
	}
	if s.Beta {
		beta = beta[:I]
	}
	if s.Vector.Run(lo, hi, y, x, gamma, beta, float32(Eps)) {
		return
	}
	for r := lo; r < hi; r++ {
		src, dst := x[r*I:(r+1)*I], y[r*I:(r+1)*I]
		var sum float64
		for _, v := range src {
			sum += float64(v)
		}
		mean := sum / float64(I)
		var ss float64
		for _, v := range src {
			d := float64(v) - mean
			ss += d * d
		}
		inv := 1 / math.Sqrt(ss/float64(I)+Eps)
		for i, v := range src {
			switch {
			case s.Plain:
				dst[i] = float32((float64(v) - mean) * inv)
			case s.Beta:
				dst[i] = float32((float64(v)-mean)*inv*float64(gamma[i]) + float64(beta[i]))
			default:
				dst[i] = float32((float64(v) - mean) * inv * float64(gamma[i]))
			}
		}
	}
}

// SoftmaxShape is softmax (or log-softmax) over an axis of L elements,
// Inner elements apart; the rows (the parallel items) are the other
// axes' positions.
type SoftmaxShape struct {
	L, Inner int
	Log      bool
	Items    ir.Dim        // rows: the positions of the other axes
	Vector   SoftmaxKernel // rows of the last axis (Inner 1)
}

// SoftmaxOf returns the shape of a softmax or log-softmax node, whose
// axis and the axes after it must not depend on the batch.
func SoftmaxOf(nd *ir.Node) (SoftmaxShape, error) {
	sm := nd.Op.(*ir.Softmax)
	x := nd.Inputs[0].Type.Shape
	axis := NormAxis(sm.Axis, x.Rank())
	inner := Numel(x[axis+1:])
	if !x[axis].Static() || !inner.Static() {
		return SoftmaxShape{}, fmt.Errorf("%s over axes of %s that depend on the batch is not supported by the generated kernels", sm.K, x)
	}
	return SoftmaxShape{L: x[axis].B, Inner: inner.B, Log: sm.K == ir.KLogSoftmax, Items: mul(Numel(x[:axis]), inner)}, nil
}

// Softmax computes rows [lo, hi) in float64 with math.Exp, as the
// reference evaluator does. As in PyTorch, a row holding a NaN or +Inf,
// or only −Inf, comes out all NaN: the maximum is NaN, +Inf or −Inf, and
// x − m is NaN for those elements.
func Softmax(s SoftmaxShape, n, lo, hi int, y, x []float32) {
	L, Inner := s.L, s.Inner
	if s.Vector.Run(lo, hi, y, x) {
		return
	}
	for r := lo; r < hi; r++ {
		base := (r/Inner)*L*Inner + r%Inner
		m := math.Inf(-1)
		for j := 0; j < L; j++ {
			if v := float64(x[base+j*Inner]); v > m || v != v {
				m = v
			}
		}
		var sum float64
		for j := 0; j < L; j++ {
			sum += math.Exp(float64(x[base+j*Inner]) - m)
		}
		for j := 0; j < L; j++ {
			if s.Log {
				y[base+j*Inner] = float32(float64(x[base+j*Inner]) - m - math.Log(sum))
			} else {
				y[base+j*Inner] = float32(math.Exp(float64(x[base+j*Inner])-m) / sum)
			}
		}
	}
}

// GlobalAvgPoolShape averages planes of I elements (NCHW).
type GlobalAvgPoolShape struct {
	I      int
	Planes ir.Dim
}

// GlobalAvgPoolOf returns the shape of a global average pool on NCHW.
func GlobalAvgPoolOf(nd *ir.Node) GlobalAvgPoolShape {
	x := nd.Inputs[0].Type.Shape
	return GlobalAvgPoolShape{I: Numel(x[2:]).B, Planes: Numel(x[:2])}
}

// GlobalAvgPool averages each plane, in float64.
func GlobalAvgPool(s GlobalAvgPoolShape, n int, y, x []float32) {
	I := s.I
	for p := 0; p < s.Planes.At(n); p++ {
		var sum float64
		for _, v := range x[p*I : (p+1)*I] {
			sum += float64(v)
		}
		y[p] = float32(sum / float64(I))
	}
}

// GlobalAvgPoolNHWCShape averages each image's I rows of C channels.
type GlobalAvgPoolNHWCShape struct {
	C, I   int
	Images ir.Dim
}

// GlobalAvgPoolNHWCOf returns the shape of a global average pool on
// NHWC.
func GlobalAvgPoolNHWCOf(nd *ir.Node) GlobalAvgPoolNHWCShape {
	x := nd.Inputs[0].Type.Shape
	return GlobalAvgPoolNHWCShape{C: x[1].B, I: x[2].B * x[3].B, Images: x[0]}
}

// GlobalAvgPoolNHWC averages each image's rows into [N, C] (the logical
// [N, C, 1, 1]), in float64 as the NCHW kernel does.
func GlobalAvgPoolNHWC(s GlobalAvgPoolNHWCShape, n int, y, x []float32) {
	C, I := s.C, s.I
	for b := 0; b < s.Images.At(n); b++ {
		sum := make([]float64, C)
		for p := 0; p < I; p++ {
			for ch, v := range x[(b*I+p)*C : (b*I+p+1)*C] {
				sum[ch] += float64(v)
			}
		}
		for ch := range sum {
			y[b*C+ch] = float32(sum[ch] / float64(I))
		}
	}
}
