package kernels

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/numerics"
)

// The epilogue of a linear layer or convolution (ir.Epilogue): a bias,
// then a residual of the output's shape added, then an activation, in
// float32 as the targets' kernels apply them. Templates with one have
// the fields Bias, Resid and Fused (a residual or an activation: Go has
// something to apply after the GEMM) and the hook Act, inlined from the
// functions below.

// Epi is the epilogue of a node, as a template's shape holds it.
type Epi struct {
	Bias, Resid bool
	Act         string // "", or one of isa.Acts
}

// EpiOf returns the epilogue of a linear or conv2d node (its bias is
// input 2 when present, and its residual the input after), or of a
// phm_linear or phc_conv2d (ir.KronInputs).
func EpiOf(nd *ir.Node) Epi {
	e, _ := ir.EpilogueOf(nd.Op)
	if _, ok := ir.KronOf(nd); ok {
		_, bias, _ := ir.KronInputs(nd)
		return Epi{Bias: bias != nil, Resid: e.Residual, Act: e.Act}
	}
	return Epi{Bias: e.HasBias(len(nd.Inputs) - ir.PrologueInputs(nd.Op)), Resid: e.Residual, Act: e.Act}
}

// Fused reports whether Go has something to apply after the GEMM and the
// bias: a residual or an activation.
func (e Epi) Fused() bool { return e.Resid || e.Act != "" }

// ActOf returns the Inline hook of an activation, and its function.
func ActOf(act string) (tmpl.Inline, func(float32) float32, error) {
	switch act {
	case "":
		return tmpl.Inline{Func: "NoAct"}, NoAct, nil
	case "relu":
		return tmpl.Inline{Func: "Relu32"}, Relu32, nil
	case "gelu":
		return tmpl.Inline{Func: "Gelu32"}, Gelu32, nil
	case "gelu_tanh":
		return tmpl.Inline{Func: "GeluTanh32"}, GeluTanh32, nil
	case "relu6":
		return tmpl.Inline{Func: "Relu632"}, Relu632, nil
	case "hardsigmoid":
		return tmpl.Inline{Func: "HardSigmoid32"}, HardSigmoid32, nil
	case "hardswish":
		return tmpl.Inline{Func: "HardSwish32"}, HardSwish32, nil
	case "sigmoid":
		return tmpl.Inline{Func: "Sigmoid32"}, Sigmoid32, nil
	case "silu":
		return tmpl.Inline{Func: "Silu32"}, Silu32, nil
	}
	return tmpl.Inline{}, nil, fmt.Errorf("BUG: kernels: no epilogue activation %q", act)
}

// The activations.

func NoAct(v float32) float32  { return v }
func Relu32(v float32) float32 { return max(v, 0) }
func Gelu32(v float32) float32 { return numerics.Gelu32(v) }
func GeluTanh32(v float32) float32 {
	return float32(0.5 * float64(v) * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(float64(v)+0.044715*float64(v)*float64(v)*float64(v)))))
}

// The activations of real CNNs, as runtime/numerics computes them in
// float32 (the targets' kernels' twins, isa.Acts).

func Relu632(v float32) float32       { return numerics.Relu632(v) }
func HardSigmoid32(v float32) float32 { return numerics.HardSigmoid32(v) }
func HardSwish32(v float32) float32   { return numerics.HardSwish32(v) }
func Sigmoid32(v float32) float32     { return numerics.Sigmoid32(v) }
func Silu32(v float32) float32        { return numerics.Silu32(v) }
