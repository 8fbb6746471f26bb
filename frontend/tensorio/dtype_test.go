package tensorio

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDTypeSize(t *testing.T) {
	want := map[DType]int{F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, Bool: 1, "U16": 0, "": 0, "f32": 0}
	for dt, n := range want {
		assert.Equal(t, n, dt.Size(), "%q", dt)
	}
}

func TestLen(t *testing.T) {
	assert.Equal(t, 1, Array{}.Len(), "0-d scalar")
	assert.Equal(t, 6, Array{Shape: []int{2, 3}}.Len())
	assert.Equal(t, 0, Array{Shape: []int{2, 0, 3}}.Len())
	assert.Equal(t, -1, Array{Shape: []int{2, -3}}.Len())
	assert.Equal(t, -1, Array{Shape: []int{1 << 40, 1 << 40}}.Len())
	assert.Equal(t, -1, Array{Shape: []int{0, -1}}.Len(), "negative wins over zero")
}

func TestFromAndConvert(t *testing.T) {
	a := FromFloat32("w", []int{2, 2}, []float32{1, -2.5, float32(math.Inf(1)), 0})
	assert.Equal(t, F32, a.DType)
	assert.Equal(t, 4, a.Len())
	f, err := a.Float32()
	require.NoError(t, err)
	assert.Equal(t, []float32{1, -2.5, float32(math.Inf(1)), 0}, f)
	_, err = a.Int64()
	assert.EqualError(t, err, `tensor "w": dtype F32 is not an integer type; use Float32`)

	b := FromInt64("i", []int{3}, []int64{-1, 1 << 40, 7})
	v, err := b.Int64()
	require.NoError(t, err)
	assert.Equal(t, []int64{-1, 1 << 40, 7}, v)
	f, err = b.Float32()
	require.NoError(t, err)
	assert.Equal(t, []float32{-1, 1 << 40, 7}, f)

	// The constructors copy their inputs.
	shape := []int{1}
	vals := []float32{1}
	c := FromFloat32("c", shape, vals)
	shape[0], vals[0] = 9, 9
	assert.Equal(t, []int{1}, c.Shape)
	f, _ = c.Float32()
	assert.Equal(t, []float32{1}, f)

	// Mismatch between shape and values is reported on use.
	_, err = FromFloat32("bad", []int{5, 6}, make([]float32, 25)).Float32()
	assert.EqualError(t, err, `tensor "bad": data has 100 bytes, dtype F32 shape [5,6] needs 120`)
	_, err = Array{Name: "u", DType: "U16"}.Float32()
	assert.EqualError(t, err, `tensor "u": unknown dtype "U16"`)
	_, err = Array{Name: "n", DType: I8, Shape: []int{-1}}.Int64()
	assert.EqualError(t, err, `tensor "n": shape [-1] has negative dimension -1`)
}

func TestConversionsPerDType(t *testing.T) {
	cases := []struct {
		dt   DType
		data []byte
		f    []float32
		i    []int64 // nil: Int64 must fail
	}{
		{F64, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0}, []float32{1.5, -2}, nil},
		{F32, []byte{0, 0, 0xc0, 0x3f}, []float32{1.5}, nil},
		{F16, []byte{0x00, 0x3e, 0x00, 0xfc}, []float32{1.5, float32(math.Inf(-1))}, nil},
		{BF16, []byte{0xc0, 0x3f, 0x00, 0xc0}, []float32{1.5, -2}, nil},
		{I64, []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []float32{-2}, []int64{-2}},
		{I32, []byte{0xfe, 0xff, 0xff, 0xff, 5, 0, 0, 0}, []float32{-2, 5}, []int64{-2, 5}},
		{I16, []byte{0xfe, 0xff, 0x00, 0x80}, []float32{-2, -32768}, []int64{-2, -32768}},
		{I8, []byte{0xfe, 0x7f}, []float32{-2, 127}, []int64{-2, 127}},
		{U8, []byte{0xfe, 0x7f}, []float32{254, 127}, []int64{254, 127}},
		{Bool, []byte{0, 1, 2}, []float32{0, 1, 1}, []int64{0, 1, 1}},
	}
	for _, c := range cases {
		a := Array{Name: "x", DType: c.dt, Shape: []int{len(c.data) / c.dt.Size()}, Data: c.data}
		f, err := a.Float32()
		require.NoError(t, err, c.dt)
		assert.Equal(t, c.f, f, c.dt)
		i, err := a.Int64()
		if c.i == nil {
			assert.Error(t, err, c.dt)
		} else {
			require.NoError(t, err, c.dt)
			assert.Equal(t, c.i, i, c.dt)
		}
	}
}
