package kernels

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// DepthwiseShape is a depthwise convolution (groups = C = O: one KH×KW
// filter per channel, any stride and dilation) on NHWC activations, as
// layout-assign leaves the bodies of MobileNets and EfficientNets. Each
// item is a band of Per output rows of one image; with padding, the
// RowsIn input rows its windows read are copied into a zero-padded
// scratch first (as ConvNHWC does). Each output row is the targets'
// Depthwise kernel (vectors across channels, the epilogue fused) or the
// Go loop: per pixel and tap, a run of C multiply-adds over contiguous
// channels. The weights are packed once, at build time, tap major
// ([KH·KW][C], PackDepthwise), so both read the same copy.
type DepthwiseShape struct {
	Window
	PreShape               // a prologue, applied in the band copy (as ConvNHWC's)
	Wp                 int // padded input width, in pixels
	Bands, Per, RowsIn int
	Padded             bool // the windows read a band copy (padding, or Pre)
	Bias, Resid, Fused bool
	Act                func(float32) float32
	Items              ir.Dim
	Row                DepthwiseKernel
}

// NewDepthwise returns the shape of depthwise conv2d node nd on NHWC
// activations.
func NewDepthwise(nd *ir.Node) (DepthwiseShape, error) {
	if nd.Outputs[0].Type.Layout != ir.NHWC || nd.Inputs[0].Type.Layout != ir.NHWC {
		return DepthwiseShape{}, fmt.Errorf("BUG: depthwise conv2d on %s, want NHWC", nd.Inputs[0].Type.Layout)
	}
	if !ir.IsDepthwise(nd.Op.(*ir.Conv2D), nd.Inputs[1].Type.Shape) {
		return DepthwiseShape{}, fmt.Errorf("BUG: conv2d with weights %s is not depthwise", nd.Inputs[1].Type.Shape)
	}
	w, e := WindowOf(nd), EpiOf(nd)
	pre := PreOf(nd)
	s := DepthwiseShape{Window: w, Wp: w.W + w.PL + w.PR, Padded: w.PT+w.PL+w.PB+w.PR > 0 || pre.Pre, PreShape: pre,
		Bias: e.Bias, Resid: e.Resid, Fused: e.Fused()}
	// Bands: up to four per image, so one image still feeds every thread.
	bands := min(w.OH, 4)
	s.Per = (w.OH + bands - 1) / bands
	s.Bands = (w.OH + s.Per - 1) / s.Per
	s.RowsIn = (s.Per-1)*w.SH + (w.KH-1)*w.DH + 1
	s.Items = nd.Inputs[0].Type.Shape[0].MulInt(s.Bands)
	return s, nil
}

// PackDepthwise packs depthwise weights [C][1][KH][KW] tap major, as
// [KH·KW][C]: a tap's weights for consecutive channels are contiguous.
func PackDepthwise(C, KH, KW int) func([]float32) []float32 {
	return func(wt []float32) []float32 {
		t := make([]float32, len(wt))
		for c := range C {
			for k := range KH * KW {
				t[k*C+c] = wt[c*KH*KW+k]
			}
		}
		return t
	}
}

// Depthwise computes bands [lo, hi) on weights packed by PackDepthwise;
// pad holds the padded input rows (RowsIn·Wp·C floats per item);
// pscale and pshift are the prologue's, tiled over a row (PackPre).
func Depthwise(s DepthwiseShape, n, lo, hi int, y, x, w, bias, resid, pscale, pshift, pad []float32) {
	C, H, W, KH, KW, OH, OW := s.C, s.H, s.W, s.KH, s.KW, s.OH, s.OW
	SH, SW, DH, DW, PT, PL, PB, Wp := s.SH, s.SW, s.DH, s.DW, s.PT, s.PL, s.PB, s.Wp
	BANDS, PER, RIN := s.Bands, s.Per, s.RowsIn
	for it := lo; it < hi; it++ {
		b, oh0 := it/BANDS, it%BANDS*PER
		oh1 := min(oh0+PER, OH)
		r0 := oh0 * SH // the band's first padded input row
		var src []float32
		if s.Padded {
			src = pad[it*RIN*Wp*C : (it+1)*RIN*Wp*C]
			rows := min(RIN, H+PT+PB-r0)
			padBand(src, x[b*H*W*C:(b+1)*H*W*C], r0, rows, H, W*C, PT, PL*C, Wp*C)
			if s.Pre {
				// The prologue, on the image's rows only: the padding
				// stays zero. pscale and pshift are tiled over a row.
				for r := max(PT-r0, 0); r < min(rows, H+PT-r0); r++ {
					row := src[r*Wp*C+PL*C : r*Wp*C+(PL+W)*C]
					done := s.PreMul.Run(row, row, pscale, 0, 0)
					added := s.PreAdd.Run(row[:done], row[:done], pshift[:done], 0, 0)
					for i := added; i < done; i++ {
						row[i] += pshift[i]
					}
					for i := done; i < len(row); i++ {
						row[i] = float32(row[i]*pscale[i]) + pshift[i]
					}
					if s.PreActive {
						acted := s.PreRelu.Run(row, row, nil, 0, 0)
						for i := acted; i < len(row); i++ {
							row[i] = s.PreAct(row[i])
						}
					}
				}
			}
		} else {
			// No padding: the windows read the image's own rows.
			src = x[(b*H+r0)*W*C : (b+1)*H*W*C]
		}
		for oh := oh0; oh < oh1; oh++ {
			xw := src[(oh*SH-r0)*Wp*C:]
			yr := y[(b*OH+oh)*OW*C : (b*OH+oh+1)*OW*C]
			var res []float32
			if s.Resid {
				res = resid[(b*OH+oh)*OW*C : (b*OH+oh+1)*OW*C]
			}
			if !s.Row.Run(xw, w, bias, yr, res) {
				for ow := 0; ow < OW; ow++ {
					out := yr[ow*C : (ow+1)*C]
					if s.Bias {
						copy(out, bias[:C])
					} else {
						clear(out)
					}
					for kh := 0; kh < KH; kh++ {
						for kw := 0; kw < KW; kw++ {
							xs := xw[(kh*DH*Wp+ow*SW+kw*DW)*C:][:C]
							ws := w[(kh*KW+kw)*C:][:C]
							for c, v := range ws {
								out[c] += xs[c] * v
							}
						}
					}
				}
			}
			if s.Row.GoEpi() {
				if s.Fused {
					for j, v := range yr {
						if s.Resid {
							v += res[j]
						}
						yr[j] = s.Act(v)
					}
				}
			}
		}
	}
}
