package amd64

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/ir"
)

// emitAttention returns the isa.Attention kernel of tier for s: per
// (batch, head) item it packs K's rows into panels (negated, as
// gemm.Pack does, and scaled, so the scores come out scaled), computes
// the scores into a padded buffer with the GEMM microkernels, turns each
// row into probabilities with the softmax row kernel (causal positions
// set to −Inf first) and multiplies them by V, read in place, straight
// into the output. The caller checks that a head's width of V is a
// multiple of 16, so the last panel of PV never spills into the next
// head's columns.
func emitAttention(s isa.AttentionSpec, tierName string) isa.Kernel {
	T, S, D, Dv, H := s.T, s.S, s.D, s.Dv, s.H
	dh, dv := D/H, Dv/H
	pw1 := gemm.VectorPanel(S)
	p1 := (S + pw1 - 1) / pw1
	pw2 := 16
	for _, w := range []int{64, 48, 32} {
		if dv%w == 0 {
			pw2 = w
			break
		}
	}
	lanes := 16
	if tierName == tierAVX2.Name {
		lanes = 8
	}
	// Per item: K packed (p1 panels of dh×pw1), the scores (T rows of
	// p1·pw1), the probabilities (T×S).
	kpN, scN, prN := p1*dh*pw1, T*p1*pw1, T*S
	name := fmt.Sprintf("attn_t%d_s%d_d%d_dv%d_h%d", T, S, D, Dv, H)
	if s.Causal {
		name += "_causal"
	}
	name += "_" + tierName
	smName := name + "_softmax"
	var src strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&src, format+"\n", args...) }
	var fns []*Func
	var qk, pv string
	for _, t := range linearTiles(pw1) {
		if t.Tier == tierName {
			qk = name + "_qk"
			s, f := emitStrided(T, dh, pw1, p1, qk, t)
			src.WriteString(s + "\n")
			fns = append(fns, f...)
		}
	}
	for _, t := range linearTiles(pw2) {
		if t.Tier == tierName {
			pv = name + "_pv"
			s, f := emitStridedB(T, S, pw2, dv/pw2, Dv, pv, t)
			src.WriteString(s + "\n")
			fns = append(fns, f...)
		}
	}
	src.WriteString(softmaxDriver(smName, S, lanes) + "\n")
	fns = append(fns, softmax(smName+"_k", S, lanes))
	w("// %s computes items [lo, hi) (batch·H + head) of %s", name, ir.Describe(&ir.Attention{Heads: H, Causal: s.Causal, Scale: s.Scale}))
	w("// with the GEMM and softmax kernels, on %d floats of scratch per item.", kpN+scN+prN)
	w("func %s(lo, hi int, o, q, k, v, scratch []float32) {", name)
	w("const T, S, D, Dv, H, dh, dv = %d, %d, %d, %d, %d, %d, %d", T, S, D, Dv, H, dh, dv)
	w("const PW1, S1, PW2, Scale = %d, %d, %d, %s", pw1, p1*pw1, pw2, ir.FormatFloat(s.Scale))
	w("const KP, SC, PR = %d, %d, %d // scratch per item: packed K, scores, probabilities", kpN, scN, prN)
	w("for bh := lo; bh < hi; bh++ {")
	w("b, h := bh/H, bh%%H")
	w("item := scratch[bh*(KP+SC+PR) : (bh+1)*(KP+SC+PR)]")
	w("kpi, sci, pri := item[:KP], item[KP:KP+SC], item[KP+SC:]")
	// K packed in panels of PW1 columns, negated for the kernels and
	// scaled; d outer, so the stores run along the panel's rows.
	w("for p := 0; p < S1/PW1; p++ {")
	w("panel := kpi[p*dh*PW1 : (p+1)*dh*PW1]")
	w("s0, s1 := p*PW1, min((p+1)*PW1, S)")
	w("for d := 0; d < dh; d++ {")
	w("dst := panel[d*PW1 : (d+1)*PW1]")
	w("src := k[(b*S+s0)*D+h*dh+d:]")
	w("for j := range s1 - s0 {")
	w("dst[j] = -Scale * src[j*D]")
	w("}")
	w("clear(dst[s1-s0:])")
	w("}")
	w("}")
	w("%s(T, q[b*T*D+h*dh:], D, kpi, sci, S1)", qk)
	// The scores' rows (S1 floats apart) are copied into T×S
	// probabilities, causal positions set to −Inf (exp gives 0), and the
	// softmax row kernel runs on all T rows at once.
	w("for t := 0; t < T; t++ {")
	w("row := pri[t*S : (t+1)*S]")
	w("copy(row, sci[t*S1:t*S1+S])")
	if s.Causal {
		w("for s := t + 1; s < S; s++ {")
		w("row[s] = float32(math.Inf(-1))")
		w("}")
	}
	w("}")
	w("%s(0, T, pri, pri)", smName)
	// V is read in place (its rows Dv floats apart).
	w("%s(T, pri, S, v[b*S*Dv+h*dv:], o[b*T*Dv+h*dv:], Dv)", pv)
	w("}")
	w("}")
	k := kernel(isa.Attention, name, tierName, part{src.String(), fns, []string{gemmArgsDecl}})
	k.Scratch = kpN + scN + prN
	return k
}
