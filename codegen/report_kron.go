package codegen

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/ir"
)

// kronReport is REPORT.md's section on the Kronecker-factored layers: how
// each runs (factored, or dense on W materialised at build time) and why,
// so that no materialisation is silent ("" when the graph has none).
func kronReport(g *ir.Graph) string {
	var sb strings.Builder
	for _, n := range g.Nodes {
		k, ok := ir.KronOf(n)
		if !ok {
			continue
		}
		if sb.Len() == 0 {
			sb.WriteString("## Kronecker-factored layers\n\n| layer | op | factors | parameters dense → factored | runs | why |\n| --- | --- | --- | --- | --- | --- |\n")
		}
		runs, why := ir.ExecFactored, "phc_conv2d always runs on its factors"
		if o, ok := n.Op.(*ir.PHMLinear); ok {
			runs = phmExec(n, k)
			switch {
			case o.Exec != ir.ExecAuto:
				why = fmt.Sprintf("exec %s (the kronecker pass's execution)", o.Exec)
			case runs == ir.ExecDense && 4*k.Out()*k.In() <= kronDenseBytes:
				why = fmt.Sprintf("dense W fits in %d KiB (cache-resident: the dense kernel is faster)", kronDenseBytes>>10)
			case runs == ir.ExecDense:
				why = fmt.Sprintf("factored: %d MACs a row, over twice dense %d", k.MACs(), k.Out()*k.In())
			case o.Scaled:
				why = "a scale input (a BatchNorm that did not fold into the factors)"
			case !isDenseConst(n.Inputs[1]) || !isDenseConst(n.Inputs[2]):
				why = "factors not dense constants"
			default:
				why = fmt.Sprintf("dense W over %d KiB (memory-bound: the factors are %.2g× smaller)", kronDenseBytes>>10, float64(k.Out()*k.In()*k.Taps)/float64(k.Params()))
			}
		}
		fmt.Fprintf(&sb, "| %s | %s | %d × [%d×%d] ⊗ [%d×%d×%d] | %d → %d | %s | %s |\n", mdCell(n.Name), n.Op.Kind(),
			k.R, k.M1, k.N1, k.M2, k.N2, k.Taps, k.Out()*k.In()*k.Taps, k.Params(), runs, why)
	}
	if sb.Len() > 0 {
		sb.WriteString("\n")
	}
	return sb.String()
}
