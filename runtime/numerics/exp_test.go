package numerics

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// checkExp: within 2 ulp of e^x (in float64) for normal results, within
// one subnormal step (2⁻¹⁴⁹) below them.
func checkExp(t *testing.T, x float32) {
	t.Helper()
	got, want := float64(Exp32(x)), math.Exp(float64(x))
	if math.IsNaN(want) {
		if !math.IsNaN(got) {
			t.Fatalf("Exp32(%g) = %g, want NaN", x, got)
		}
		return
	}
	if float32(want) > math.MaxFloat32 || math.IsInf(float64(float32(want)), 1) {
		if !math.IsInf(got, 1) && got < math.MaxFloat32 {
			t.Fatalf("Exp32(%g) = %g, want overflow", x, got)
		}
		return
	}
	tol := 2 * math.Abs(want) * 0x1p-23
	if want < 0x1p-126 {
		tol = 0x1p-149 * 2
	}
	if d := math.Abs(got - want); !(d <= tol) {
		t.Fatalf("Exp32(%g) = %.9g, want %.9g (error %.3g > %.3g)", x, got, want, d, tol)
	}
}

func TestExp32Special(t *testing.T) {
	if Exp32(float32(math.Inf(1))) != float32(math.Inf(1)) || Exp32(float32(math.Inf(-1))) != 0 {
		t.Fatal("Exp32(±Inf) must be +Inf and 0")
	}
	if !math.IsNaN(float64(Exp32(float32(math.NaN())))) {
		t.Fatal("NaN must propagate")
	}
	if Exp32(0) != 1 {
		t.Fatal("Exp32(0) must be 1")
	}
}

// TestExp32Samples checks 10⁶ random bit patterns and a dense sweep of
// softmax's range [−110, 90]; MODELC_EXHAUSTIVE=1 checks all 2³² patterns.
func TestExp32Samples(t *testing.T) {
	if os.Getenv("MODELC_EXHAUSTIVE") == "1" {
		for b := uint64(0); b < 1<<32; b++ {
			checkExp(t, math.Float32frombits(uint32(b)))
		}
		return
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1_000_000 {
		checkExp(t, math.Float32frombits(rng.Uint32()))
	}
	for x := float32(-110); x <= 90; x += 1.0 / 1024 {
		checkExp(t, x)
	}
}
