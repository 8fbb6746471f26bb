package codegen

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// Reductions and pooling: sums in float64, as the reference evaluator
// computes them.

func init() {
	register(genPool, ir.KMaxPool, ir.KAvgPool)
}

// genPool visits every window of every plane, as the evaluator's pool2d:
// max (NaN wins) or mean over the in-bounds cells, or over the cells
// inside the padded input with count_include_pad.
func genPool(c *kctx) error {
	x, y := c.in(0).Shape, c.out(0).Shape
	if x.Rank() != 4 {
		return fmt.Errorf("%s of rank %d: only 2-D pooling (NCHW) is generated", c.node.Op.Kind(), x.Rank())
	}
	var kernel, stride, pad, dil []int
	avg, includePad := false, false
	switch p := c.node.Op.(type) {
	case *ir.MaxPool:
		kernel, stride, pad, dil = p.Kernel, p.Stride, p.Pad, p.Dilation
	case *ir.AvgPool:
		kernel, stride, pad, dil = p.Kernel, p.Stride, p.Pad, []int{1, 1}
		avg, includePad = true, p.CountIncludePad
	}
	c.line("const H, W, OH, OW = $H, $W, $OH, $OW", "H", x[2].B, "W", x[3].B, "OH", y[2].B, "OW", y[3].B)
	c.line("const KH, KW, SH, SW, DH, DW = $KH, $KW, $SH, $SW, $DH, $DW",
		"KH", kernel[0], "KW", kernel[1], "SH", stride[0], "SW", stride[1], "DH", dil[0], "DW", dil[1])
	c.line("const PT, PL, PB, PR = $PT, $PL, $PB, $PR", "PT", pad[0], "PL", pad[1], "PB", pad[2], "PR", pad[3])
	c.parallel(numelExpr(x[:2]), 4)
	c.line("for pl := lo; pl < hi; pl++ {")
	c.line("src := i0[pl*H*W : (pl+1)*H*W]")
	c.line("dst := o0[pl*OH*OW : (pl+1)*OH*OW]")
	c.line("for oy := 0; oy < OH; oy++ {")
	c.line("for ox := 0; ox < OW; ox++ {")
	if avg {
		c.line("var s float64")
		c.line("cells, padded := 0, 0")
	} else {
		c.line("m := math.Inf(-1)")
	}
	c.line("for i := 0; i < KH; i++ {")
	c.line("iy := oy*SH - PT + i*DH")
	c.line("for j := 0; j < KW; j++ {")
	c.line("ix := ox*SW - PL + j*DW")
	if avg {
		c.line("if iy < H+PB && ix < W+PR {")
		c.line("padded++")
		c.line("}")
	}
	c.line("if iy >= 0 && iy < H && ix >= 0 && ix < W {")
	c.line("v := float64(src[iy*W+ix])")
	if avg {
		c.line("s += v")
		c.line("cells++")
	} else {
		c.line("if v > m || v != v {")
		c.line("m = v")
		c.line("}")
	}
	c.line("}")
	c.line("}")
	c.line("}")
	switch {
	case avg && includePad:
		c.line("_ = cells")
		c.line("dst[oy*OW+ox] = float32(s / float64(padded))")
	case avg:
		c.line("_ = padded")
		c.line("dst[oy*OW+ox] = float32(s / float64(cells))")
	default:
		c.line("dst[oy*OW+ox] = float32(m)")
	}
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}
