package codegen

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/ir"
)

// Data movement, pooling, embedding and attention kernels.

func init() {
	register(genTranspose, ir.KTranspose)
	register(genExpand, ir.KExpand)
	register(genCopy, ir.KReshape, ir.KFlatten)
	register(genConcat, ir.KConcat)
	register(genSplit, ir.KSplit)
	register(genEmbedding, ir.KEmbedding)
	register(genGlobalAvgPool, ir.KGlobalAvgPool)
	register(genAttention, ir.KAttention)
}

// rowStrides are expressions for the row-major strides of s.
func rowStrides(s ir.Shape) []string {
	st := make([]string, len(s))
	acc := []string{}
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = "1"
		if len(acc) > 0 {
			st[i] = strings.Join(acc, "*")
		}
		acc = append(acc, dimExpr(s[i]))
	}
	return st
}

// stridedCopy writes o0[o] = i0[base + Σ idx_d·st_d] over out's shape.
func stridedCopy(c *kctx, out ir.Shape, base string, st []string) {
	if len(out) == 0 {
		c.line("o0[0] = i0[$B]", "B", base)
		return
	}
	c.line("o := 0")
	for d := range out {
		start := base
		if d > 0 {
			start = fmt.Sprintf("p%d", d-1)
		}
		c.line("for d$D, p$D := 0, $P; d$D < $S; d$D, p$D = d$D+1, p$D+($T) {", "D", d, "P", start, "S", dimExpr(out[d]), "T", st[d])
	}
	c.line("o0[o] = i0[p$L]", "L", len(out)-1)
	c.line("o++")
	for range out {
		c.line("}")
	}
}

func genTranspose(c *kctx) error {
	perm := c.node.Op.(*ir.Transpose).Perm
	xs := rowStrides(c.in(0).Shape)
	st := make([]string, len(perm))
	for i, p := range perm {
		st[i] = xs[p]
	}
	stridedCopy(c, c.out(0).Shape, "0", st)
	return nil
}

func genSlice(c *kctx) error {
	x := c.in(0).Shape
	starts, _, steps, _, err := c.node.Op.(*ir.Slice).Resolve(x)
	if err != nil {
		return err
	}
	xs := rowStrides(x)
	base := []string{"0"}
	st := make([]string, len(x))
	for i := range x {
		if starts[i] != 0 {
			base = append(base, fmt.Sprintf("%d*(%s)", starts[i], xs[i]))
		}
		st[i] = fmt.Sprintf("%d*(%s)", steps[i], xs[i])
	}
	stridedCopy(c, c.out(0).Shape, strings.Join(base, "+"), st)
	return nil
}

func genExpand(c *kctx) error {
	stridedCopy(c, c.out(0).Shape, "0", broadcastStrides(c.in(0).Shape, c.out(0).Shape))
	return nil
}

func genCopy(c *kctx) error {
	c.line("copy(o0[:$N], i0)", "N", numelExpr(c.out(0).Shape))
	return nil
}

func genPad(c *kctx) error {
	p := c.node.Op.(*ir.Pad)
	x, y := c.in(0).Shape, c.out(0).Shape
	r := x.Rank()
	c.line("o0 = o0[:$N]", "N", numelExpr(y))
	c.line("for i := range o0 {")
	if c.in(0).DType.IsFloat() {
		c.line("o0[i] = float32($V)", "V", floatLit(p.Value))
	} else { // integers and bools, held as int64
		c.line("o0[i] = $V", "V", int64(p.Value))
	}
	c.line("}")
	ys := rowStrides(y)
	// Walk the input; each element lands at its index shifted by the
	// begin pads, unless a negative pad cropped it.
	c.line("i := 0")
	for d := 0; d < r; d++ {
		c.line("for d$D := 0; d$D < $S; d$D++ {", "D", d, "S", dimExpr(x[d]))
		c.line("j$D := d$D + $P", "D", d, "P", p.Pads[d])
	}
	var conds, offs []string
	for d := 0; d < r; d++ {
		conds = append(conds, fmt.Sprintf("j%d >= 0 && j%d < %s", d, d, dimExpr(y[d])))
		offs = append(offs, fmt.Sprintf("j%d*(%s)", d, ys[d]))
	}
	if r == 0 {
		c.line("o0[0] = i0[0]")
		return nil
	}
	c.line("if $C {", "C", strings.Join(conds, " && "))
	c.line("o0[$O] = i0[i]", "O", strings.Join(offs, "+"))
	c.line("}")
	c.line("i++")
	for d := 0; d < r; d++ {
		c.line("}")
	}
	return nil
}

// genConcat copies each input's rows into its column range of the output.
func genConcat(c *kctx) error {
	sizes := make([]int, len(c.node.Inputs))
	axis := normAxis(c.node.Op.(*ir.Concat).Axis, c.out(0).Shape.Rank())
	for i, v := range c.node.Inputs {
		sizes[i] = v.Type.Shape[axis].B
	}
	blockCopy(c, c.out(0).Shape, axis, sizes, "o0[(r*$T+$A)*inner:(r*$T+$A+$W)*inner]", "i$I[r*$W*inner:(r+1)*$W*inner]")
	return nil
}

// genSplit copies each column range of the input into its output.
func genSplit(c *kctx) error {
	sp := c.node.Op.(*ir.Split)
	axis := normAxis(sp.Axis, c.in(0).Shape.Rank())
	blockCopy(c, c.in(0).Shape, axis, sp.Sizes, "o$I[r*$W*inner:(r+1)*$W*inner]", "i0[(r*$T+$A)*inner:(r*$T+$A+$W)*inner]")
	return nil
}

// blockCopy emits, for each part i of the given sizes along axis of the
// whole shape, a row loop copying src to dst; the templates see $I (the
// part), $W (its size), $A (its start) and $T (the whole axis).
func blockCopy(c *kctx, whole ir.Shape, axis int, sizes []int, dst, src string) {
	c.line("outer := $O", "O", numelExpr(whole[:axis]))
	c.line("const inner = $I", "I", numelExpr(whole[axis+1:]))
	at := 0
	for i, w := range sizes {
		c.line("for r := 0; r < outer; r++ {")
		c.line("copy("+dst+", "+src+")", "T", whole[axis].B, "A", at, "W", w, "I", i)
		c.line("}")
		at += w
	}
}

func genEmbedding(c *kctx) error {
	t := c.in(1).Shape
	c.fallible = true
	c.line("const V, D = $V, $D", "V", t[0].B, "D", t[1].B)
	c.line("for i, id := range i0[:$N] {", "N", numelExpr(c.in(0).Shape))
	c.line("if id < 0 || id >= V {")
	c.line(`return fmt.Errorf("embedding: id %d at position %d is outside [0, %d)", id, i, V)`)
	c.line("}")
	c.line("copy(o0[i*D:(i+1)*D], i1[int(id)*D:int(id+1)*D])")
	c.line("}")
	c.line("return nil")
	return nil
}

func genGlobalAvgPool(c *kctx) error {
	if c.in(0).Layout == ir.NHWC {
		return genGlobalAvgPoolNHWC(c)
	}
	x := c.in(0).Shape
	c.line("const I = $I", "I", numelExpr(x[2:]))
	c.line("for p := 0; p < $P; p++ {", "P", numelExpr(x[:2]))
	c.line("var s float64")
	c.line("for _, v := range i0[p*I : (p+1)*I] {")
	c.line("s += float64(v)")
	c.line("}")
	c.line("o0[p] = float32(s / I)")
	c.line("}")
	return nil
}

// genAttention runs each (batch, head) pair on the pool: scores in
// float64, softmax, then the weighted sum of values.
func genAttention(c *kctx) error {
	a := c.node.Op.(*ir.Attention)
	q, k, v := c.in(0).Shape, c.in(1).Shape, c.in(2).Shape
	c.line("const T, S, D, Dv, H = $T, $S, $D, $Dv, $H", "T", q[1].B, "S", k[1].B, "D", q[2].B, "Dv", v[2].B, "H", a.Heads)
	c.line("const dh, dv, Scale = D / H, Dv / H, $SC", "SC", floatLit(a.Scale))
	c.parallel(fmt.Sprintf("%s*%d", dimExpr(q[0]), a.Heads), 1)
	spec := isa.AttentionSpec{T: q[1].B, S: k[1].B, D: q[2].B, Dv: v[2].B, H: a.Heads, Causal: a.Causal, Scale: a.Scale}
	ks := c.kernels(func(t isa.Target) []isa.Kernel { return t.Attention(spec) })
	if len(ks) > 0 {
		per := 0
		for _, k := range ks {
			per = max(per, k.k.Scratch)
		}
		scratch := c.scratchBuf(q[0].MulInt(a.Heads * per))
		c.dispatch(ks, func(name string) {
			c.line("$F(lo, hi, o0, i0, i1, i2, $S)", "F", name, "S", scratch)
			c.line("return")
		}, nil)
	}
	c.line("var row [S]float64")
	c.line("var acc [dv]float64")
	c.line("for bh := lo; bh < hi; bh++ {")
	c.line("b, h := bh/H, bh%H")
	c.line("for t := 0; t < T; t++ {")
	c.line("qr := i0[(b*T+t)*D+h*dh:][:dh]")
	c.line("m := math.Inf(-1)")
	c.line("for s := 0; s < S; s++ {")
	if a.Causal {
		c.line("if s > t {")
		c.line("row[s] = math.Inf(-1)")
		c.line("continue")
		c.line("}")
	}
	c.line("kr := i1[(b*S+s)*D+h*dh:][:dh]")
	c.line("var dot float64")
	c.line("for d, qv := range qr {")
	c.line("dot += float64(qv) * float64(kr[d])")
	c.line("}")
	c.line("row[s] = Scale * dot")
	c.line("if row[s] > m || row[s] != row[s] {")
	c.line("m = row[s]")
	c.line("}")
	c.line("}")
	c.line("var sum float64")
	c.line("for s := range row {")
	c.line("row[s] = math.Exp(row[s] - m)")
	c.line("sum += row[s]")
	c.line("}")
	c.line("acc = [dv]float64{}")
	c.line("for s, p := range row {")
	c.line("vr := i2[(b*S+s)*Dv+h*dv:][:dv]")
	c.line("for e, vv := range vr {")
	c.line("acc[e] += p * float64(vv)")
	c.line("}")
	c.line("}")
	c.line("dst := o0[(b*T+t)*Dv+h*dv:][:dv]")
	c.line("for e := range dst {")
	c.line("dst[e] = float32(acc[e] / sum)")
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}
