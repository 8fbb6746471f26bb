// Package numerics holds the numerical approximations generated kernels
// use, shared by the compiler (which tests them) and generated packages
// (which call them), so both sides agree on every constant.
package numerics

import "math"

// Erf32 approximates erf(x) for float32 without calling exp: erf(x) =
// 1 − 1/(1 + a₁x + … + a₆x⁶)¹⁶ for x ≥ 0 (Abramowitz & Stegun 7.1.28,
// |error| ≤ 3·10⁻⁷ in exact arithmetic), odd in x. It is about four times
// faster than float64 math.Erf and is what GELU epilogues call.
//
// Below 0.01 it uses the series 2/√π·(x − x³/3), where the formula's
// 1 − 1/t would cancel. Special values: Erf32(±Inf) = ±1, Erf32(NaN) =
// NaN, Erf32(±0) = ±0.
func Erf32(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if a < 0.01 {
		// Near 0 the formula's 1 − 1/t cancels: the series
		// erf(x) = 2/√π·(x − x³/3 + …) is exact to float32 here.
		return x * (1.1283791670955126 - 0.3761263890318375*x*x)
	}
	// In float64: in float32, t¹⁶'s rounding (16 ulps of 1) would show in
	// 1 − 1/t¹⁶ for small x. Scalar float64 costs the same.
	d := float64(a)
	t := 1 + d*(0.0705230784+d*(0.0422820123+d*(0.0092705272+d*(0.0001520143+d*(0.0002765672+d*0.0000430638)))))
	t *= t
	t *= t
	t *= t
	t *= t
	e := float32(1 - 1/t)
	if x < 0 {
		return -e
	}
	return e
}

// Gelu32 is GELU with the exact (erf) form, 0.5·x·(1 + erf(x/√2)), on
// Erf32.
func Gelu32(x float32) float32 {
	return 0.5 * x * (1 + Erf32(x*(1/math.Sqrt2)))
}
