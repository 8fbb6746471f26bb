package driver

import (
	"fmt"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver/drivers"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Elementwise returns the isa.Elementwise kernel name(dst, a, b
// []float32, s, t float32) int, which runs op's microkernel name_k
// (func(a *ewArgs): op over a.vectors whole vectors of lanes floats) on
// dst's whole vectors and returns how many elements it did.
func Elementwise(name, op string, lanes int) string {
	doc := fmt.Sprintf("// %s runs element-wise %s on dst's whole vectors of %d floats and returns how many elements it did.\n", name, op, lanes)
	return function(doc, name, "Elementwise", tmpl.Binding{Shape: drivers.ElementwiseShape{Lanes: lanes, Op: op},
		Hooks: map[string]tmpl.Hook{"Micro": tmpl.Call{Func: name + "_k"}}})
}

// LayerNorm returns the isa.LayerNorm kernel name(lo, hi int, dst, x, g,
// b []float32, eps float32), which runs rows [lo, hi) of s.I floats on
// the microkernel name_k (func(a *lnArgs)); a plain kernel (s.Plain)
// reads neither g nor b.
func LayerNorm(name string, s isa.LayerNormSpec) string {
	doc := fmt.Sprintf("// %s runs rows [lo, hi) of a layernorm over %d floats.\n", name, s.I)
	return function(doc, name, "LayerNorm", tmpl.Binding{Shape: drivers.LayerNormShape{I: s.I, Beta: s.Beta, Plain: s.Plain},
		Hooks: map[string]tmpl.Hook{"Micro": tmpl.Call{Func: name + "_k"}}})
}

// Softmax returns the isa.Softmax kernel name(lo, hi int, dst, x
// []float32), which runs rows [lo, hi) of l floats on the microkernel
// name_k (func(src, dst *float32, rows int, consts *float32, tail
// *int32), consts numerics.ExpVec); with mask, tail points at lanes
// int32s, −1 in the lanes of the row's last partial vector.
func Softmax(name string, l, lanes int, mask bool) string {
	doc := fmt.Sprintf("// %s runs rows [lo, hi) of a softmax over %d floats.\n", name, l)
	return function(doc, name, "Softmax", tmpl.Binding{Shape: drivers.SoftmaxShape{L: l, Lanes: lanes, Mask: mask},
		Hooks: map[string]tmpl.Hook{"Micro": tmpl.Call{Func: name + "_k"}}})
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
// scratch []float32) (drivers.Attention) on qk (a Strided driver over the
// packed K), softmax (a Softmax driver over S) and pv (a Strided driver
// with ldb = Dv).
func Attention(a AttentionShape, name, qk, pv, softmax string) string {
	kpN, scN, prN := a.Scratch()
	doc := fmt.Sprintf("// %s computes items [lo, hi) (batch·H + head) of %s\n// with the GEMM and softmax kernels, on %d floats of scratch per item.\n",
		name, ir.Describe(&ir.Attention{Heads: a.H, Causal: a.Causal, Scale: a.Scale}), kpN+scN+prN)
	sh := drivers.AttentionShape{T: a.T, S: a.S, D: a.D, Dv: a.Dv, H: a.H, Scale: a.Scale, Causal: a.Causal,
		PW1: a.PW1, P1: a.P1, PW2: a.PW2, KP: kpN, SC: scN, PR: prN}
	return function(doc, name, "Attention", tmpl.Binding{Shape: sh,
		Hooks: map[string]tmpl.Hook{"QK": tmpl.Call{Func: qk}, "PV": tmpl.Call{Func: pv}, "Softmax": tmpl.Call{Func: softmax}}})
}
