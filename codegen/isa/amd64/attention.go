package amd64

import (
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
)

// attentionKernel returns the isa.Attention kernel of tier for s
// (driver.Attention): QKᵀ and PV on the GEMM microkernels through
// driver.Strided drivers, the softmax on the row kernel. The caller
// checks that a head's width of V is a multiple of 16, so the last panel
// of PV never spills into the next head's columns.
func attentionKernel(s isa.AttentionSpec, tierName string) isa.Kernel {
	a := driver.NewAttentionShape(s)
	lanes := 16
	if tierName == tierAVX2.Name {
		lanes = 8
	}
	name := "attn_" + shapeName(s) + "_" + tierName
	qk, pv, sm := name+"_qk", name+"_pv", name+"_softmax"
	var src string
	var fns []*Func
	for _, t := range linearTiles(a.PW1) {
		if t.Tier == tierName {
			d, f := stridedKernel(s.T, s.D/s.H, a.PW1, a.P1, 0, qk, t)
			src, fns = src+d+"\n", append(fns, f...)
		}
	}
	for _, t := range linearTiles(a.PW2) {
		if t.Tier == tierName {
			d, f := stridedKernel(s.T, s.S, a.PW2, s.Dv/s.H/a.PW2, s.Dv, pv, t)
			src, fns = src+d+"\n", append(fns, f...)
		}
	}
	src += driver.Softmax(sm, s.S, lanes, lanes == 8) + "\n"
	fns = append(fns, softmax(sm+"_k", s.S, lanes))
	src += driver.Attention(a, name, qk, pv, sm)
	k := kernel(isa.Attention, name, tierName, part{src, fns, []string{driver.GemmArgs}})
	kp, sc, pr := a.Scratch()
	k.Scratch = kp + sc + pr
	return k
}
