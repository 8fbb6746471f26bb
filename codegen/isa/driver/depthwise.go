package driver

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
)

// DWArgs declares the parameter block of the depthwise microkernels.
const DWArgs = `// dwArgs is the parameter block of the depthwise microkernels (offsets
// fixed in the assembly: x 0, w 8, bias 16, y 24, resid 32, act 40, exp 48,
// erf 56).
type dwArgs struct {
	x, w, bias, y, resid unsafe.Pointer
	act, exp, erf        unsafe.Pointer // numerics.ActVec, ExpVec, ErfVec
}
`

// The offsets of DWArgs' fields, for the assembly.
const (
	DWOffX, DWOffW, DWOffBias, DWOffY, DWOffResid, DWOffAct, DWOffExp, DWOffErf = 0, 8, 16, 24, 32, 40, 48, 56
)

// actGo is the float32 Go expression (runtime/numerics' twins, isa.Acts)
// of each activation of v.
var actGo = map[string]string{
	"":            "%s",
	"relu":        "max(%s, 0)",
	"relu6":       "numerics.Relu632(%s)",
	"hardsigmoid": "numerics.HardSigmoid32(%s)",
	"hardswish":   "numerics.HardSwish32(%s)",
	"sigmoid":     "numerics.Sigmoid32(%s)",
	"silu":        "numerics.Silu32(%s)",
	"gelu":        "numerics.Gelu32(%s)",
	"gelu_tanh":   "numerics.GeluTanh32(%s)",
}

// ActGo returns the float32 Go expression of activation act applied to
// the expression v: the pure-Go twin of the kernels' epilogue. It panics
// on an activation not in isa.Acts (a bug in the caller).
func ActGo(act, v string) string {
	f, ok := actGo[act]
	if !ok {
		panic("BUG: driver: no Go twin for activation " + act)
	}
	return fmt.Sprintf(f, v)
}

// DepthwiseGo returns the body of the pure-Go depthwise row over
// channels [c0, C) (isa.Depthwise's contract, float32 sums in window
// order, then bias, residual and activation): the family's twin, and
// the vector drivers' channel tail. It declares nothing; the constants
// C, KH, KW, SW, DH, DW, Wp and OW must be in scope.
func DepthwiseGo(s isa.DepthwiseSpec, c0 string) string {
	var w writer
	w.f("for ow := 0; ow < OW; ow++ {")
	w.f("for c := %s; c < C; c++ {", c0)
	w.f("var acc float32")
	w.f("for kh := 0; kh < KH; kh++ {")
	w.f("for kw := 0; kw < KW; kw++ {")
	w.f("acc += x[(kh*DH*Wp+ow*SW+kw*DW)*C+c] * w[(kh*KW+kw)*C+c]")
	w.f("}")
	w.f("}")
	if s.Bias {
		w.f("acc += bias[c]")
	}
	if s.Epi.Resid {
		w.f("acc += resid[ow*C+c]")
	}
	w.f("y[ow*C+c] = %s", ActGo(s.Epi.Act, "acc"))
	w.f("}")
	w.f("}")
	return w.String()
}

// DepthwiseConsts declares the constants DepthwiseGo's body reads.
func DepthwiseConsts(s isa.DepthwiseSpec) string {
	return fmt.Sprintf("const C, KH, KW, SW, DH, DW, Wp, OW = %d, %d, %d, %d, %d, %d, %d, %d\n", s.C, s.KH, s.KW, s.SW, s.DH, s.DW, s.Wp, s.OW)
}

// Depthwise returns the isa.Depthwise kernel name(x, w, bias, y, resid
// []float32): its microkernel micro (func(a *dwArgs)) computes channels
// [0, cv) of the row, whole vectors, and the pure-Go twin the rest.
func Depthwise(s isa.DepthwiseSpec, name, micro, tier string, cv int) string {
	if err := s.Valid(); err != nil {
		panic("BUG: driver: " + err.Error())
	}
	var w writer
	w.f("// %s computes one output row (%d pixels × %d channels) of a %d×%d depthwise convolution,", name, s.OW, s.C, s.KH, s.KW)
	w.f("// stride %d, dilation %d×%d, on NHWC rows of %d padded pixels%s: channels [0, %d) with %s vectors, the rest in Go.", s.SW, s.DH, s.DW, s.Wp, EpiDoc(s.Epi), cv, tier)
	w.f("func %s(x, w, bias, y, resid []float32) {", name)
	w.b(DepthwiseConsts(s))
	check := "len(x) < ((KH-1)*DH*Wp+(OW-1)*SW+(KW-1)*DW+1)*C || len(w) < KH*KW*C || len(y) < OW*C"
	if s.Bias {
		check += " || len(bias) < C"
	}
	if s.Epi.Resid {
		check += " || len(resid) < OW*C"
	}
	w.f("if %s {", check)
	w.f("panic(%q)", name+": buffer too short")
	w.f("}")
	if cv > 0 {
		w.f("a := dwArgs{x: unsafe.Pointer(&x[0]), w: unsafe.Pointer(&w[0]), y: unsafe.Pointer(&y[0])}")
		if s.Bias {
			w.f("a.bias = unsafe.Pointer(&bias[0])")
		}
		if s.Epi.Resid {
			w.f("a.resid = unsafe.Pointer(&resid[0])")
		}
		w.f("a.act, a.exp, a.erf = unsafe.Pointer(&numerics.ActVec[0][0]), unsafe.Pointer(&numerics.ExpVec[0][0]), unsafe.Pointer(&numerics.ErfVec[0][0])")
		w.f("%s(&a)", micro)
	}
	if cv < s.C {
		w.b(DepthwiseGo(s, fmt.Sprint(cv)))
	}
	w.f("}")
	return w.String()
}

// b appends preformatted lines.
func (w *writer) b(s string) { w.WriteString(s) }
