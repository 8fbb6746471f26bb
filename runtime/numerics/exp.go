package numerics

import "math"

// The constants of Exp32, shared with the assembly kernels (ExpVec).
// ExpHi and ExpUnder are its overflow and underflow thresholds; ExpLo is
// the vector kernels' lower clamp, below ExpUnder: there the formula
// already rounds to 0 (checked for every float32 in [−130, 90]), and 2^n
// stays a product of two normal floats.
const (
	ExpHi    float32 = 88.72283905206835
	ExpUnder float32 = -103.97208
	ExpLo    float32 = -120
	ExpLog2e float32 = 1.44269504088896341
	ExpC1    float32 = 0.693359375    // ln 2 = C1 + C2, C1 exact in 9 bits
	ExpC2    float32 = -2.12194440e-4 // so n·C1 is exact for |n| < 2^15
	ExpP0    float32 = 1.9875691500e-4
	ExpP1    float32 = 1.3981999507e-3
	ExpP2    float32 = 8.3334519073e-3
	ExpP3    float32 = 4.1665795894e-2
	ExpP4    float32 = 1.6666665459e-1
	ExpP5    float32 = 5.0000001201e-1
)

// Exp32 approximates e^x in float32 (Cephes expf: x = n·ln2 + r with
// |r| ≤ ln2/2, e^r by a degree-7 polynomial, scaled by 2^n), within 2 ulp
// of e^x for normal results; it is about three times faster than float64
// math.Exp. Softmax kernels call it; the x86 softmax row kernels
// evaluate the same steps on vectors (ExpVec), clamping x to [ExpLo,
// ExpHi] with NaN kept, and differ from it only by FMA contraction
// (at most 1 ulp over [−130, 90]).
//
// Special values: Exp32(+Inf) = +Inf, Exp32(−Inf) = 0, Exp32(NaN) = NaN;
// it overflows to +Inf above ExpHi (88.72) and underflows to 0 below
// ExpUnder (−103.97).
func Exp32(x float32) float32 {
	switch {
	case x > ExpHi:
		return float32(math.Inf(1))
	case x < ExpUnder:
		return 0
	case x != x:
		return x
	}
	n := float32(math.Floor(float64(x*ExpLog2e + 0.5)))
	r := x - n*ExpC1 - n*ExpC2
	p := ExpP0
	p = p*r + ExpP1
	p = p*r + ExpP2
	p = p*r + ExpP3
	p = p*r + ExpP4
	p = p*r + ExpP5
	y := p*r*r + r + 1
	// 2^n as two factors, each a normal float32 for n in [−150, 128].
	k := int32(n)
	h := k >> 1
	return y * math.Float32frombits(uint32(h+127)<<23) * math.Float32frombits(uint32(k-h+127)<<23)
}

// Indices into ExpVec.
const (
	ExpVecHi = iota
	ExpVecLo
	ExpVecLog2e
	ExpVecHalf
	ExpVecOne
	ExpVecC1
	ExpVecC2
	ExpVecP0     // P0 … P5 follow
	ExpVecNegInf = ExpVecP0 + 6
	expVecLen    = ExpVecNegInf + 1
)

// ExpVec holds Exp32's constants for the assembly kernels, each repeated
// 16 times (one 512-bit vector, or the first half for a 256-bit one):
// ExpHi, ExpLo, log₂e, 0.5, 1, C1, C2, P0 … P5, then −Inf (where a row's
// maximum starts).
var ExpVec = func() (v [expVecLen][16]float32) {
	vals := [expVecLen]float32{ExpHi, ExpLo, ExpLog2e, 0.5, 1, ExpC1, ExpC2, ExpP0, ExpP1, ExpP2, ExpP3, ExpP4, ExpP5, float32(math.Inf(-1))}
	for i, c := range vals {
		for j := range v[i] {
			v[i][j] = c
		}
	}
	return v
}()
