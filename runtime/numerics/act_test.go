package numerics

import (
	"math"
	"testing"
)

// TestActsMatchFloat64 checks the epilogue activations against their
// float64 formulas (the reference evaluator's) on a sweep and on the
// special values, whose results must be the same non-finite value.
func TestActsMatchFloat64(t *testing.T) {
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	hsig := func(x float64) float64 { return math.Max(0, math.Min(1, x/6+0.5)) }
	acts := []struct {
		name string
		f32  func(float32) float32
		f64  func(float64) float64
	}{
		{"sigmoid", Sigmoid32, sig},
		{"silu", Silu32, func(x float64) float64 { return x * sig(x) }},
		{"gelu_tanh", GeluTanh32, func(x float64) float64 {
			return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
		}},
		{"hardsigmoid", HardSigmoid32, hsig},
		{"hardswish", HardSwish32, func(x float64) float64 { return x * math.Min(math.Max(x+3, 0), 6) / 6 }},
		{"relu6", Relu632, func(x float64) float64 { return math.Min(math.Max(x, 0), 6) }},
	}
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, -200, 200}
	for _, a := range acts {
		for x := -30.0; x <= 30; x += 0.01 {
			got, want := float64(a.f32(float32(x))), a.f64(float64(float32(x)))
			if d := math.Abs(got - want); d > 4e-7*math.Max(1, math.Abs(want)) {
				t.Fatalf("%s(%g) = %g, float64 %g", a.name, x, got, want)
			}
		}
		for _, x := range special {
			got, want := float64(a.f32(float32(x))), a.f64(x)
			if math.IsNaN(want) != math.IsNaN(got) || (!math.IsNaN(want) && math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want))) {
				t.Fatalf("%s(%g) = %g, float64 %g", a.name, x, got, want)
			}
		}
	}
}
