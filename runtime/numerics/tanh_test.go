package numerics

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// tanhTol bounds |Tanh32(x) − tanh(x)| relative to |tanh(x)| (it is
// odd and |tanh| ≤ 1, so this is also an absolute bound): 3 ulp.
const tanhTol = 3 * 0x1p-24

func checkTanh(t *testing.T, x float32) {
	t.Helper()
	got, want := float64(Tanh32(x)), math.Tanh(float64(x))
	if math.IsNaN(want) {
		if !math.IsNaN(got) {
			t.Fatalf("Tanh32(%g) = %g, want NaN", x, got)
		}
		return
	}
	tol := tanhTol * math.Abs(want)
	if math.Abs(want) < 0x1p-126 {
		tol = 0x1p-149 // subnormal x: tanh(x) = x to the last bit
	}
	if d := math.Abs(got - want); !(d <= tol) {
		t.Fatalf("Tanh32(%g) = %.9g, tanh = %.9g: error %.3g > %.3g", x, got, want, d, tol)
	}
}

func TestTanh32Special(t *testing.T) {
	inf := float32(math.Inf(1))
	if Tanh32(inf) != 1 || Tanh32(-inf) != -1 {
		t.Fatal("Tanh32(±Inf) must be ±1")
	}
	if !math.IsNaN(float64(Tanh32(float32(math.NaN())))) {
		t.Fatal("NaN must propagate")
	}
	if z := Tanh32(float32(math.Copysign(0, -1))); z != 0 || !math.Signbit(float64(z)) {
		t.Fatal("Tanh32(-0) must be -0")
	}
	if Tanh32(44.5) != 1 || Tanh32(-100) != -1 {
		t.Fatal("Tanh32 must saturate to ±1")
	}
}

// TestTanh32Samples checks 10⁶ random bit patterns and a dense sweep of
// [−10, 10]; MODELC_EXHAUSTIVE=1 checks all 2³² patterns.
func TestTanh32Samples(t *testing.T) {
	if os.Getenv("MODELC_EXHAUSTIVE") == "1" {
		for b := uint64(0); b < 1<<32; b++ {
			checkTanh(t, math.Float32frombits(uint32(b)))
		}
		return
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 1_000_000 {
		checkTanh(t, math.Float32frombits(rng.Uint32()))
	}
	for x := float32(-10); x <= 10; x += 1.0 / 4096 {
		checkTanh(t, x)
	}
}
