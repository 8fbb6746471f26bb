package numerics

import "math"

// The 16-bit float formats at a generated package's boundary. A model
// whose inputs or outputs are f16 (IEEE binary16) or bf16 (bfloat16)
// takes and returns their raw bits as uint16; inside, the kernels compute
// in float32, as ONNX Runtime's CPU provider computes many f16 operators.
// Widening to float32 is exact (every f16 and bf16 value is a float32
// value); narrowing rounds to nearest, ties to even, overflows to ±Inf,
// keeps ±0, ±Inf and NaN (with the sign and the payload's top bits), and
// gives f16's subnormals (steps of 2^-24) below 2^-14. They round as
// frontend/tensorio's readers do (which design.md's dependency direction
// keeps from importing this package).

// F16ToF32 is the float32 value of the f16 bits h (exact).
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // ±Inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0: // ±0 and subnormals: man·2^-24
		f := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// F32ToF16 rounds f to the nearest f16, ties to even, and returns its bits.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man == 0 {
			return sign | 0x7c00
		}
		// NaN: the payload's top bits, and the quiet bit where they are
		// all zero (which would read as Inf).
		m := uint16(man >> 13)
		if m == 0 {
			m = 0x200
		}
		return sign | 0x7c00 | m
	}
	e := exp - 127 + 15 // f16's biased exponent
	if e >= 0x1f {
		return sign | 0x7c00 // beyond f16's range: ±Inf
	}
	if e <= 0 {
		// An f16 subnormal (or zero): |f| = m·2^(e-14) units of 2^-24.
		if exp == 0 {
			return sign // float32 subnormals are far below 2^-25
		}
		m := man | 0x800000
		shift := uint(14 - e)
		if shift > 24 {
			return sign // below half the smallest subnormal
		}
		return sign | uint16(roundShift(m, shift))
	}
	// A carry out of the mantissa moves to the exponent, and from the
	// largest finite value to Inf, as the encoding is ordered.
	return sign | uint16(uint32(e)<<10+roundShift(man, 13))
}

// roundShift is m >> s rounded to nearest, ties to even.
func roundShift(m uint32, s uint) uint32 {
	r := m >> s
	rem, half := m&(1<<s-1), uint32(1)<<(s-1)
	if rem > half || rem == half && r&1 == 1 {
		r++
	}
	return r
}

// BF16ToF32 is the float32 value of the bf16 bits h (exact).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 rounds f to the nearest bf16, ties to even, and returns its
// bits.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		// NaN: truncated (rounding could carry a low payload into Inf),
		// with the quiet bit where truncation would leave Inf.
		h := uint16(b >> 16)
		if h&0x7f == 0 {
			h |= 0x40
		}
		return h
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// FromF16 sets dst[i] to the value of the f16 bits src[i].
func FromF16(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = F16ToF32(h)
	}
}

// ToF16 sets dst[i] to src[i] rounded to f16 bits.
func ToF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = F32ToF16(f)
	}
}

// FromBF16 sets dst[i] to the value of the bf16 bits src[i].
func FromBF16(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = BF16ToF32(h)
	}
}

// ToBF16 sets dst[i] to src[i] rounded to bf16 bits.
func ToBF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = F32ToBF16(f)
	}
}

// FromF64 sets dst[i] to src[i] rounded to float32.
func FromF64(dst []float32, src []float64) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = float32(x)
	}
}

// ToF64 sets dst[i] to src[i] (exact).
func ToF64(dst []float64, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = float64(f)
	}
}
