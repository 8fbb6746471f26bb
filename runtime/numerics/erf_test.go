package numerics

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// erfTol bounds |Erf32(x) − erf(x)|: measured over every 97th float32
// bit pattern, the largest error is 4.3·10⁻⁷ (7 ulp of 1, at x ≈ 3.2);
// relative to erf it is a few ulp except where x·α underflows
// (subnormal x), where the absolute error is below 10⁻⁴⁴.
const erfTol = 5e-7

func checkErf(t *testing.T, x float32) {
	t.Helper()
	got, want := float64(Erf32(x)), math.Erf(float64(x))
	if math.IsNaN(want) {
		if !math.IsNaN(got) {
			t.Fatalf("Erf32(%g) = %g, want NaN", x, got)
		}
		return
	}
	if d := math.Abs(got - want); !(d <= erfTol) {
		t.Fatalf("Erf32(%g) = %.9g, erf = %.9g: error %.3g > %g", x, got, want, d, erfTol)
	}
	// GELU's error is x/2 times erf's, relative to max(1, |x|).
	g, wg := float64(Gelu32(x)), 0.5*float64(x)*(1+math.Erf(float64(x)/math.Sqrt2))
	if !math.IsInf(float64(x), 0) && math.Abs(g-wg) > erfTol*math.Max(1, math.Abs(float64(x))) {
		t.Fatalf("Gelu32(%g) = %.9g, want %.9g", x, g, wg)
	}
}

func TestErf32Special(t *testing.T) {
	if Erf32(float32(math.Inf(1))) != 1 || Erf32(float32(math.Inf(-1))) != -1 {
		t.Fatal("Erf32(±Inf) must be ±1")
	}
	if !math.IsNaN(float64(Erf32(float32(math.NaN())))) || !math.IsNaN(float64(Gelu32(float32(math.NaN())))) {
		t.Fatal("NaN must propagate")
	}
	if z := Erf32(float32(math.Copysign(0, -1))); z != 0 || !math.Signbit(float64(z)) {
		t.Fatal("Erf32(-0) must be -0")
	}
	if Gelu32(float32(math.Inf(1))) != float32(math.Inf(1)) {
		t.Fatal("Gelu32(+Inf) must be +Inf")
	}
}

// TestErf32Samples checks 10⁶ random float32 bit patterns (every
// exponent, so tiny, huge, subnormal and special values) and a dense
// sweep of [−6, 6]. MODELC_EXHAUSTIVE=1 (make test-long) checks all 2³²
// bit patterns instead.
func TestErf32Samples(t *testing.T) {
	if os.Getenv("MODELC_EXHAUSTIVE") == "1" {
		for b := uint64(0); b < 1<<32; b++ {
			checkErf(t, math.Float32frombits(uint32(b)))
		}
		return
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		checkErf(t, math.Float32frombits(rng.Uint32()))
	}
	for x := float32(-6); x <= 6; x += 1.0 / 4096 {
		checkErf(t, x)
	}
}
