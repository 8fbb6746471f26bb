package codegen

import (
	"crypto/sha256"
	"fmt"

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

func init() {
	register(genQuantize, ir.KQuantize)
	register(genDequantize, ir.KDequantize)
	register(genRequantize, ir.KRequantize)
	register(genQLinear, ir.KQLinear)
	register(genQConv2D, ir.KQConv2D)
}

// qparams is a quantized type's format as a kernel applies it: scale,
// zero point and saturation range.
type qparams struct {
	scale  float64
	zp     int64
	lo, hi int64
}

func qparamsOf(t ir.Type) qparams {
	s, z := t.Quant.Affine()
	lo, hi := ir.QuantRange(t)
	return qparams{s, z, lo, hi}
}

// f32Lit is a float32 value as a Go expression.
func f32Lit(f float32) string { return fmt.Sprintf("float32(%s)", floatLit(float64(f))) }

func genQuantize(c *kctx) error {
	p := qparamsOf(c.out(0))
	c.line("for i, x := range i0[:$E] {", "E", numelExpr(c.out(0).Shape))
	c.line("o0[i] = int64(quant.Quantize(x, $S, $Z, $L, $H))", "S", f32Lit(float32(p.scale)), "Z", p.zp, "L", p.lo, "H", p.hi)
	c.line("}")
	return nil
}

func genDequantize(c *kctx) error {
	p := qparamsOf(c.in(0))
	c.line("for i, q := range i0[:$E] {", "E", numelExpr(c.out(0).Shape))
	c.line("o0[i] = quant.Dequantize(int32(q), $Z, $S)", "S", f32Lit(float32(p.scale)), "Z", p.zp)
	c.line("}")
	return nil
}

func genRequantize(c *kctx) error {
	po := qparamsOf(c.out(0))
	c.line("for i, q := range i0[:$E] {", "E", numelExpr(c.out(0).Shape))
	if c.in(0).Quant.IsZero() {
		// A plain integer takes the format as it is, saturated.
		c.line("o0[i] = quant.Clamp(q, $L, $H)", "L", po.lo, "H", po.hi)
	} else {
		pi := qparamsOf(c.in(0))
		m, err := quant.Encode(pi.scale / po.scale)
		if err != nil {
			return err
		}
		c.line("o0[i] = quant.Output(q-$ZI, quant.Multiplier{M0: $M0, S: $SH}, $ZO, $L, $H)",
			"ZI", pi.zp, "M0", m.M0, "SH", m.S, "ZO", po.zp, "L", po.lo, "H", po.hi)
	}
	c.line("}")
	return nil
}

// qlayerEp is what a qlinear or qconv2d kernel needs of its epilogue.
type qlayerEp struct {
	e    ir.QEpilogue
	x    qparams
	out  qparams
	mult []quant.Multiplier // canonical requantization, per output channel
	// table names mult in the package (named by its contents, so layers
	// with the same multipliers share one).
	table string
}

// newQLayerEp checks what the generated epilogue supports and prepares
// the canonical multipliers at build time (from the weight scales, a
// constant).
func newQLayerEp(c *kctx) (*qlayerEp, error) {
	e, _ := ir.QEpilogueOf(c.node.Op)
	q := &qlayerEp{e: e, x: qparamsOf(c.in(0)), out: qparamsOf(c.out(0))}
	if e.Act == "relu" {
		q.out.lo = max(q.out.lo, q.out.zp)
	}
	toInt := c.out(0).DType != ir.F32 && c.out(0).DType != ir.I32
	if toInt && e.Requant == "" {
		ws := c.node.Inputs[2]
		if !isDenseConst(ws) {
			return nil, fmt.Errorf("weight scales fed at run time: canonical requantization is not supported by codegen yet")
		}
		for j, s := range ws.Const.Dense().F {
			m, err := ir.LayerMultiplier(q.x.scale, s, q.out.scale)
			if err != nil {
				return nil, fmt.Errorf("output channel %d: %w", j, err)
			}
			q.mult = append(q.mult, m)
		}
		q.table = fmt.Sprintf("qmul_%x", sha256.Sum256([]byte(fmt.Sprint(q.mult))))[:5+12]
		c.helper(q.table, q.multDecl(q.table))
	}
	return q, nil
}

func (q *qlayerEp) multDecl(name string) string {
	s := fmt.Sprintf("// %s are the canonical requantization multipliers of each output channel.\nvar %s = [...]quant.Multiplier{", name, name)
	for i, m := range q.mult {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("{M0: %d, S: %d}", m.M0, m.S)
	}
	return s + "}\n"
}

// store emits dst = the epilogue of acc (an int64) for output channel j
// (expression), as ir's qEpilogue.apply computes it.
func (q *qlayerEp) store(c *kctx, dst, j string) {
	if q.e.Acc == 32 {
		c.line("acc = int64(int32(acc))")
	}
	o := q.out
	switch {
	case c.out(0).DType == ir.F32:
		c.line("v := float32(acc) * float32($SX*float64(i2[$J]))", "SX", floatLit(q.x.scale), "J", j)
		if q.e.Act == "relu" {
			c.line("v = max(v, 0)")
		}
		c.line("$D = v", "D", dst)
	case c.out(0).DType == ir.I32:
		c.line("$D = int64(int32(acc))", "D", dst)
	case q.e.Requant == "float":
		c.line("$D = int64(quant.RequantFloat(int32(acc), quant.FloatScale($SX, i2[$J], $SY), $Z, $L, $H))",
			"D", dst, "SX", f32Lit(float32(q.x.scale)), "SY", f32Lit(float32(o.scale)), "J", j, "Z", o.zp, "L", o.lo, "H", o.hi)
	default:
		c.line("$D = quant.Output(acc, $T[$J], $Z, $L, $H)", "D", dst, "T", q.table, "J", j, "Z", o.zp, "L", o.lo, "H", o.hi)
	}
}

// accInit starts output channel j's accumulator at its bias (input 3),
// or 0.
func accInit(c *kctx, j string) {
	if len(c.node.Inputs) == 4 {
		c.line("acc := i3[$J]", "J", j)
		return
	}
	c.line("acc := int64(0)")
}

// genQLinear is the integer linear layer: Σ_k (x_k − Z_x)·w_jk + b_j
// exactly in int64, then the epilogue. The parallel items are blocks of
// output channels whose weight rows fit L1 together; each row of x is
// read once a block (not once a channel) and each weight row once a
// call.
func genQLinear(c *kctx) error {
	w := c.in(1)
	q, err := newQLayerEp(c)
	if err != nil {
		return err
	}
	if qgemmFits(c) {
		return genQLinearGemm(c, q)
	}
	k, nOut := w.Shape[1].B, w.Shape[0].B
	x := c.in(0)
	rows, ok := x.Shape[:x.Shape.Rank()-1].NumelDim()
	if !ok {
		return fmt.Errorf("rows of %s are not affine in N", x.Shape)
	}
	jb := min(16, max(1, 4096/max(k, 1))) // 32 KiB of int64 weights
	c.line("const K, N, JB = $K, $N, $JB", "K", k, "N", nOut, "JB", jb)
	c.line("rows := $R", "R", dimExpr(rows))
	c.parallel(itoa((nOut+jb-1)/jb), 1)
	c.line("for b := lo; b < hi; b++ {")
	c.line("j0, j1 := b*JB, min(N, (b+1)*JB)")
	c.line("for r := 0; r < rows; r++ {")
	c.line("x := i0[r*K:][:K]")
	c.line("for j := j0; j < j1; j++ {")
	c.line("w := i1[j*K:][:K]")
	accInit(c, "j")
	c.line("for i, wv := range w {")
	if q.x.zp == 0 {
		c.line("acc += x[i] * wv")
	} else {
		c.line("acc += (x[i] - $Z) * wv", "Z", q.x.zp)
	}
	c.line("}")
	q.store(c, "o0[r*N+j]", "j")
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}

// genQConv2D is the integer direct convolution on NCHW: per (image,
// output channel) (the parallel items), each output pixel's window
// accumulated exactly in int64, padding contributing Z_x (zero), then
// the epilogue.
func genQConv2D(c *kctx) error {
	cv := c.node.Op.(*ir.QConv2D)
	q, err := newQLayerEp(c)
	if err != nil {
		return err
	}
	xs, ws, ys := c.in(0).Shape, c.in(1).Shape, c.out(0).Shape
	C, H, W := xs[1].B, xs[2].B, xs[3].B
	O, CG, KH, KW := ws[0].B, ws[1].B, ws[2].B, ws[3].B
	OH, OW := ys[2].B, ys[3].B
	c.line("const C, H, W, O, CG, KH, KW, OH, OW, OG = $C, $H, $W, $O, $CG, $KH, $KW, $OH, $OW, $OG",
		"C", C, "H", H, "W", W, "O", O, "CG", CG, "KH", KH, "KW", KW, "OH", OH, "OW", OW, "OG", O/cv.Groups)
	c.parallel(dimExpr(xs[0])+"*"+itoa(O), 1)
	c.line("for no := lo; no < hi; no++ {")
	c.line("b, o := no/O, no%O")
	c.line("g := o / OG")
	c.line("for oy := 0; oy < OH; oy++ {")
	c.line("for ox := 0; ox < OW; ox++ {")
	accInit(c, "o")
	c.line("for ci := 0; ci < CG; ci++ {")
	c.line("plane := i0[(b*C+g*CG+ci)*H*W:][:H*W]")
	c.line("wk := i1[(o*CG+ci)*KH*KW:][:KH*KW]")
	c.line("for kh := 0; kh < KH; kh++ {")
	c.line("iy := oy*$SH - $PT + kh*$DH", "SH", cv.Stride[0], "PT", cv.Pad[0], "DH", cv.Dilation[0])
	c.line("if iy < 0 || iy >= H {")
	c.line("continue")
	c.line("}")
	c.line("for kw := 0; kw < KW; kw++ {")
	c.line("ix := ox*$SW - $PL + kw*$DW", "SW", cv.Stride[1], "PL", cv.Pad[1], "DW", cv.Dilation[1])
	c.line("if ix >= 0 && ix < W {")
	c.line("acc += (plane[iy*W+ix] - $Z) * wk[kh*KW+kw]", "Z", q.x.zp)
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	q.store(c, "o0[(no*OH+oy)*OW+ox]", "o")
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}
