package kernels

import (
	"fmt"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/ir"
)

// Convolutions: direct (grouped, NCHW), im2col and GEMM (NCHW), and
// rows of GEMMs on NHWC (what layout-assign leaves convolutions in).

// Window is a convolution's geometry.
type Window struct {
	C, H, W, O, KH, KW, OH, OW int
	SH, SW, DH, DW             int
	PT, PL, PB, PR             int
}

// WindowOf returns the geometry of a conv2d node (shapes in the logical
// NCHW order, whatever the layout).
func WindowOf(nd *ir.Node) Window {
	cv := nd.Op.(*ir.Conv2D)
	x, w, y := nd.Inputs[0].Type.Shape, nd.Inputs[1].Type.Shape, nd.Outputs[0].Type.Shape
	return Window{C: x[1].B, H: x[2].B, W: x[3].B, O: w[0].B, KH: w[2].B, KW: w[3].B, OH: y[2].B, OW: y[3].B,
		SH: cv.Stride[0], SW: cv.Stride[1], DH: cv.Dilation[0], DW: cv.Dilation[1],
		PT: cv.Pad[0], PL: cv.Pad[1], PB: cv.Pad[2], PR: cv.Pad[3]}
}

// ConvDirectShape is a grouped convolution computed directly, one
// output plane (image, channel) per item.
type ConvDirectShape struct {
	Window
	Groups             int
	Bias, Resid, Fused bool
	Act                func(float32) float32
	Items              ir.Dim
}

// ConvDirectOf returns the shape of a grouped conv2d node on NCHW.
func ConvDirectOf(nd *ir.Node) ConvDirectShape {
	w, e := WindowOf(nd), EpiOf(nd)
	return ConvDirectShape{Window: w, Groups: nd.Op.(*ir.Conv2D).Groups, Bias: e.Bias, Resid: e.Resid, Fused: e.Fused(),
		Items: nd.Inputs[0].Type.Shape[0].MulInt(w.O)}
}

// ConvDirect computes output planes [lo, hi): the bias, then each input
// channel of the plane's group by each tap, then the epilogue.
func ConvDirect(s ConvDirectShape, n, lo, hi int, y, x, w, bias, resid []float32) {
	C, H, W, O, KH, KW, OH, OW := s.C, s.H, s.W, s.O, s.KH, s.KW, s.OH, s.OW
	CG, OG := C/s.Groups, O/s.Groups
	SH, SW, PT, PL, DH, DW := s.SH, s.SW, s.PT, s.PL, s.DH, s.DW
	for no := lo; no < hi; no++ {
		b, oc := no/O, no%O
		g := oc / OG
		out := y[no*OH*OW : (no+1)*OH*OW]
		var b0 float32
		if s.Bias {
			b0 = bias[oc]
		}
		for p := range out {
			out[p] = b0
		}
		for ci := 0; ci < CG; ci++ {
			in := x[(b*C+g*CG+ci)*H*W:][:H*W]
			wk := w[(oc*CG+ci)*KH*KW:][:KH*KW]
			for kh := 0; kh < KH; kh++ {
				for kw := 0; kw < KW; kw++ {
					wv := wk[kh*KW+kw]
					for oy := 0; oy < OH; oy++ {
						iy := oy*SH - PT + kh*DH
						if iy < 0 || iy >= H {
							continue
						}
						row := in[iy*W:][:W]
						orow := out[oy*OW:][:OW]
						for ox := range orow {
							if ix := ox*SW - PL + kw*DW; ix >= 0 && ix < W {
								orow[ox] += wv * row[ix]
							}
						}
					}
				}
			}
		}
		if s.Fused {
			for p, v := range out {
				if s.Resid {
					v += resid[no*OH*OW+p]
				}
				out[p] = s.Act(v)
			}
		}
	}
}

// ConvGemmShape is a convolution lowered to GEMM on NCHW: per image and
// panel of PW output pixels (the items), im2col copies the K = C·KH·KW
// inputs of each pixel into a K×PW panel (gemm.Pack's layout, one copy
// per run of an input row), and one GEMM multiplies the weights [O, K]
// (as the left operand, stored negated since the kernels subtract
// products) by it, straight into the output plane's O rows — no scatter.
type ConvGemmShape struct {
	Window
	K, P, PW, NP, NR, NB int // depth, pixels, the panels of pixels, the pure-Go kernel's blocks
	Bias, Resid, Fused   bool
	// RuntimeW: the weights are fed at run time (or a splat constant),
	// so the kernel negates them into wbuf itself, once per call, and
	// runs its items serially.
	RuntimeW bool
	Act      func(float32) float32
	Items    ir.Dim
	Gemm     func(m, lo, hi int, y, x, wp, bias []float32)
	// Block runs the targets' kernels, which apply the residual and
	// activation themselves only without a bias (a bias is per row here,
	// which their epilogue does not add).
	Block ConvBlockKernel
}

// NewConvGemm returns the shape of conv2d node nd (groups 1, NCHW) on
// the GEMM variant p (N the pixels, K the depth).
func NewConvGemm(nd *ir.Node, p gemm.Params) ConvGemmShape {
	w, e := WindowOf(nd), EpiOf(nd)
	return ConvGemmShape{Window: w, K: p.K, P: p.N, PW: p.Panel(), NP: p.Panels(), NR: p.NR, NB: p.Blocks(),
		Bias: e.Bias, Resid: e.Resid, Fused: e.Fused(), Items: nd.Inputs[0].Type.Shape[0].MulInt(p.Panels())}
}

// ConvGemm computes items [lo, hi); col holds a K×PW panel per item.
// w is the weights negated, or with RuntimeW as fed, which the kernel
// negates into wbuf (O·K floats) first.
func ConvGemm(s ConvGemmShape, n, lo, hi int, y, x, w, bias, resid, col, wbuf []float32) {
	C, H, W, O, KH, KW, OW := s.C, s.H, s.W, s.O, s.KH, s.KW, s.OW
	K, P, PW, NP, NR := s.K, s.P, s.PW, s.NP, s.NR
	SH, SW, PT, PL, DH, DW := s.SH, s.SW, s.PT, s.PL, s.DH, s.DW
	if s.RuntimeW {
		for i, v := range w[:O*K] {
			wbuf[i] = -v
		}
		w = wbuf
	}
	for it := lo; it < hi; it++ {
		b, p0 := it/NP, it%NP*PW
		cp := col[it*K*PW : (it+1)*K*PW]
		for ci := 0; ci < C; ci++ {
			plane := x[(b*C+ci)*H*W:][:H*W]
			for kh := 0; kh < KH; kh++ {
				for kw := 0; kw < KW; kw++ {
					row := cp[((ci*KH+kh)*KW+kw)*PW:][:PW]
					for j, p := 0, p0; j < PW; {
						if p >= P {
							clear(row[j:])
							break
						}
						oy, ox := p/OW, p%OW
						seg := row[j : j+min(OW-ox, PW-j)]
						j, p = j+len(seg), p+len(seg)
						iy := oy*SH - PT + kh*DH
						if iy < 0 || iy >= H {
							clear(seg)
							continue
						}
						src := plane[iy*W : iy*W+W]
						if s.SW == 1 {
							// Unit stride: the valid inputs of a segment are one run.
							off := ox - PL + kw*DW // input column of seg[0]
							t0, t1 := min(max(-off, 0), len(seg)), max(min(W-off, len(seg)), 0)
							clear(seg[:t0])
							if t1 > t0 {
								copy(seg[t0:t1], src[off+t0:off+t1])
							}
							clear(seg[max(t1, t0):])
						} else {
							for t := range seg {
								if ix := (ox+t)*SW - PL + kw*DW; ix >= 0 && ix < W {
									seg[t] = src[ix]
								} else {
									seg[t] = 0
								}
							}
						}
					}
				}
			}
		}
		yb := y[b*O*P : (b+1)*O*P]
		var res []float32
		if s.Resid && !s.Bias {
			res = resid[b*O*P+p0:]
		}
		if !s.Block.Run(O, min(PW, P-p0), w, K, cp, yb[p0:], P, res) {
			s.Gemm(O, p0/NR, min((p0+PW+NR-1)/NR, s.NB), yb, w, col[b*NP*K*PW:], nil)
		}
		if s.Block.GoEpi() {
			if s.Fused || s.Bias {
				for o := 0; o < O; o++ {
					out := yb[o*P+p0 : o*P+min(p0+PW, P)]
					for j, v := range out {
						if s.Bias {
							v += bias[o]
						}
						if s.Resid {
							v += resid[(b*O+o)*P+p0+j]
						}
						out[j] = s.Act(v)
					}
				}
			}
		}
	}
}

// ConvNHWCShape is a convolution (groups 1, no dilation) on NHWC
// activations. Each item is a band of Per output rows of one image. With
// padding, it copies the RowsIn input rows the band's windows read into
// a zero-padded scratch (each input float once, in runs of W·C floats);
// then each output row is a GEMM of its OW pixels by the O output
// channels (gemm.ConvShape):
//
//   - where a target has ConvRow kernels, they read the windows in place,
//     and apply bias, residual and activation before they store;
//   - elsewhere, im2col copies the row's windows (KH runs of KW·C floats
//     each) and the pure-Go GEMM kernel multiplies them, the epilogue
//     following in Go.
//
// The weights are packed once, at build time, as a linear layer's [O, K]
// with K in (kh, kw, c) order (PackConvNHWC), so both paths read the
// same copy. Weights or a bias fed at run time, or splat constants
// (which never reach weights.bin), are packed by the kernel itself
// (RuntimeW, PadBias) into scratch, once per call, which then runs its
// items serially: every chunk would pack the same buffer.
//
// With a prologue (PreShape), the band copy is also where the input is
// normalised, and the padding stays zero. Pre always takes the band
// copy, padded or not.
type ConvNHWCShape struct {
	Window
	PreShape
	Wp, K              int // padded input width, in pixels; depth
	Bands, Per, RowsIn int
	PW, NB             int  // panel width of the packed weights; the pure-Go kernel's blocks
	Padded             bool // the windows read a band copy (padding, or Pre)
	RuntimeW, PadBias  bool
	Bias, Resid, Fused bool
	Act                func(float32) float32
	Items              ir.Dim
	Gemm               func(m, lo, hi int, y, x, wp, bias []float32)
	Row                ConvRowKernel
}

// NewConvNHWC returns the shape of conv2d node nd on NHWC activations on
// the GEMM variant p (N the output channels, K the depth).
func NewConvNHWC(nd *ir.Node, p gemm.Params, runtimeW, padBias bool) (ConvNHWCShape, error) {
	if nd.Outputs[0].Type.Layout != ir.NHWC {
		return ConvNHWCShape{}, fmt.Errorf("BUG: conv2d reads NHWC but writes %s", nd.Outputs[0].Type.Layout)
	}
	w, e := WindowOf(nd), EpiOf(nd)
	pre := PreOf(nd)
	s := ConvNHWCShape{Window: w, Wp: w.W + w.PL + w.PR, K: w.KH * w.KW * w.C, PW: p.Panel(), NB: p.Blocks(),
		Padded: w.PT+w.PL+w.PB+w.PR > 0 || pre.Pre, PreShape: pre, RuntimeW: runtimeW, PadBias: padBias, Bias: e.Bias, Resid: e.Resid, Fused: e.Fused()}
	// Bands: up to four per image, so one image still feeds every thread.
	bands := min(w.OH, 4)
	s.Per = (w.OH + bands - 1) / bands
	s.Bands = (w.OH + s.Per - 1) / s.Per
	s.RowsIn = (s.Per-1)*w.SH + w.KH
	s.Items = nd.Inputs[0].Type.Shape[0].MulInt(s.Bands)
	return s, nil
}

// PackConvNHWC packs conv weights [O][C][KH][KW] as a linear layer's
// [O, K] with K in (kh, kw, c) order, into gemm.Pack's panels of p.
func PackConvNHWC(p gemm.Params, O, C, KH, KW int) func([]float32) []float32 {
	return func(wt []float32) []float32 { return gemm.Pack(p, ConvOHWC(wt, O, C, KH, KW)) }
}

// ConvOHWC reorders conv weights [O][C][KH][KW] to [O][KH][KW][C]: a
// GEMM's [O, K] with K in (kh, kw, c) order, as NHWC windows are read
// (the CPU's packed panels and the CUDA back end's implicit GEMM alike).
func ConvOHWC(wt []float32, O, C, KH, KW int) []float32 {
	t := make([]float32, len(wt))
	for o := range O {
		for ci := range C {
			for kh := range KH {
				for kw := range KW {
					t[((o*KH+kh)*KW+kw)*C+ci] = wt[((o*C+ci)*KH+kh)*KW+kw]
				}
			}
		}
	}
	return t
}

// ConvNHWC computes bands [lo, hi). wbuf and bbuf receive the weights
// and bias packed at run time, pad the padded input rows (RowsIn·Wp·C
// floats per item) and col the pure-Go path's windows (OW·K per item);
// pscale and pshift are the prologue's, tiled over a row (PackPre).
func ConvNHWC(s ConvNHWCShape, n, lo, hi int, y, x, w, bias, resid, pscale, pshift, wbuf, bbuf, pad, col []float32) {
	C, H, W, O, KH, KW, OH, OW := s.C, s.H, s.W, s.O, s.KH, s.KW, s.OH, s.OW
	SH, SW, PT, PL, PB, Wp, K := s.SH, s.SW, s.PT, s.PL, s.PB, s.Wp, s.K
	BANDS, PER, RIN, PW := s.Bands, s.Per, s.RowsIn, s.PW
	if s.RuntimeW {
		clear(wbuf)
		for o := 0; o < O; o++ {
			for ci := 0; ci < C; ci++ {
				for kh := 0; kh < KH; kh++ {
					for kw := 0; kw < KW; kw++ {
						k := (kh*KW+kw)*C + ci
						wbuf[(o/PW*K+k)*PW+o%PW] = -w[((o*C+ci)*KH+kh)*KW+kw]
					}
				}
			}
		}
		w = wbuf
	}
	if s.PadBias {
		// The targets read whole panels of bias: a padded copy.
		copy(bbuf, bias)
		bias = bbuf
	}
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
			yr := y[(b*OH+oh)*OW*O : (b*OH+oh+1)*OW*O]
			var res []float32
			if s.Resid {
				res = resid[(b*OH+oh)*OW*O : (b*OH+oh+1)*OW*O]
			}
			if !s.Row.Run(xw, w, bias, yr, res) {
				cl := col[it*OW*K : (it+1)*OW*K]
				for ow := 0; ow < OW; ow++ {
					for kh := 0; kh < KH; kh++ {
						copy(cl[ow*K+kh*KW*C:ow*K+(kh+1)*KW*C], xw[(kh*Wp+ow*SW)*C:])
					}
				}
				s.Gemm(OW, 0, s.NB, yr, cl, w, bias)
			}
			if s.Row.GoEpi() {
				if s.Fused {
					for j, v := range yr {
						if s.Resid {
							v += resid[(b*OH+oh)*OW*O+j]
						}
						yr[j] = s.Act(v)
					}
				}
			}
		}
	}
}

// padBand writes rows padded input rows of an NHWC image (H rows of rowLen
// floats) into band, rows of padLen floats, starting at padded row r0:
// rows above and below the image are zero, and each image row lands after
// left zeros (left floats) with zeros after it. The direct and depthwise
// convolutions read their windows from such a band.
func padBand(band, img []float32, r0, rows, H, rowLen, PT, left, padLen int) {
	for r := 0; r < rows; r++ {
		row := band[r*padLen : (r+1)*padLen]
		iy := r0 + r - PT
		if iy < 0 || iy >= H {
			clear(row)
			continue
		}
		clear(row[:left])
		copy(row[left:left+rowLen], img[iy*rowLen:(iy+1)*rowLen])
		clear(row[left+rowLen:])
	}
}

// GroupConvShape is a grouped convolution (1 < groups < channels, or
// depthwise on weights the depthwise kernels cannot take) on NHWC
// activations. Its groups are merged into Blocks of consecutive groups
// (one group each, or a few when a group's outputs fill less than a
// vector: the block's weights are then block-diagonal, zero between its
// groups), and each block is a GEMM: the rows are the band's output
// pixels, the columns the block's OB output channels, the depth KB =
// KH·KW·CB (in (kh, kw, c) order), plus one with FoldBias, where the
// packed weights' last row is the bias and each window's last column a
// one. Each item is a band of Per output rows of one image; with padding
// the RowsIn input rows its windows read are copied into a zero-padded
// scratch first (as ConvNHWC does). Per block, im2col copies the band's
// windows (KH·KW runs of CB floats per pixel) into col, and the targets'
// ConvBlock kernels (the epilogue fused) write the block's columns of
// the output rows in place (rows O floats apart), or the pure-Go GEMM
// kernel writes them into tmp and a Go loop copies them there. The
// weights are packed once, at build time (PackGroupConv).
type GroupConvShape struct {
	Window
	Blocks, CB, OB, KB int // blocks, their input and output channels, depth
	Wp                 int // padded input width, in pixels
	Bands, Per, RowsIn int
	BL, NB             int // floats of a block's packed weights; the pure-Go kernel's blocks
	Padded, FoldBias   bool
	Bias, Resid, Fused bool
	Act                func(float32) float32
	Items              ir.Dim
	Gemm               func(m, lo, hi int, y, x, wp, bias []float32)
	Block              ConvBlockKernel
}

// GroupBlocks returns how many consecutive groups of a convolution with
// groups groups of og output channels each GroupConv merges into one
// block: enough for 16 output channels when a group has fewer and the
// count divides groups, else 1.
func GroupBlocks(groups, og int) int {
	if og >= 16 || 16%og != 0 || groups%(16/og) != 0 {
		return 1
	}
	return 16 / og
}

// NewGroupConv returns the shape of grouped conv2d node nd on NHWC
// activations, merging s groups per block, on the GEMM variant p (N the
// block's output channels, K its depth); foldBias as for FoldBias.
func NewGroupConv(nd *ir.Node, s int, p gemm.Params, foldBias bool) (GroupConvShape, error) {
	if nd.Outputs[0].Type.Layout != ir.NHWC || nd.Inputs[0].Type.Layout != ir.NHWC {
		return GroupConvShape{}, fmt.Errorf("BUG: grouped conv2d on %s, want NHWC", nd.Inputs[0].Type.Layout)
	}
	groups := nd.Op.(*ir.Conv2D).Groups
	w, e := WindowOf(nd), EpiOf(nd)
	if groups < 1 || s < 1 || groups%s != 0 || w.C%groups != 0 || w.O%groups != 0 {
		return GroupConvShape{}, fmt.Errorf("BUG: conv2d of %d channels in %d groups, %d per block", w.C, groups, s)
	}
	g := GroupConvShape{Window: w, Blocks: groups / s, CB: w.C / groups * s, OB: w.O / groups * s,
		Wp: w.W + w.PL + w.PR, Padded: w.PT+w.PL+w.PB+w.PR > 0, FoldBias: foldBias,
		Bias: e.Bias && !foldBias, Resid: e.Resid, Fused: e.Fused(), NB: p.Blocks(), BL: p.PackedLen()}
	g.KB = w.KH * w.KW * g.CB
	if foldBias {
		g.KB++
	}
	if p.N != g.OB || p.K != g.KB {
		return GroupConvShape{}, fmt.Errorf("BUG: grouped conv2d blocks of %d×%d on a GEMM of %d×%d", g.OB, g.KB, p.N, p.K)
	}
	// Bands: up to four per image, so one image still feeds every thread.
	bands := min(w.OH, 4)
	g.Per = (w.OH + bands - 1) / bands
	g.Bands = (w.OH + g.Per - 1) / g.Per
	g.RowsIn = (g.Per-1)*w.SH + (w.KH-1)*w.DH + 1
	g.Items = nd.Inputs[0].Type.Shape[0].MulInt(g.Bands)
	return g, nil
}

// PackGroupConv packs grouped conv weights [O][CG][KH][KW] (groups
// groups) as blocks of s groups, each a linear layer's [OB, KB] with K in
// (kh, kw, c) order over the block's CB channels (zero where an output
// and an input channel are in different groups) and, when bias is not
// nil, the bias as its last column, into gemm.Pack's panels of p; the
// blocks follow each other, p.PackedLen() floats apart.
func PackGroupConv(p gemm.Params, groups, s, CG, KH, KW int, bias []float32) func([]float32) []float32 {
	return func(wt []float32) []float32 {
		O := len(wt) / (CG * KH * KW)
		OG := O / groups
		OB, CB := OG*s, CG*s
		var out []float32
		for blk := range groups / s {
			wb := make([]float32, p.N*p.K)
			for j := range OB {
				o := blk*OB + j
				cb := j / OG * CG // the block's first channel of o's group
				for ci := range CG {
					for kh := range KH {
						for kw := range KW {
							wb[j*p.K+(kh*KW+kw)*CB+cb+ci] = wt[((o*CG+ci)*KH+kh)*KW+kw]
						}
					}
				}
				if bias != nil {
					wb[j*p.K+p.K-1] = bias[o]
				}
			}
			out = append(out, gemm.Pack(p, wb)...)
		}
		return out
	}
}

// GroupConv computes bands [lo, hi) on weights packed by PackGroupConv;
// pad holds the padded input rows (RowsIn·Wp·C floats per item), col a
// block's windows (Per·OW·KB per item) and tmp the pure-Go kernel's
// block of outputs (Per·OW·OB per item).
func GroupConv(s GroupConvShape, n, lo, hi int, y, x, w, bias, resid, pad, col, tmp []float32) {
	C, H, W, O, KH, KW, OH, OW := s.C, s.H, s.W, s.O, s.KH, s.KW, s.OH, s.OW
	SH, SW, DH, DW, PT, PL, PB, Wp := s.SH, s.SW, s.DH, s.DW, s.PT, s.PL, s.PB, s.Wp
	BLOCKS, CB, OB, KB, BL := s.Blocks, s.CB, s.OB, s.KB, s.BL
	BANDS, PER, RIN := s.Bands, s.Per, s.RowsIn
	for it := lo; it < hi; it++ {
		b, oh0 := it/BANDS, it%BANDS*PER
		oh1 := min(oh0+PER, OH)
		r0 := oh0 * SH // the band's first padded input row
		var src []float32
		if s.Padded {
			src = pad[it*RIN*Wp*C : (it+1)*RIN*Wp*C]
			padBand(src, x[b*H*W*C:(b+1)*H*W*C], r0, min(RIN, H+PT+PB-r0), H, W*C, PT, PL*C, Wp*C)
		} else {
			// No padding: the windows read the image's own rows.
			src = x[(b*H+r0)*W*C : (b+1)*H*W*C]
		}
		m := (oh1 - oh0) * OW
		cl := col[it*PER*OW*KB : (it+1)*PER*OW*KB]
		y0 := (b*OH + oh0) * OW * O
		for blk := 0; blk < BLOCKS; blk++ {
			for oh := oh0; oh < oh1; oh++ {
				xw := src[(oh*SH-r0)*Wp*C+blk*CB:]
				for ow := 0; ow < OW; ow++ {
					row := cl[((oh-oh0)*OW+ow)*KB : ((oh-oh0)*OW+ow+1)*KB]
					for kh := 0; kh < KH; kh++ {
						for kw := 0; kw < KW; kw++ {
							copy(row[(kh*KW+kw)*CB:(kh*KW+kw+1)*CB], xw[(kh*DH*Wp+ow*SW+kw*DW)*C:])
						}
					}
					if s.FoldBias {
						row[KB-1] = 1
					}
				}
			}
			wb := w[blk*BL : (blk+1)*BL]
			yb := y[y0+blk*OB:]
			var res []float32
			if s.Resid {
				res = resid[y0+blk*OB:]
			}
			if !s.Block.Run(m, OB, cl, KB, wb, yb, O, res) {
				t := tmp[it*PER*OW*OB : (it+1)*PER*OW*OB]
				s.Gemm(m, 0, s.NB, t, cl, wb, nil)
				for i := 0; i < m; i++ {
					copy(yb[i*O:i*O+OB], t[i*OB:(i+1)*OB])
				}
			}
			if s.Block.GoEpi() {
				if s.Fused || s.Bias {
					for i := 0; i < m; i++ {
						out := yb[i*O : i*O+OB]
						for j, v := range out {
							if s.Bias {
								v += bias[blk*OB+j]
							}
							if s.Resid {
								v += res[i*O+j]
							}
							out[j] = s.Act(v)
						}
					}
				}
			}
		}
	}
}
