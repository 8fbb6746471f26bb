package numerics

import "math"

// Exp32 approximates e^x in float32 (Cephes expf: x = n·ln2 + r with
// |r| ≤ ln2/2, e^r by a degree-7 polynomial, scaled by 2^n), within 2 ulp
// of e^x for normal results; it is about three times faster than float64
// math.Exp. Softmax kernels call it.
//
// Special values: Exp32(+Inf) = +Inf, Exp32(−Inf) = 0, Exp32(NaN) = NaN;
// it overflows to +Inf above 88.72 and underflows to 0 below −103.97.
func Exp32(x float32) float32 {
	switch {
	case x > 88.72283905206835:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	case x != x:
		return x
	}
	n := float32(math.Floor(float64(x*1.44269504088896341 + 0.5)))
	r := x - n*0.693359375 - n*-2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	// 2^n as two factors, each a normal float32 for n in [−150, 128].
	k := int32(n)
	h := k >> 1
	return y * math.Float32frombits(uint32(h+127)<<23) * math.Float32frombits(uint32(k-h+127)<<23)
}
