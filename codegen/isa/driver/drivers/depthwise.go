package drivers

import (
	"unsafe"

	"github.com/modelc/modelc/runtime/numerics"
)

// dwArgs is the parameter block of the depthwise microkernels (offsets
// fixed in the assembly: x 0, w 8, bias 16, y 24, resid 32, act 40, exp 48,
// erf 56).
type dwArgs struct {
	x, w, bias, y, resid unsafe.Pointer
	act, exp, erf        unsafe.Pointer // numerics.ActVec, ExpVec, ErfVec
}

// The offsets of dwArgs' fields, for the assembly (checked against
// unsafe.Offsetof by the tests).
const (
	DWOffX, DWOffW, DWOffBias, DWOffY, DWOffResid, DWOffAct, DWOffExp, DWOffErf = 0, 8, 16, 24, 32, 40, 48, 56
)

// DepthwiseShape is an isa.Depthwise driver: one output row of OW pixels
// × C channels of a KH×KW depthwise convolution (stride SW, dilation
// DH×DW) on NHWC rows of Wp padded pixels, with Bias, a residual (Resid)
// and activation Act (isa.Acts). Micro, func(a *dwArgs), computes
// channels [0, CV), whole vectors; the driver computes the rest in Go
// (the family's twin: float32 sums from the bias in window order, then
// the residual and runtime/numerics' activation).
type DepthwiseShape struct {
	C, KH, KW, SW, DH, DW, Wp, OW int
	CV                            int
	Bias, Resid                   bool
	Act                           string
	Micro                         func(a *dwArgs)
}

// Depthwise computes the row.
func Depthwise(sh DepthwiseShape, x, w, bias, y, resid []float32) {
	C, KH, KW, SW, DH, DW, Wp, OW, CV := sh.C, sh.KH, sh.KW, sh.SW, sh.DH, sh.DW, sh.Wp, sh.OW, sh.CV
	if len(x) < ((KH-1)*DH*Wp+(OW-1)*SW+(KW-1)*DW+1)*C || len(w) < KH*KW*C || len(y) < OW*C ||
		(sh.Bias && len(bias) < C) || (sh.Resid && len(resid) < OW*C) {
		panic("depthwise row: buffer too short")
	}
	if CV > 0 {
		a := dwArgs{x: unsafe.Pointer(&x[0]), w: unsafe.Pointer(&w[0]), y: unsafe.Pointer(&y[0]),
			act: unsafe.Pointer(&numerics.ActVec[0][0]), exp: unsafe.Pointer(&numerics.ExpVec[0][0]), erf: unsafe.Pointer(&numerics.ErfVec[0][0])}
		if sh.Bias {
			a.bias = unsafe.Pointer(&bias[0])
		}
		if sh.Resid {
			a.resid = unsafe.Pointer(&resid[0])
		}
		sh.Micro(&a)
	}
	for ow := 0; ow < OW; ow++ {
		for c := CV; c < C; c++ {
			var acc float32
			if sh.Bias {
				acc = bias[c]
			}
			for kh := 0; kh < KH; kh++ {
				for kw := 0; kw < KW; kw++ {
					acc += x[(kh*DH*Wp+ow*SW+kw*DW)*C+c] * w[(kh*KW+kw)*C+c]
				}
			}
			if sh.Resid {
				acc += resid[ow*C+c]
			}
			switch sh.Act {
			case "relu":
				acc = max(acc, 0)
			case "relu6":
				acc = numerics.Relu632(acc)
			case "hardsigmoid":
				acc = numerics.HardSigmoid32(acc)
			case "hardswish":
				acc = numerics.HardSwish32(acc)
			case "sigmoid":
				acc = numerics.Sigmoid32(acc)
			case "silu":
				acc = numerics.Silu32(acc)
			case "gelu":
				acc = numerics.Gelu32(acc)
			case "gelu_tanh":
				acc = numerics.GeluTanh32(acc)
			}
			y[ow*C+c] = acc
		}
	}
}
