package arm64

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
)

// attentionKernel returns the isa.Attention kernel for s
// (driver.Attention): QKᵀ and PV on the GEMM microkernels through
// driver.Strided drivers, the softmax on the row kernel.
func attentionKernel(s isa.AttentionSpec) isa.Kernel {
	a := driver.NewAttentionShape(s)
	name := fmt.Sprintf("attn_t%d_s%d_d%d_dv%d_h%d", s.T, s.S, s.D, s.Dv, s.H)
	if s.Causal {
		name += "_causal"
	}
	name += "_neon"
	qk, pv, sm := name+"_qk", name+"_pv", name+"_softmax"
	d1, f1 := stridedKernel(s.T, s.D/s.H, a.PW1, a.P1, 0, qk)
	d2, f2 := stridedKernel(s.T, s.S, a.PW2, s.Dv/s.H/a.PW2, s.Dv, pv)
	src := d1 + "\n" + d2 + "\n" + driver.Softmax(sm, s.S, 4, false) + "\n" + driver.Attention(a, name, qk, pv, sm)
	fns := append(append(f1, f2...), softmax(sm+"_k", s.S))
	k := kernel(isa.Attention, name, part{src, fns, []string{driver.GemmArgs}})[0]
	kp, sc, pr := a.Scratch()
	k.Scratch = kp + sc + pr
	return k
}
