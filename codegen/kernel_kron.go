package codegen

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/ir"
)

// Kronecker-factored kernels: phm_linear and phc_conv2d run on their
// factors, never materialising W = Σ_r A_r ⊗ F_r (docs/algorithms.md §4),
// so the package embeds and streams R·(m1·n1 + m2·n2·taps) weights
// instead of the dense m1·m2·n1·n2·taps.
//
// Which one runs is a per-shape rule (phmExec): a PHM layer saves weight
// traffic, not arithmetic, and pays a second pass (the mix by A), so a
// layer whose dense weight stays in cache (≤ kronDenseBytes), or whose
// factored form costs over twice the dense MACs (R terms ≫ n1), runs as a
// dense linear on W materialised when the package is built, and a larger
// one, memory-bound at small batches, runs factored. phm_linear's exec
// attribute overrides the rule (the kronecker pass's execution option).
// phc_conv2d always runs factored.

// kronDenseBytes is the largest dense weight the rule materialises: about
// one core's L2, where W stays between calls and the factored kernel's
// saving of memory traffic is worth nothing.
const kronDenseBytes = 1 << 20

// phmExec is how a phm_linear runs: ir.ExecFactored or ir.ExecDense.
func phmExec(n *ir.Node, k ir.Kron) string {
	o := n.Op.(*ir.PHMLinear)
	if o.Exec != ir.ExecAuto {
		return o.Exec
	}
	if o.Scaled || !denseConst(n.Inputs[1]) || !denseConst(n.Inputs[2]) {
		return ir.ExecFactored
	}
	if 4*k.Out()*k.In() <= kronDenseBytes || k.MACs() > 2*k.Out()*k.In() {
		return ir.ExecDense
	}
	return ir.ExecFactored
}

// denseConst: v is a float constant stored element by element.
func denseConst(v *ir.Value) bool { return v.IsConst() && !v.Const.Splat }

func init() {
	register(genPHMLinear, ir.KPHMLinear)
	register(genPHCConv2D, ir.KPHCConv2D)
}

// kronParams names a factored node's parameters: its scale, bias and
// residual ("" when absent), after x, a and s (i0, i1, i2).
type kronParams struct{ scale, bias, resid string }

func kronParamsOf(n *ir.Node) kronParams {
	var p kronParams
	scale, bias, resid := ir.KronInputs(n)
	next := 3
	take := func(v *ir.Value) string {
		if v == nil {
			return ""
		}
		next++
		return fmt.Sprintf("i%d", next-1)
	}
	p.scale = take(scale)
	p.bias = take(bias)
	p.resid = take(resid)
	return p
}

// store emits dst = act(v·scale[ch] + bias[ch] + residual[idx]).
func (p kronParams) store(c *kctx, act func(string) string, dst, ch, idx string) {
	if p.scale != "" {
		c.line("v *= $S[$C]", "S", p.scale, "C", ch)
	}
	if p.bias != "" {
		c.line("v += $B[$C]", "B", p.bias, "C", ch)
	}
	if p.resid != "" {
		c.line("v += $R[$I]", "R", p.resid, "I", idx)
	}
	c.line("$D = $A", "D", dst, "A", act("v"))
}

// genPHMLinear is the factored linear as two passes (§4, "batched
// tokens"). Each row x is X[n1][n2]; stacking the rows' X gives a
// (rows·n1)×n2 matrix, and
//
//	Z = X_stack · F_stackᵀ,   F_stack[o·R + r][j] = F_r[o][j]
//
// is one GEMM on the layer's own GEMM kernels (the pure-Go one and the
// targets' Linear kernels, through the same tier switch as linear): it
// reads each F_r once per block of rows and uses it for n1 rows of each
// x, the memory-bound win. Then, per row,
//
//	y[p·m2 + o] = Σ_q Σ_r A_r[p][q] · Z[q][o·R + r]
//
// (m1·n1·R·m2 MACs, small beside the GEMM's n1·n2·R·m2: a fraction m1/n2;
// A is packed as Â[p][q][r] so that the mix reads it in order), with the
// scale, bias, residual and activation. F_stack interleaves the terms so that a
// chunk of whole panels covers every term of a range of o: the parallel
// items are (row block, chunk) pairs, each computing both passes.
func genPHMLinear(c *kctx) error {
	k, _ := ir.KronOf(c.node)
	x := c.in(0)
	rows, ok := x.Shape[:x.Shape.Rank()-1].NumelDim()
	if !ok {
		return fmt.Errorf("rows of %s are not affine in N", x.Shape)
	}
	if phmExec(c.node, k) == ir.ExecDense {
		return genPHMDense(c, k, rows)
	}
	zn := k.R * k.M2 // the GEMM's columns
	g := newGemmLayer(c, zn, k.N2, 2, "", isa.Epilogue{})
	R, m2, n2 := k.R, k.M2, k.N2
	c.packInput(2, fmt.Sprintf("kron%d_%s", R, g.name), func(s []float32) []float32 {
		w := make([]float32, len(s))
		for r := range R {
			for o := range m2 {
				copy(w[(o*R+r)*n2:(o*R+r+1)*n2], s[(r*m2+o)*n2:(r*m2+o+1)*n2])
			}
		}
		return gemm.Pack(g.p, w)
	})
	// A_r[p][q] as Â[p][q][r]: the mix reads a row's Q·R weights in order.
	m1, n1 := k.M1, k.N1
	c.packInput(1, fmt.Sprintf("kronA%dx%dx%d", R, m1, n1), func(a []float32) []float32 {
		t := make([]float32, len(a))
		for r := range R {
			for p := range m1 {
				for q := range n1 {
					t[(p*n1+q)*R+r] = a[(r*m1+p)*n1+q]
				}
			}
		}
		return t
	})
	pw, np := g.p.Panel(), g.p.Panels()
	cp := R / gcd(pw, R) // panels a chunk: its columns, lcm(PW, R), hold whole o
	nc := (np + cp - 1) / cp
	rb := max(1, gemm.RowBlock(k.N2, 0)/k.N1)
	z := c.scratchBuf(rows.MulInt(k.N1 * zn))
	p := kronParamsOf(c.node)
	c.line("const K, N, Q, J, ZN, RR, M1, M2 = $K, $N, $Q, $J, $ZN, $RR, $M1, $M2",
		"K", k.In(), "N", k.Out(), "Q", k.N1, "J", k.N2, "ZN", zn, "RR", R, "M1", k.M1, "M2", k.M2)
	c.line("const PW, NP, CP, NC, RB = $PW, $NP, $CP, $NC, $RB", "PW", pw, "NP", np, "CP", cp, "NC", nc, "RB", rb)
	c.line("rows := $R", "R", dimExpr(rows))
	c.parallel(fmt.Sprintf("(%s+%d)/%d*%d", dimExpr(rows), rb-1, rb, nc), 1)
	c.line("for it := lo; it < hi; it++ {")
	c.line("r0, ch := it/NC*RB, it%NC")
	c.line("r1 := min(rows, r0+RB)")
	c.line("q0, q1 := ch*CP, min(NP, (ch+1)*CP)")
	c.line("zb := $Z[r0*Q*ZN : r1*Q*ZN]", "Z", z)
	g.call(c, "(r1-r0)*Q", "q0", "q1", "zb", "i0[r0*K:r1*K]", "i2", "nil", nil)
	c.line("oa, ob := q0*PW/RR, min(M2, q1*PW/RR)")
	c.line("for row := r0; row < r1; row++ {")
	c.line("zr := zb[(row-r0)*Q*ZN:][:Q*ZN]")
	c.line("for pp := 0; pp < M1; pp++ {")
	if k.N1*R <= kronUnroll {
		// Unrolled: A's row in an array, one length check per block of Z.
		c.line("ap := (*[Q * RR]float32)(i1[pp*Q*RR:])")
		c.line("for o := oa; o < ob; o++ {")
		var terms []string
		for q := range k.N1 {
			c.line("z$Q := (*[RR]float32)(zr[$Q*ZN+o*RR:])", "Q", q)
			for r := range R {
				terms = append(terms, fmt.Sprintf("ap[%d]*z%d[%d]", q*R+r, q, r))
			}
		}
		c.line("v := $T", "T", strings.Join(terms, " + "))
	} else {
		c.line("ap := i1[pp*Q*RR:][:Q*RR]")
		c.line("for o := oa; o < ob; o++ {")
		c.line("var v float32")
		c.line("for q := 0; q < Q; q++ {")
		c.line("zq, aq := zr[q*ZN+o*RR:][:RR], ap[q*RR:][:RR]")
		c.line("for r, zv := range zq {")
		c.line("v += aq[r] * zv")
		c.line("}")
		c.line("}")
	}
	p.store(c, epilogueOf(c.node).act, "o0[row*N+pp*M2+o]", "pp*M2+o", "row*N+pp*M2+o")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}

// genPHMDense runs a phm_linear as a dense linear on W = Σ A_r ⊗ F_r,
// materialised and packed when the package is built (in place of F: the
// package holds W, not the factors): the loop of genLinear, the same GEMM
// kernels and epilogue. The kernel names A's constant in a comment, so
// that layers never share it, and with it the packing that reads A.
func genPHMDense(c *kctx, k ir.Kron, rows ir.Dim) error {
	a, sv := c.node.Inputs[1], c.node.Inputs[2]
	o := c.node.Op.(*ir.PHMLinear)
	if o.Scaled || !denseConst(a) || !denseConst(sv) {
		return fmt.Errorf("exec %q needs dense constant factors and no scale: not supported by codegen yet", ir.ExecDense)
	}
	p := kronParamsOf(c.node)
	e, _ := ir.EpilogueOf(c.node.Op)
	g := newGemmLayer(c, k.Out(), k.In(), 2, p.bias, isa.Epilogue{Act: e.Act, Resid: e.Residual})
	at, sshape := a.Const, sv.Const.Shape
	c.packInput(2, fmt.Sprintf("kronW(%s)_%s", a.Name, g.name), func(s []float32) []float32 {
		w64 := ir.KronSum(at, &ir.Tensor{DType: ir.F32, Shape: sshape, F: s})
		w := make([]float32, len(w64))
		for i, v := range w64 {
			w[i] = float32(v)
		}
		return gemm.Pack(g.p, w)
	})
	c.line("// W = Σ A_r ⊗ F_r, materialised at build time; A is $A.", "A", comment(a.Name))
	ep := epilogue{bias: p.bias, resid: p.resid, act: epilogueOf(c.node).act}
	rb := gemm.RowBlock(k.In(), 0)
	c.line("const K, N, PW, NP, RB = $K, $N, $PW, $NP, $RB", "K", k.In(), "N", k.Out(), "PW", g.p.Panel(), "NP", g.p.Panels(), "RB", rb)
	c.line("rows := $R", "R", dimExpr(rows))
	c.parallel(fmt.Sprintf("(%s+%d)/%d*%d", dimExpr(rows), rb-1, rb, g.p.Panels()), 1)
	c.line("nb := (rows + RB - 1) / RB")
	c.line("bs := ((rows+nb-1)/nb + 5) / 6 * 6")
	c.line("for it := lo; it < hi; {")
	c.line("rb, q0 := it/NP, it%NP")
	c.line("q1 := min(NP, q0+hi-it)")
	c.line("r0, r1 := min(rows, rb*bs), min(rows, (rb+1)*bs)")
	resid := "nil"
	if ep.resid != "" {
		resid = ep.resid + "[r0*N : r1*N]"
	}
	g.call(c, "r1-r0", "q0", "q1", "o0[r0*N:r1*N]", "i0[r0*K:r1*K]", "i2", resid, func() {
		if !ep.fused() {
			return
		}
		c.line("j0, j1 := q0*PW, min(q1*PW, N)")
		c.line("for r := r0; r < r1; r++ {")
		c.line("out := o0[r*N+j0 : r*N+j1]")
		c.line("for j, v := range out {")
		ep.store(c, "out[j]", "r*N+j0+j")
		c.line("}")
		c.line("}")
	})
	c.line("it += q1 - q0")
	c.line("}")
	return nil
}

// kronUnroll is the most terms n1·R of the mix written out unrolled.
const kronUnroll = 32

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// genPHCConv2D mixes the channel blocks first (§4, PHC convolutions): for
// each image, output block p and term r it forms x̃ = Σ_q A_r[p][q]·x_q
// (C' channels) in a scratch plane set, then convolves it with F_r
// (O'×C'×kh×kw) into the block's O' output channels — R·m1 convolutions
// of size O'×C', the dense convolution's MACs when R = n1, on the
// factors' weights only. The parallel items are (image, output block)
// pairs.
func genPHCConv2D(c *kctx) error {
	cv := c.node.Op.(*ir.PHCConv2D)
	k, _ := ir.KronOf(c.node)
	x, s, y := c.in(0).Shape, c.in(2).Shape, c.out(0).Shape
	p := kronParamsOf(c.node)
	items := x[0].MulInt(k.M1)
	mix := c.scratchBuf(items.MulInt(k.N2 * x[2].B * x[3].B))
	c.line("const H, W, KH, KW, OH, OW = $H, $W, $KH, $KW, $OH, $OW",
		"H", x[2].B, "W", x[3].B, "KH", s[3].B, "KW", s[4].B, "OH", y[2].B, "OW", y[3].B)
	c.line("const RR, M1, N1, OB, CB = $RR, $M1, $N1, $OB, $CB", "RR", k.R, "M1", k.M1, "N1", k.N1, "OB", k.M2, "CB", k.N2)
	c.windowConsts(cv.Stride, cv.Pad, cv.Dilation)
	c.parallel(dimExpr(items), 1)
	c.line("for it := lo; it < hi; it++ {")
	c.line("b, pp := it/M1, it%M1")
	c.line("xm := $S[it*CB*H*W : (it+1)*CB*H*W]", "S", mix)
	c.line("out := o0[(b*M1+pp)*OB*OH*OW : (b*M1+pp+1)*OB*OH*OW]")
	c.line("clear(out)")
	c.line("for r := 0; r < RR; r++ {")
	c.line("clear(xm)")
	c.line("for q := 0; q < N1; q++ {")
	c.line("a := i1[(r*M1+pp)*N1+q]")
	c.line("if a == 0 {")
	c.line("continue")
	c.line("}")
	c.line("xq := i0[(b*N1+q)*CB*H*W : (b*N1+q+1)*CB*H*W]")
	c.line("for i, v := range xq {")
	c.line("xm[i] += a * v")
	c.line("}")
	c.line("}")
	c.line("for o := 0; o < OB; o++ {")
	c.line("op := out[o*OH*OW : (o+1)*OH*OW]")
	c.line("for ci := 0; ci < CB; ci++ {")
	c.line("plane := xm[ci*H*W : (ci+1)*H*W]")
	c.line("wk := i2[((r*OB+o)*CB+ci)*KH*KW:][:KH*KW]")
	c.line("for kh := 0; kh < KH; kh++ {")
	c.line("for kw := 0; kw < KW; kw++ {")
	c.line("wv := wk[kh*KW+kw]")
	c.line("for oy := 0; oy < OH; oy++ {")
	c.line("iy := oy*SH - PT + kh*DH")
	c.line("if iy < 0 || iy >= H {")
	c.line("continue")
	c.line("}")
	c.line("row := plane[iy*W:][:W]")
	c.line("orow := op[oy*OW:][:OW]")
	c.line("for ox := range orow {")
	c.line("if ix := ox*SW - PL + kw*DW; ix >= 0 && ix < W {")
	c.line("orow[ox] += wv * row[ix]")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("}")
	c.line("for o := 0; o < OB; o++ {")
	c.line("op := out[o*OH*OW : (o+1)*OH*OW]")
	c.line("for j, v := range op {")
	p.store(c, epilogueOf(c.node).act, "op[j]", "pp*OB+o", "((b*M1+pp)*OB+o)*OH*OW+j")
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}
