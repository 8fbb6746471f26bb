// Package quant is the integer arithmetic of quantized layers, written
// once and shared by the compiler (the reference evaluator, the quantize
// pass, ONNX import) and the packages it generates, so that the pure-Go
// kernels are bit-exact with the oracle by construction and every vector
// kernel is tested against them (docs/algorithms.md §5).
//
// A quantized value q stands for the real S·(q − Z) (affine: scale S > 0,
// integer zero point Z) or q·2^−FL (fixed point Q(m, n): the affine case
// S = 2^−FL, Z = 0). Three conversions run at run time:
//
//   - Quantize: float → integer, q = clamp(round_half_even(x / S) + Z),
//     the division in float32 (what ONNX QuantizeLinear and ONNX Runtime
//     compute; for a power-of-two scale it is exact);
//   - Dequantize: integer → float, float32(q − Z)·S in float32;
//   - requantization of an integer layer's accumulator. The canonical form
//     (Requant) is one rounding, half up, of acc·M with the real
//     multiplier M encoded as M0·2^(−31−s) (Encode); the form ONNX
//     Runtime uses for QLinearMatMul and QLinearConv (RequantFloat)
//     multiplies in float32 and rounds half to even. Which one a layer
//     uses is part of its IR op, so an imported model computes exactly
//     what ONNX Runtime computes and the quantize pass what §5.4 says.
//
// The package imports only the standard library.
package quant

import (
	"fmt"
	"math"
	"math/bits"
)

// Multiplier is a real multiplier M > 0 encoded as M0·2^(−31−S) with M0
// in [2^30, 2^31): 31 significant bits (docs/algorithms.md §5.4).
type Multiplier struct {
	M0 int32
	S  int32
}

// MinShift and MaxShift bound a Multiplier's S: M in [2^−32, 2^30).
// Below 2^−32 every int32 accumulator requantizes to 0 (or ±1 exactly at
// a tie), so Encode clamps S there; at 2^30 and above a layer is
// meaningless.
const (
	MinShift = -30
	MaxShift = 32
)

// Encode encodes m: m = f·2^e with f in [0.5, 1), M0 = round(f·2^31)
// (half to even), S = −e; when M0 rounds up to 2^31 it becomes 2^30 and
// S − 1. A multiplier below 2^−32 keeps its M0 with S = MaxShift (it
// requantizes every int32 to 0 either way). m must be finite, positive
// and below 2^30.
func Encode(m float64) (Multiplier, error) {
	if !(m > 0) || math.IsInf(m, 0) || m >= 1<<30 {
		return Multiplier{}, fmt.Errorf("quant: multiplier %g is not in (0, 2^30)", m)
	}
	f, e := math.Frexp(m) // m = f·2^e, f in [0.5, 1)
	m0 := math.RoundToEven(f * (1 << 31))
	s := -e
	if m0 == 1<<31 {
		m0, s = 1<<30, s-1
	}
	if s > MaxShift {
		s = MaxShift
	}
	return Multiplier{M0: int32(m0), S: int32(s)}, nil
}

// MustEncode is Encode for multipliers known to be in range.
func MustEncode(m float64) Multiplier {
	q, err := Encode(m)
	if err != nil {
		panic(err)
	}
	return q
}

// Real returns the multiplier's exact value M0·2^(−31−S).
func (q Multiplier) Real() float64 { return math.Ldexp(float64(q.M0), -31-int(q.S)) }

// Requant is the canonical requantization of an accumulator:
//
//	(acc·M0 + 2^(30+s)) >> (31+s)     (arithmetic shift: round half up)
//
// exact for any int64 acc (the product is formed in 128 bits). With an
// int32 acc the product fits int64, which is what the vector kernels
// compute: Requant32.
func Requant(acc int64, m Multiplier) int64 {
	if acc == int64(int32(acc)) {
		return Requant32(int32(acc), m)
	}
	// 128-bit two's complement: hi:lo = acc·M0.
	neg := acc < 0
	a := uint64(acc)
	if neg {
		a = -a
	}
	hi, lo := bits.Mul64(a, uint64(m.M0))
	if neg {
		lo = ^lo + 1
		hi = ^hi
		if lo == 0 {
			hi++
		}
	}
	sh := uint(31 + m.S)
	var c uint64
	lo, c = bits.Add64(lo, 1<<(sh-1), 0)
	hi += c
	// Arithmetic shift of hi:lo right by sh (1 ≤ sh ≤ 63).
	r := lo>>sh | hi<<(64-sh)
	top := int64(hi) >> sh // what is left above 64 bits: 0 or −1 when r fits
	switch {
	case top > 0 || (top == 0 && r > math.MaxInt64):
		return math.MaxInt64
	case top < -1 || (top == -1 && r <= math.MaxInt64):
		return math.MinInt64
	}
	return int64(r)
}

// Requant32 is Requant for an int32 accumulator, as the kernels compute
// it: |acc·M0| < 2^62, so the rounding constant and the shift stay in
// int64.
func Requant32(acc int32, m Multiplier) int64 {
	sh := 31 + m.S
	return (int64(acc)*int64(m.M0) + int64(1)<<(sh-1)) >> sh
}

// Clamp saturates v to [lo, hi].
func Clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// Output returns the canonical requantization of acc to an output of zero
// point zp saturated to [lo, hi] (lo = zp for a fused ReLU):
// clamp(zp + Requant(acc, m), lo, hi).
func Output(acc int64, m Multiplier, zp, lo, hi int64) int64 {
	return zp + Clamp(Requant(acc, m), lo-zp, hi-zp)
}

// RequantFloat is ONNX Runtime's requantization (MlasRequantizeOutput):
// acc converted to float32 (rounded half to even), times scale in
// float32, clamped to [lo − zp, hi − zp], rounded half to even, plus zp.
// ONNX import uses it for QLinearMatMul and QLinearConv, whose scale is
// a_scale·b_scale/y_scale in float32 (FloatScale).
func RequantFloat(acc int32, scale float32, zp, lo, hi int32) int32 {
	f := float32(acc) * scale
	f = max(f, float32(lo-zp))
	f = min(f, float32(hi-zp))
	return int32(math.RoundToEven(float64(f))) + zp
}

// FloatScale is ONNX Runtime's output scale of an integer layer,
// a·b/y evaluated in float32 in that order.
func FloatScale(a, b, y float32) float32 {
	p := a * b
	return p / y
}

// Quantize converts x to an integer of zero point zp saturated to [lo,
// hi]: round_half_even(x / scale) + zp, the division in float32, as ONNX
// QuantizeLinear and ONNX Runtime compute it. NaN becomes zp (the real
// zero); ±Inf saturates.
func Quantize(x, scale float32, zp, lo, hi int32) int32 {
	v := x / scale
	if v != v {
		return min(max(zp, lo), hi)
	}
	r := math.RoundToEven(float64(v)) + float64(zp)
	return int32(min(max(r, float64(lo)), float64(hi)))
}

// Dequantize converts q of zero point zp to float32(q − zp)·scale, in
// float32 (ONNX DequantizeLinear).
func Dequantize(q, zp int32, scale float32) float32 { return float32(q-zp) * scale }

// Pow2 returns 2^e as a float32 scale (a fixed-point format's scale is
// 2^−FL); e must be within float32's normal range.
func Pow2(e int) float32 { return float32(math.Ldexp(1, e)) }

// Range returns the integer range of a container: "i8" [−128, 127], "u8"
// [0, 255], "i16", "u16", "i32".
func Range(dtype string) (lo, hi int64, ok bool) {
	switch dtype {
	case "i8":
		return math.MinInt8, math.MaxInt8, true
	case "u8":
		return 0, math.MaxUint8, true
	case "i16":
		return math.MinInt16, math.MaxInt16, true
	case "u16":
		return 0, math.MaxUint16, true
	case "i32":
		return math.MinInt32, math.MaxInt32, true
	}
	return 0, 0, false
}
