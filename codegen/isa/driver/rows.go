package driver

import (
	"fmt"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/ir"
)

// EWArgs declares the parameter block of the element-wise kernels.
const EWArgs = `// ewArgs is the parameter block of the element-wise kernels (offsets
// fixed in the assembly: dst 0, a 8, b 16, vectors 24, s 32, t 36).
type ewArgs struct {
	dst, a, b unsafe.Pointer
	vectors   int
	s, t      float32 // affine: dst = a·s + t
}
`

// LNArgs declares the parameter block of the layernorm kernels.
const LNArgs = `// lnArgs is the parameter block of the layernorm row kernels (offsets
// fixed in the assembly: src 0, dst 8, gamma 16, beta 24, rows 32, eps 40,
// 1/I 44, one 48).
type lnArgs struct {
	src, dst, gamma, beta unsafe.Pointer
	rows                  int
	eps, invI, one        float32
}
`

// Elementwise returns the isa.Elementwise kernel name(dst, a, b
// []float32, s, t float32) int, which runs op's microkernel name_k
// (func(a *ewArgs): op over a.vectors whole vectors of lanes floats) on
// dst's whole vectors and returns how many elements it did.
func Elementwise(name, op string, lanes int) string {
	extra := ""
	switch op {
	case "relu":
	case "affine":
		extra = "args.s, args.t = s, t\n"
	default:
		extra = "_ = b[n-1]\nargs.b = unsafe.Pointer(&b[0])\n"
	}
	return fmt.Sprintf(`// %[1]s runs element-wise %[2]s on dst's whole vectors of %[3]d floats and returns how many elements it did.
func %[1]s(dst, a, b []float32, s, t float32) int {
n := len(dst) / %[3]d * %[3]d
if n == 0 {
return 0
}
_ = a[n-1]
args := ewArgs{dst: unsafe.Pointer(&dst[0]), a: unsafe.Pointer(&a[0]), vectors: n / %[3]d}
%[4]s%[1]s_k(&args)
return n
}
`, name, op, lanes, extra)
}

// LayerNorm returns the isa.LayerNorm kernel name(lo, hi int, dst, x, g,
// b []float32, eps float32), which runs rows [lo, hi) of s.I floats on
// the microkernel name_k (func(a *lnArgs)); a plain kernel (s.Plain)
// reads neither g nor b.
func LayerNorm(name string, s isa.LayerNormSpec) string {
	b, g, gamma := "", ", g[I-1]", "gamma: unsafe.Pointer(&g[0]), "
	if s.Beta && !s.Plain {
		b = "_ = b[I-1]\na.beta = unsafe.Pointer(&b[0])\n"
	}
	if s.Plain {
		g, gamma = "", ""
	}
	blanks := "_, _"
	if g != "" {
		blanks += ", _"
	}
	return fmt.Sprintf(`// %[1]s runs rows [lo, hi) of a layernorm over %[2]d floats.
func %[1]s(lo, hi int, dst, x, g, b []float32, eps float32) {
const I = %[2]d
if lo >= hi {
return
}
%[5]s = dst[hi*I-1], x[hi*I-1]%[4]s
a := lnArgs{src: unsafe.Pointer(&x[lo*I]), dst: unsafe.Pointer(&dst[lo*I]), %[6]srows: hi - lo, eps: eps, invI: 1.0 / I, one: 1}
%[3]s%[1]s_k(&a)
}
`, name, s.I, b, g, blanks, gamma)
}

// Softmax returns the isa.Softmax kernel name(lo, hi int, dst, x
// []float32), which runs rows [lo, hi) of l floats on the microkernel
// name_k (func(src, dst *float32, rows int, consts *float32, tail
// *int32), consts numerics.ExpVec); with mask, tail points at lanes
// int32s, −1 in the lanes of the row's last partial vector.
func Softmax(name string, l, lanes int, mask bool) string {
	call := "%[1]s_k(&x[lo*L], &dst[lo*L], hi-lo, &numerics.ExpVec[0][0], nil)"
	if mask {
		call = `var tail [` + fmt.Sprint(lanes) + `]int32
for i := range L %% ` + fmt.Sprint(lanes) + ` {
tail[i] = -1
}
%[1]s_k(&x[lo*L], &dst[lo*L], hi-lo, &numerics.ExpVec[0][0], &tail[0])`
	}
	return fmt.Sprintf(`// %[1]s runs rows [lo, hi) of a softmax over %[2]d floats.
func %[1]s(lo, hi int, dst, x []float32) {
const L = %[2]d
if lo >= hi {
return
}
_, _ = dst[hi*L-1], x[hi*L-1]
`+call+`
}
`, name, l)
}

// AttentionShape is what the attention driver and its parts need: the
// panel widths of packed K (PW1, over S) and of V's head slices (PW2),
// and the per-item scratch.
type AttentionShape struct {
	isa.AttentionSpec
	PW1, P1, PW2 int
}

// NewAttentionShape lays out attention s: K packed in panels of
// gemm.VectorPanel(S) columns, V read in panels of the widest of 64, 48,
// 32 and 16 that divides a head's width (the caller checks one does).
func NewAttentionShape(s isa.AttentionSpec) AttentionShape {
	a := AttentionShape{AttentionSpec: s, PW1: gemm.VectorPanel(s.S), PW2: 16}
	a.P1 = (s.S + a.PW1 - 1) / a.PW1
	for _, w := range []int{64, 48, 32} {
		if (s.Dv/s.H)%w == 0 {
			a.PW2 = w
			break
		}
	}
	return a
}

// Scratch is the floats of scratch one item needs: K packed (P1 panels of
// dh×PW1), the scores (T rows of P1·PW1), the probabilities (T×S).
func (a AttentionShape) Scratch() (kp, sc, pr int) {
	return a.P1 * (a.D / a.H) * a.PW1, a.T * a.P1 * a.PW1, a.T * a.S
}

// Attention returns the isa.Attention kernel name(lo, hi int, o, q, k, v,
// scratch []float32): per (batch, head) item it packs K's rows into
// panels (negated, as gemm.Pack does, and scaled, so the scores come out
// scaled), computes the scores into a padded buffer with qk (a Strided
// driver over the packed K), turns each row into probabilities with
// softmax (a Softmax driver over S; causal positions set to −Inf first)
// and multiplies them by V, read in place, with pv (a Strided driver
// with ldb = Dv), straight into the output.
func Attention(a AttentionShape, name, qk, pv, softmax string) string {
	kpN, scN, prN := a.Scratch()
	dh, dv := a.D/a.H, a.Dv/a.H
	var w writer
	w.f("// %s computes items [lo, hi) (batch·H + head) of %s", name, ir.Describe(&ir.Attention{Heads: a.H, Causal: a.Causal, Scale: a.Scale}))
	w.f("// with the GEMM and softmax kernels, on %d floats of scratch per item.", kpN+scN+prN)
	w.f("func %s(lo, hi int, o, q, k, v, scratch []float32) {", name)
	w.f("const T, S, D, Dv, H, dh, dv = %d, %d, %d, %d, %d, %d, %d", a.T, a.S, a.D, a.Dv, a.H, dh, dv)
	w.f("const PW1, S1, PW2, Scale = %d, %d, %d, %s", a.PW1, a.P1*a.PW1, a.PW2, ir.FormatFloat(a.Scale))
	w.f("const KP, SC, PR = %d, %d, %d // scratch per item: packed K, scores, probabilities", kpN, scN, prN)
	w.f("for bh := lo; bh < hi; bh++ {")
	w.f("b, h := bh/H, bh%%H")
	w.f("item := scratch[bh*(KP+SC+PR) : (bh+1)*(KP+SC+PR)]")
	w.f("kpi, sci, pri := item[:KP], item[KP:KP+SC], item[KP+SC:]")
	// K packed in panels of PW1 columns, negated for the kernels and
	// scaled; d outer, so the stores run along the panel's rows.
	w.f("for p := 0; p < S1/PW1; p++ {")
	w.f("panel := kpi[p*dh*PW1 : (p+1)*dh*PW1]")
	w.f("s0, s1 := p*PW1, min((p+1)*PW1, S)")
	w.f("for d := 0; d < dh; d++ {")
	w.f("dst := panel[d*PW1 : (d+1)*PW1]")
	w.f("src := k[(b*S+s0)*D+h*dh+d:]")
	w.f("for j := range s1 - s0 {")
	w.f("dst[j] = -Scale * src[j*D]")
	w.f("}")
	w.f("clear(dst[s1-s0:])")
	w.f("}")
	w.f("}")
	w.f("%s(T, q[b*T*D+h*dh:], D, kpi, sci, S1)", qk)
	// The scores' rows (S1 floats apart) are copied into T×S
	// probabilities, causal positions set to −Inf (exp gives 0), and the
	// softmax runs on all T rows at once.
	w.f("for t := 0; t < T; t++ {")
	w.f("row := pri[t*S : (t+1)*S]")
	w.f("copy(row, sci[t*S1:t*S1+S])")
	if a.Causal {
		w.f("for s := t + 1; s < S; s++ {")
		w.f("row[s] = float32(math.Inf(-1))")
		w.f("}")
	}
	w.f("}")
	w.f("%s(0, T, pri, pri)", softmax)
	// V is read in place (its rows Dv floats apart).
	w.f("%s(T, pri, S, v[b*S*Dv+h*dv:], o[b*T*Dv+h*dv:], Dv)", pv)
	w.f("}")
	w.f("}")
	return w.String()
}
