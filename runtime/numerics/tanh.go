package numerics

// Tanh32 approximates tanh(x) in float32 (Cephes tanhf): for |x| ≤
// 0.625 an odd polynomial x + x³·P(x²), above it 1 − 2/(e^{2|x|} + 1) on
// Exp32 with x's sign, and ±1 beyond |x| > 44, where tanh rounds to ±1
// in float32. Within tanhTol (tanh_test.go) of tanh.
//
// Special values: Tanh32(±Inf) = ±1, Tanh32(NaN) = NaN, Tanh32(±0) = ±0.
func Tanh32(x float32) float32 {
	z := x
	if z < 0 {
		z = -z
	}
	switch {
	case z > 44:
		if x < 0 {
			return -1
		}
		return 1
	case z > 0.625:
		z = 1 - 2/(Exp32(2*z)+1)
		if x < 0 {
			z = -z
		}
		return z
	case x == 0:
		return x // keeps −0
	}
	// NaN lands here: every comparison above is false for it.
	z = x * x
	p := float32(-5.70498872745e-3)
	p = p*z + 2.06390887954e-2
	p = p*z - 5.37397155531e-2
	p = p*z + 1.33314422036e-1
	p = p*z - 3.33332819422e-1
	return p*z*x + x
}
