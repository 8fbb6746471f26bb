package tensorio

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DType is an element type. The names follow safetensors.
type DType string

// The supported element types.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size returns the number of bytes per element, or 0 for an unknown DType.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// isFloat reports whether d is a floating-point type.
func (d DType) isFloat() bool {
	return d == F64 || d == F32 || d == F16 || d == BF16
}

// Array is one named tensor.
//
// Data holds the elements in row-major (C) order, each little-endian, so
// len(Data) == DType.Size()*prod(Shape). A nil or empty Shape is a 0-d scalar
// with one element. Decoders always return a non-nil Shape.
type Array struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// FromFloat32 returns an F32 array holding a copy of v. The shape is copied
// and not checked against len(v): constructors cannot fail, so a mismatch is
// reported by the encoders and by Float32.
func FromFloat32(name string, shape []int, v []float32) Array {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	return Array{Name: name, DType: F32, Shape: cloneShape(shape), Data: data}
}

// FromInt64 returns an I64 array holding a copy of v; see FromFloat32 about
// the shape.
func FromInt64(name string, shape []int, v []int64) Array {
	data := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(data[8*i:], uint64(x))
	}
	return Array{Name: name, DType: I64, Shape: cloneShape(shape), Data: data}
}

func cloneShape(s []int) []int {
	if s == nil {
		return nil
	}
	return append([]int{}, s...)
}

// Len returns the number of elements, prod(Shape) (1 for a 0-d scalar), or -1
// if the shape has a negative dimension or its product overflows int.
func (a Array) Len() int {
	n, err := numElements(a.Shape)
	if err != nil {
		return -1
	}
	return n
}

// numElements returns prod(shape), rejecting negative dimensions and overflow.
func numElements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %s has negative dimension %d", fmtShape(shape), d)
		}
	}
	for _, d := range shape {
		if d == 0 {
			return 0, nil
		}
	}
	for _, d := range shape {
		if n > math.MaxInt/d {
			return 0, fmt.Errorf("element count of shape %s overflows", fmtShape(shape))
		}
		n *= d
	}
	return n, nil
}

// byteSize returns the number of data bytes an array of dtype and shape
// needs, with the same checks as numElements plus a known dtype.
func byteSize(dt DType, shape []int) (int, error) {
	sz := dt.Size()
	if sz == 0 {
		return 0, fmt.Errorf("unknown dtype %q", string(dt))
	}
	n, err := numElements(shape)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt/sz {
		return 0, fmt.Errorf("byte size of dtype %s shape %s overflows", dt, fmtShape(shape))
	}
	return n * sz, nil
}

// check validates that a is self-consistent: known dtype, valid shape, and
// Data of exactly the right length.
func (a Array) check() error {
	need, err := byteSize(a.DType, a.Shape)
	if err != nil {
		return err
	}
	if len(a.Data) != need {
		return fmt.Errorf("data has %d bytes, dtype %s shape %s needs %d", len(a.Data), a.DType, fmtShape(a.Shape), need)
	}
	return nil
}

// fmtShape formats a shape as [5,6], the way safetensors headers write it.
func fmtShape(shape []int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range shape {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(d))
	}
	b.WriteByte(']')
	return b.String()
}

// Float32 returns the elements converted to float32. Floating-point types are
// rounded to nearest; integer types convert as Go's float32(x) does; BOOL
// gives 0 or 1.
func (a Array) Float32() ([]float32, error) {
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", a.Name, err)
	}
	sz := a.DType.Size()
	n := len(a.Data) / sz
	out := make([]float32, n)
	d := a.Data
	le := binary.LittleEndian
	for i := range out {
		p := d[i*sz : i*sz+sz]
		switch a.DType {
		case F64:
			out[i] = float32(math.Float64frombits(le.Uint64(p)))
		case F32:
			out[i] = math.Float32frombits(le.Uint32(p))
		case F16:
			out[i] = Float16ToFloat32(le.Uint16(p))
		case BF16:
			out[i] = BFloat16ToFloat32(le.Uint16(p))
		default:
			out[i] = float32(intAt(a.DType, p))
		}
	}
	return out, nil
}

// Int64 returns the elements converted to int64. It fails for floating-point
// types, which would need a rounding policy the caller should choose; BOOL
// gives 0 or 1.
func (a Array) Int64() ([]int64, error) {
	if a.DType.isFloat() {
		return nil, fmt.Errorf("tensor %q: dtype %s is not an integer type; use Float32", a.Name, a.DType)
	}
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", a.Name, err)
	}
	sz := a.DType.Size()
	out := make([]int64, len(a.Data)/sz)
	for i := range out {
		out[i] = intAt(a.DType, a.Data[i*sz:i*sz+sz])
	}
	return out, nil
}

// intAt decodes one little-endian integer or bool element.
func intAt(dt DType, p []byte) int64 {
	le := binary.LittleEndian
	switch dt {
	case I64:
		return int64(le.Uint64(p))
	case I32:
		return int64(int32(le.Uint32(p)))
	case I16:
		return int64(int16(le.Uint16(p)))
	case I8:
		return int64(int8(p[0]))
	case U8:
		return int64(p[0])
	case Bool:
		if p[0] != 0 {
			return 1
		}
		return 0
	}
	return 0
}
