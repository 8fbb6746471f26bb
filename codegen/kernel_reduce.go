package codegen

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// Reductions and pooling: sums in float64, as the reference evaluator
// computes them.

func init() {
	register(genReduce, ir.KReduceMean, ir.KReduceSum)
	register(genPool, ir.KMaxPool, ir.KAvgPool)
}

// genReduce loops over the kept axes (in order, so the result is written
// row-major) and, inside, over the reduced ones.
func genReduce(c *kctx) error {
	r := c.node.Op.(*ir.Reduce)
	x := c.in(0).Shape
	if !c.in(0).DType.IsFloat() {
		return fmt.Errorf("integer %s is not supported by the generated kernels yet", r.K)
	}
	red := make([]bool, x.Rank())
	for _, a := range r.Axes {
		red[normAxis(a, x.Rank())] = true
	}
	if len(r.Axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	st := rowStrides(x)
	var kept, reduced []int
	for i := range x {
		if red[i] {
			reduced = append(reduced, i)
		} else {
			kept = append(kept, i)
		}
	}
	count := []ir.Dim{}
	for _, i := range reduced {
		count = append(count, x[i])
	}
	c.line("o := 0")
	loops := func(axes []int, from string) string {
		prev := from
		for _, i := range axes {
			c.line("for d$D, p$D := 0, $P; d$D < $S; d$D, p$D = d$D+1, p$D+($T) {", "D", i, "P", prev, "S", dimExpr(x[i]), "T", st[i])
			prev = fmt.Sprintf("p%d", i)
		}
		return prev
	}
	base := loops(kept, "0")
	c.line("var s float64")
	at := loops(reduced, base)
	c.line("s += float64(i0[$P])", "P", at)
	for range reduced {
		c.line("}")
	}
	if r.K == ir.KReduceMean {
		c.line("o0[o] = float32(s / float64($C))", "C", numelExpr(ir.Shape(count)))
	} else {
		c.line("o0[o] = float32(s)")
	}
	c.line("o++")
	for range kept {
		c.line("}")
	}
	return nil
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
