package tensorio

// The conversions are runtime/numerics', which generated packages use at
// their boundary, so the two sides round alike.

import "github.com/modelc/modelc/runtime/numerics"

// Float16ToFloat32 converts an IEEE 754 binary16 value to float32. Every
// half value, subnormals included, is exactly representable in float32, so
// the conversion is exact; NaN payloads are kept.
func Float16ToFloat32(h uint16) float32 { return numerics.F16ToF32(h) }

// Float32ToFloat16 converts a float32 to IEEE 754 binary16, rounding to
// nearest with ties to even. Values too large for half become ±Inf, values
// too small become subnormals or ±0, and NaN stays NaN (keeping the top
// payload bits, quiet bit forced when they are all zero).
func Float32ToFloat16(f float32) uint16 { return numerics.F32ToF16(f) }

// BFloat16ToFloat32 converts a bfloat16 value to float32 (exact).
func BFloat16ToFloat32(h uint16) float32 { return numerics.BF16ToF32(h) }

// Float32ToBFloat16 converts a float32 to bfloat16, rounding to nearest with
// ties to even. NaN stays NaN: plain rounding could carry a NaN whose payload
// sits in the low bits into Inf, so NaNs are truncated instead, setting the
// quiet bit only if truncation would otherwise leave Inf.
func Float32ToBFloat16(f float32) uint16 { return numerics.F32ToBF16(f) }
