package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/ir"
)

// genConvNHWC computes a convolution (groups 1, no dilation) on NHWC
// activations, as layout-assign leaves them. Each parallel item is a band
// of output rows of one image. It copies the input rows the band's
// windows read into a zero-padded scratch (each input float once, in runs
// of W·C floats), then computes each output row as a GEMM of its OW
// pixels by the O output channels (gemm.ConvShape):
//
//   - where a target has ConvRow kernels (isa.ConvRow), they read the
//     windows in place, and apply bias, residual and activation before
//     they store;
//   - elsewhere, im2col copies the row's windows (KH runs of KW·C floats
//     each) and the pure-Go GEMM kernel multiplies them, the epilogue
//     following in Go.
//
// The weights are packed once, at build time, as a linear layer's [O, K]
// with K in (kh, kw, c) order, so both paths read the same copy.
func genConvNHWC(c *kctx, cv *ir.Conv2D) error {
	x, w, y := c.in(0).Shape, c.in(1).Shape, c.out(0).Shape
	if c.out(0).Layout != ir.NHWC {
		return fmt.Errorf("BUG: conv2d reads NHWC but writes %s", c.out(0).Layout)
	}
	ep := epilogueOf(c.node)
	e, _ := ir.EpilogueOf(c.node.Op)
	C, H, W, O, KH, KW := x[1].B, x[2].B, x[3].B, w[0].B, w[2].B, w[3].B
	OH, OW := y[2].B, y[3].B
	SH, SW := cv.Stride[0], cv.Stride[1]
	PT, PL, PB, PR := cv.Pad[0], cv.Pad[1], cv.Pad[2], cv.Pad[3]
	Wp := W + PL + PR
	K := KH * KW * C
	p := gemm.VectorParams(O, K, 1)
	p.Bias = ep.bias != ""
	pw := p.Panel()
	padded := p.Panels() * pw
	// Bands: up to four per image, so one image still feeds every thread.
	bands := min(OH, 4)
	per := (OH + bands - 1) / bands
	bands = (OH + per - 1) / per
	rowsIn := (per-1)*SH + KH // padded input rows a band reads

	goName := p.Name()
	c.helper(goName, gemm.Emit(p, goName))
	// Weights or a bias fed at run time (an ONNX Conv whose W is an
	// input), or splat constants (which never reach weights.bin, so have
	// no packed copy there), are packed by the kernel itself, once per
	// call, which then runs its items serially: every chunk would pack
	// the same buffer.
	runtimeW := !isDenseConst(c.node.Inputs[1])
	wts := "i1"
	if runtimeW {
		wts = c.scratchBuf(ir.D(p.PackedLen()))
	} else {
		c.packInput(1, "nhwc_"+goName, packConvNHWC(p, O, C, KH, KW))
	}
	bias := "nil"
	padBias := false
	if ep.bias != "" {
		bias = ep.bias
		if isDenseConst(c.node.Inputs[2]) {
			c.packPadded(2, padded)
		} else {
			// The assembly reads whole panels of bias: a padded copy.
			bias, padBias = c.scratchBuf(ir.D(padded)), true
		}
	}

	spec := isa.ConvRowSpec{C: C, O: O, KH: KH, KW: KW, SW: SW, Wp: Wp, OW: OW, PW: pw, Bias: p.Bias}
	ks, goEpi := c.epilogueKernels(isa.Epilogue{Act: e.Act, Resid: e.Residual}, func(t isa.Target, e isa.Epilogue) []isa.Kernel {
		s := spec
		s.Epi = e
		return t.ConvRow(s)
	})

	c.line("const C, H, W, O, KH, KW, OH, OW = $C, $H, $W, $O, $KH, $KW, $OH, $OW",
		"C", C, "H", H, "W", W, "O", O, "KH", KH, "KW", KW, "OH", OH, "OW", OW)
	c.line("const SH, SW, PT, PL, Wp, K = $SH, $SW, $PT, $PL, $WP, $K", "SH", SH, "SW", SW, "PT", PT, "PL", PL, "WP", Wp, "K", K)
	c.line("const BANDS, PER, RIN = $B, $P, $R // bands of PER output rows, RIN padded input rows each", "B", bands, "P", per, "R", rowsIn)
	items := x[0].MulInt(bands)
	padBuf := ""
	if PT+PL+PB+PR > 0 {
		padBuf = c.scratchBuf(items.MulInt(rowsIn * Wp * C))
	}
	colBuf := c.scratchBuf(items.MulInt(OW * K))
	if runtimeW || padBias {
		c.line("lo, hi := 0, $I", "I", dimExpr(items))
	} else {
		c.parallel(dimExpr(items), 1)
	}
	if runtimeW {
		c.line("clear($W)", "W", wts)
		c.line("for o := 0; o < O; o++ {")
		c.line("for ci := 0; ci < C; ci++ {")
		c.line("for kh := 0; kh < KH; kh++ {")
		c.line("for kw := 0; kw < KW; kw++ {")
		c.line("k := (kh*KW+kw)*C + ci")
		c.line("$W[(o/$PW*K+k)*$PW+o%$PW] = -i1[((o*C+ci)*KH+kh)*KW+kw]", "W", wts, "PW", pw)
		c.line("}")
		c.line("}")
		c.line("}")
		c.line("}")
	}
	if padBias {
		c.line("copy($B, $E)", "B", bias, "E", ep.bias)
	}
	c.line("for it := lo; it < hi; it++ {")
	c.line("b, oh0 := it/BANDS, it%BANDS*PER")
	c.line("oh1 := min(oh0+PER, OH)")
	c.line("r0 := oh0 * SH // the band's first padded input row")
	if PT+PL+PB+PR == 0 {
		// No padding: the windows read the image's own rows.
		c.line("src := i0[(b*H+r0)*W*C : (b+1)*H*W*C]")
	} else {
		c.line("src := $S[it*RIN*Wp*C : (it+1)*RIN*Wp*C]", "S", padBuf)
		padRows(c, PL, PR, PB)
	}
	c.line("for oh := oh0; oh < oh1; oh++ {")
	c.line("xw := src[(oh*SH-r0)*Wp*C:]")
	c.line("yr := o0[(b*OH+oh)*OW*O : (b*OH+oh+1)*OW*O]")
	resid := "nil"
	if ep.resid != "" {
		resid = ep.resid + "[(b*OH+oh)*OW*O : (b*OH+oh+1)*OW*O]"
	}
	goEpilogue := func() {
		if ep.fused() {
			c.line("for j, v := range yr {")
			ep.store(c, "yr[j]", "(b*OH+oh)*OW*O+j")
			c.line("}")
		}
	}
	c.dispatch(ks, func(name string) {
		r := resid
		if goEpi[name] || ep.resid == "" {
			r = "nil"
		}
		c.line("$D(xw, $W, $B, yr, $R)", "D", name, "W", wts, "B", bias, "R", r)
		if goEpi[name] {
			goEpilogue()
		}
	}, func() {
		c.line("col := $S[it*OW*K : (it+1)*OW*K]", "S", colBuf)
		c.line("for ow := 0; ow < OW; ow++ {")
		c.line("for kh := 0; kh < KH; kh++ {")
		c.line("copy(col[ow*K+kh*KW*C:ow*K+(kh+1)*KW*C], xw[(kh*Wp+ow*SW)*C:])")
		c.line("}")
		c.line("}")
		c.line("$F(OW, 0, $NB, yr, col, $W, $B)", "F", goName, "NB", p.Blocks(), "W", wts, "B", bias)
		goEpilogue()
	})
	c.line("}")
	c.line("}")
	return nil
}

// packConvNHWC packs conv weights [O][C][KH][KW] as a linear layer's
// [O, K] with K in (kh, kw, c) order, into gemm.Pack's panels.
func packConvNHWC(p gemm.Params, O, C, KH, KW int) func([]float32) []float32 {
	return func(wt []float32) []float32 {
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
		return gemm.Pack(p, t)
	}
}

// isDenseConst reports whether v is a constant with dense data, which a
// kernel may ask to receive packed at build time.
func isDenseConst(v *ir.Value) bool { return v.IsConst() && !v.Const.Splat }

// padRows emits the copy of a band's input rows into its zero-padded
// scratch src (rows of Wp pixels, r0 the first padded row).
func padRows(c *kctx, PL, PR, PB int) {
	c.line("for r := 0; r < RIN && r0+r < H+PT+$PB; r++ {", "PB", PB)
	c.line("row := src[r*Wp*C : (r+1)*Wp*C]")
	c.line("iy := r0 + r - PT")
	c.line("if iy < 0 || iy >= H {")
	c.line("clear(row)")
	c.line("continue")
	c.line("}")
	if PL > 0 {
		c.line("clear(row[:PL*C])")
	}
	c.line("copy(row[PL*C:(PL+W)*C], i0[(b*H+iy)*W*C:(b*H+iy+1)*W*C])")
	if PR > 0 {
		c.line("clear(row[(PL+W)*C:])")
	}
	c.line("}")
}
