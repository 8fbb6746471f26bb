package driver

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver/drivers"
	"github.com/modelc/modelc/codegen/tmpl"
)

// DWArgs declares the parameter block of the depthwise microkernels, for
// the targets' Go files.
var DWArgs = templates.Source("dwArgs")

// The offsets of DWArgs' fields, for the assembly.
const (
	DWOffX, DWOffW, DWOffBias, DWOffY, DWOffResid = drivers.DWOffX, drivers.DWOffW, drivers.DWOffBias, drivers.DWOffY, drivers.DWOffResid
	DWOffAct, DWOffExp, DWOffErf                  = drivers.DWOffAct, drivers.DWOffExp, drivers.DWOffErf
)

// Depthwise returns the isa.Depthwise kernel name(x, w, bias, y, resid
// []float32) (drivers.Depthwise): its microkernel micro (func(a
// *dwArgs)) computes channels [0, cv) of the row, whole vectors of tier,
// and the pure-Go twin the rest.
func Depthwise(s isa.DepthwiseSpec, name, micro, tier string, cv int) string {
	if err := s.Valid(); err != nil {
		panic("BUG: driver: " + err.Error())
	}
	doc := fmt.Sprintf("// %s computes one output row (%d pixels × %d channels) of a %d×%d depthwise convolution,\n// stride %d, dilation %d×%d, on NHWC rows of %d padded pixels%s: channels [0, %d) with %s vectors, the rest in Go.\n",
		name, s.OW, s.C, s.KH, s.KW, s.SW, s.DH, s.DW, s.Wp, EpiDoc(s.Epi), cv, tier)
	sh := drivers.DepthwiseShape{C: s.C, KH: s.KH, KW: s.KW, SW: s.SW, DH: s.DH, DW: s.DW, Wp: s.Wp, OW: s.OW, CV: cv,
		Bias: s.Bias, Resid: s.Epi.Resid, Act: s.Epi.Act}
	return function(doc, name, "Depthwise", tmpl.Binding{Shape: sh, Hooks: map[string]tmpl.Hook{"Micro": tmpl.Call{Func: micro}}})
}
