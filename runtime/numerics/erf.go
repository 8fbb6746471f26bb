// Package numerics holds the numerical approximations generated kernels
// use, shared by the compiler (which tests them) and generated packages
// (which call them), so both sides agree on every constant. The assembly
// kernels evaluate the same formulas with the same constants, in the same
// order (ErfCoeffs), so a pure-Go kernel is their twin up to FMA
// contraction. It also holds the conversions of f16, bf16 and f64 at a
// generated package's boundary (half.go).
package numerics

import "math"

// The rational approximation of erf on [−4, 4] that Eigen, XLA and TVM
// use for float32: erf(x) ≈ x·α(x²)/β(x²), α of degree 6 and β of degree
// 4 in x², a few ulp from erf over the range; outside it erf rounds to
// ±1 in float32, hence the clamp.
const (
	ErfClamp                                                  = 4
	ErfA13, ErfA11, ErfA9, ErfA7, ErfA5, ErfA3, ErfA1         = -2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02
	ErfB8, ErfB6, ErfB4, ErfB2, ErfB0                         = -1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03, -1.42647390514189e-02
	InvSqrt2                                          float32 = 1 / math.Sqrt2
)

// Erf32 approximates erf(x) in float32 (see the constants above).
// Special values: Erf32(±Inf) = ±1, Erf32(NaN) = NaN, Erf32(±0) = ±0.
func Erf32(x float32) float32 {
	// The clamp keeps NaN: both comparisons are false for it.
	if x > ErfClamp {
		x = ErfClamp
	} else if x < -ErfClamp {
		x = -ErfClamp
	}
	x2 := x * x
	p := x2*ErfA13 + ErfA11
	p = x2*p + ErfA9
	p = x2*p + ErfA7
	p = x2*p + ErfA5
	p = x2*p + ErfA3
	p = x2*p + ErfA1
	q := x2*ErfB8 + ErfB6
	q = x2*q + ErfB4
	q = x2*q + ErfB2
	q = x2*q + ErfB0
	return x * p / q
}

// Gelu32 is GELU with the exact (erf) form, 0.5·x·(1 + erf(x/√2)), on
// Erf32; the kernels compute it as h + h·erf with h = 0.5·x.
func Gelu32(x float32) float32 {
	h := 0.5 * x
	return h + h*Erf32(x*InvSqrt2)
}

// Indices into ErfVec of the GELU epilogue's constants.
const (
	VecHalf = iota
	VecInvSqrt2
	VecClampHi
	VecClampLo
	VecA13              // α13, α11, … α1 follow
	VecB8  = VecA13 + 7 // β8, β6, … β0 follow
	vecLen = VecB8 + 5
)

// ErfVec holds the GELU epilogue's constants for the assembly kernels,
// each repeated 16 times (one 512-bit vector, or the first half for a
// 256-bit one), so every constant is a plain vector memory operand:
// 0.5, 1/√2, 4, −4, then α13…α1 and β8…β0 as in Erf32.
var ErfVec = func() (v [vecLen][16]float32) {
	vals := [vecLen]float32{0.5, InvSqrt2, ErfClamp, -ErfClamp, ErfA13, ErfA11, ErfA9, ErfA7, ErfA5, ErfA3, ErfA1, ErfB8, ErfB6, ErfB4, ErfB2, ErfB0}
	for i, c := range vals {
		for j := range v[i] {
			v[i][j] = c
		}
	}
	return v
}()
