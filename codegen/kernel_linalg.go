package codegen

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// General matrix products and the transposed convolution, pure Go with
// float64 accumulation (as the reference evaluator). What exporters emit
// for a layer with constant weights (Gemm, MatMul by a constant) the ONNX
// importer turns into linear, which runs on codegen/gemm's kernels; these
// are for the rest: products of two computed tensors, transposed
// operands, Gemm's alpha, beta and broadcast C.

func init() {
	register(genGemm, ir.KGemm)
	register(genMatMul, ir.KMatMul)
	register(genConvTranspose, ir.KConvTranspose2D)
}

func floatOnly(c *kctx) error {
	for i := range c.node.Inputs {
		if !c.in(i).DType.IsFloat() {
			return fmt.Errorf("integer %s is not supported by the generated kernels yet", c.node.Op.Kind())
		}
	}
	return nil
}

// genGemm: y = alpha·op(a)·op(b) + beta·c, rows split across the pool.
func genGemm(c *kctx) error {
	if err := floatOnly(c); err != nil {
		return err
	}
	g := c.node.Op.(*ir.Gemm)
	a, y := c.in(0).Shape, c.out(0).Shape
	k := a[1]
	// Element (i, p) of op(a) and (p, j) of op(b), as index expressions.
	aIdx, bIdx := "i*K+p", "p*N+j"
	if g.TransA {
		k, aIdx = a[0], "p*M+i"
	}
	if g.TransB {
		bIdx = "j*K+p"
	}
	c.line("const Alpha, Beta = $A, $B", "A", constLit(g.Alpha), "B", constLit(g.Beta))
	c.line("M, N, K := $M, $N, $K", "M", dimExpr(y[0]), "N", dimExpr(y[1]), "K", dimExpr(k))
	c.line("_, _ = M, Beta")
	var cs []string
	if len(c.node.Inputs) == 3 {
		cs = broadcastStrides(c.in(2).Shape, y)
	}
	c.parallel(dimExpr(y[0]), 4)
	c.line("for i := lo; i < hi; i++ {")
	c.line("for j := 0; j < N; j++ {")
	c.line("var acc float64")
	c.line("for p := 0; p < K; p++ {")
	c.line("acc += float64(i0[$AI]) * float64(i1[$BI])", "AI", aIdx, "BI", bIdx)
	c.line("}")
	if cs != nil {
		c.line("o0[i*N+j] = float32(Alpha*acc + Beta*float64(i2[i*($CI)+j*($CJ)]))", "CI", cs[0], "CJ", cs[1])
	} else {
		c.line("o0[i*N+j] = float32(Alpha * acc)")
	}
	c.line("}")
	c.line("}")
	return nil
}

// genMatMul: numpy matmul, 1-D operands promoted, batch dims broadcast;
// each matrix product runs rows i, then p, with a float64 row of the
// result.
func genMatMul(c *kctx) error {
	if err := floatOnly(c); err != nil {
		return err
	}
	as, bs := c.in(0).Shape, c.in(1).Shape
	if as.Rank() == 1 {
		as = ir.Shape{ir.D(1), as[0]}
	}
	if bs.Rank() == 1 {
		bs = ir.Shape{bs[0], ir.D(1)}
	}
	m, k, n := as[as.Rank()-2], as[as.Rank()-1], bs[bs.Rank()-1]
	if n.A != 0 {
		return fmt.Errorf("matmul with a batch-dependent number of columns (%s) is not supported by the generated kernels yet", n)
	}
	// Batch dims of the result, and matrix strides of a and b over them.
	ab, bb := as[:as.Rank()-2], bs[:bs.Rank()-2]
	r := max(ab.Rank(), bb.Rank())
	ob := make(ir.Shape, r)
	for i := range ob {
		ob[i] = ir.D(1)
		if j := i - (r - ab.Rank()); j >= 0 && ab[j] != ir.D(1) {
			ob[i] = ab[j]
		}
		if j := i - (r - bb.Rank()); j >= 0 && bb[j] != ir.D(1) {
			ob[i] = bb[j]
		}
	}
	c.line("const N = $N", "N", n.B)
	c.line("M, K := $M, $K", "M", dimExpr(m), "K", dimExpr(k))
	c.line("mm := func(y, a, b []float32) {")
	c.line("var acc [N]float64")
	c.line("for i := 0; i < M; i++ {")
	c.line("acc = [N]float64{}")
	c.line("for p := 0; p < K; p++ {")
	c.line("av := float64(a[i*K+p])")
	c.line("for j, bv := range b[p*N : (p+1)*N] {")
	c.line("acc[j] += av * float64(bv)")
	c.line("}")
	c.line("}")
	c.line("for j, v := range acc {")
	c.line("y[i*N+j] = float32(v)")
	c.line("}")
	c.line("}")
	c.line("}")
	if r == 0 {
		c.line("mm(o0, i0, i1)")
		return nil
	}
	sa, sb := broadcastStrides(ab, ob), broadcastStrides(bb, ob)
	c.line("o := 0")
	for d := 0; d < r; d++ {
		c.line("for d$D, pa$D, pb$D := 0, $PA, $PB; d$D < $S; d$D, pa$D, pb$D = d$D+1, pa$D+$SA, pb$D+$SB {",
			"D", d, "S", dimExpr(ob[d]), "SA", sa[d], "SB", sb[d], "PA", prev("pa", d), "PB", prev("pb", d))
	}
	c.line("mm(o0[o*M*N:(o+1)*M*N], i0[pa$L*M*K:(pa$L+1)*M*K], i1[pb$L*K*N:(pb$L+1)*K*N])", "L", r-1)
	c.line("o++")
	for d := 0; d < r; d++ {
		c.line("}")
	}
	return nil
}

// genConvTranspose: one output plane per work item, gathering from the
// input channels of its group, as the evaluator does.
func genConvTranspose(c *kctx) error {
	if err := floatOnly(c); err != nil {
		return err
	}
	cv := c.node.Op.(*ir.ConvTranspose2D)
	x, w, y := c.in(0).Shape, c.in(1).Shape, c.out(0).Shape
	c.line("const CI, H, W, CO, KH, KW, OH, OW = $CI, $H, $W, $CO, $KH, $KW, $OH, $OW",
		"CI", x[1].B, "H", x[2].B, "W", x[3].B, "CO", y[1].B, "KH", w[2].B, "KW", w[3].B, "OH", y[2].B, "OW", y[3].B)
	c.line("const CIG, COG = CI / $G, CO / $G", "G", cv.Groups)
	c.windowConsts(cv.Stride, cv.Pad, cv.Dilation)
	c.parallel(fmt.Sprintf("%s*%d", dimExpr(x[0]), y[1].B), 1)
	c.line("var acc [OH * OW]float64")
	c.line("for pl := lo; pl < hi; pl++ {")
	c.line("b, ch := pl/CO, pl%CO")
	c.line("gi, oc := ch/COG, ch%COG")
	if len(c.node.Inputs) == 3 {
		c.line("bias := float64(i2[ch])")
	} else {
		c.line("var bias float64")
	}
	c.line("for i := range acc {")
	c.line("acc[i] = bias")
	c.line("}")
	c.line("for cc := 0; cc < CIG; cc++ {")
	c.line("cin := gi*CIG + cc")
	c.line("plane := i0[(b*CI+cin)*H*W:][:H*W]")
	c.line("taps := i1[(cin*COG+oc)*KH*KW:][:KH*KW]")
	c.line("for iy := 0; iy < H; iy++ {")
	c.line("for ix := 0; ix < W; ix++ {")
	c.line("v := float64(plane[iy*W+ix])")
	c.line("for i := 0; i < KH; i++ {")
	c.line("oy := iy*SH - PT + i*DH")
	c.line("if oy < 0 || oy >= OH {")
	c.line("continue")
	c.line("}")
	c.line("for j := 0; j < KW; j++ {")
	c.line("if ox := ix*SW - PL + j*DW; ox >= 0 && ox < OW {")
	c.line("acc[oy*OW+ox] += v * float64(taps[i*KW+j])")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("dst := o0[pl*OH*OW : (pl+1)*OH*OW]")
	c.line("for i, v := range acc {")
	c.line("dst[i] = float32(v)")
	c.line("}")
	c.line("}")
	return nil
}
