package ir

import "fmt"

// DType is an element type. Float storage types (f16, bf16) are held as f32
// by the evaluator; integer and bool types are held as int64 (u64 as its
// bit pattern). f64 is held and computed as f32 too: modelc compiles
// float32 models, and takes float64 ones (ONNX tests, exporters' stray
// doubles) at float32 precision and range.
type DType uint8

const (
	Invalid DType = iota
	F32
	F16
	BF16
	I8
	U8
	I16
	I32
	I64
	Bool
	F64
	U16
	U32
	U64
	numDTypes
)

var dtypeNames = [numDTypes]string{"invalid", "f32", "f16", "bf16", "i8", "u8", "i16", "i32", "i64", "bool", "f64", "u16", "u32", "u64"}

func (d DType) String() string {
	if d < numDTypes {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// ParseDType maps a printed name ("f32", "i64", ...) back to its DType.
func ParseDType(s string) (DType, bool) {
	for i, n := range dtypeNames {
		if i > 0 && n == s {
			return DType(i), true
		}
	}
	return Invalid, false
}

// IsFloat reports whether values of d are held as float32 by the evaluator.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 || d == F64 }

// IsInt reports whether d is an integer type (bool excluded).
func (d DType) IsInt() bool { return d >= I8 && d <= I64 || d >= U16 && d <= U64 }

// IsUnsigned reports whether d is an unsigned integer type.
func (d DType) IsUnsigned() bool { return d == U8 || d == U16 || d == U32 || d == U64 }

// Size is the storage size of one element in bytes.
func (d DType) Size() int {
	switch d {
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, Bool:
		return 1
	case I64, F64, U64:
		return 8
	}
	return 0
}

// Quant describes how a quantised integer tensor maps to real numbers.
// Exactly one form is used: affine (Scale, ZeroPoint) when Scale != 0, or
// fixed point (WordLen, FracLen: value = int · 2^-FracLen) when WordLen != 0.
type Quant struct {
	Scale     float64
	ZeroPoint int64
	WordLen   int
	FracLen   int
}

// IsZero reports whether q carries no quantisation.
func (q Quant) IsZero() bool { return q == Quant{} }
