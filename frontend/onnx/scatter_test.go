package onnx_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend/onnx"
	"github.com/modelc/modelc/frontend/onnx/onnxpb"
	"github.com/modelc/modelc/ir"
)

func i64(shape []int, v ...int64) *ir.Tensor { return &ir.Tensor{DType: ir.I64, Shape: shape, I: v} }

func f32s(shape []int, v ...float32) *ir.Tensor { return &ir.Tensor{DType: ir.F32, Shape: shape, F: v} }

// TestReverseSequence reverses the first lens[b] steps of each batch row,
// with the batch on axis 0 and on axis 1.
func TestReverseSequence(t *testing.T) {
	for _, batchAxis := range []int64{0, 1} {
		m := newModel(10).input("x", 3, 3).node("ReverseSequence", []string{"x", "l"}, []string{"y"},
			attrInt("batch_axis", batchAxis), attrInt("time_axis", 1-batchAxis)).output("y")
		m.m.Graph.Input = append(m.m.Graph.Input, valueInfo("l", onnxpb.TensorProto_INT64, 3))
		g, err := onnx.Load(m.bytes(t), onnx.Options{})
		require.NoError(t, err)
		x := f32s([]int{3, 3}, 0, 1, 2, 3, 4, 5, 6, 7, 8)
		out, err := ir.Eval(g, x, i64([]int{3}, 1, 3, 2))
		require.NoError(t, err)
		want := []float32{0, 1, 2, 5, 4, 3, 7, 6, 8} // rows reversed by 1, 3, 2
		if batchAxis == 1 {
			want = []float32{0, 7, 5, 3, 4, 2, 6, 1, 8} // columns
		}
		require.Equal(t, want, out[0].F, "batch_axis %d", batchAxis)
	}
}

// TestTensorScatter writes two steps per batch row, at write_indices,
// wrapping in circular mode and failing past the end in linear mode.
func TestTensorScatter(t *testing.T) {
	model := func(mode string) []byte {
		m := newModel(24).input("past", 2, 4).input("upd", 2, 2).
			node("TensorScatter", []string{"past", "upd", "wi"}, []string{"y"}, attrString("mode", mode), attrInt("axis", 1)).output("y")
		m.m.Graph.Input = append(m.m.Graph.Input, valueInfo("wi", onnxpb.TensorProto_INT64, 2))
		return m.bytes(t)
	}
	past := f32s([]int{2, 4}, 0, 0, 0, 0, 0, 0, 0, 0)
	upd := f32s([]int{2, 2}, 1, 2, 3, 4)
	g, err := onnx.Load(model("circular"), onnx.Options{})
	require.NoError(t, err)
	out, err := ir.Eval(g, past, upd, i64([]int{2}, 1, 3))
	require.NoError(t, err)
	require.Equal(t, []float32{0, 1, 2, 0, 4, 0, 0, 3}, out[0].F)

	g, err = onnx.Load(model("linear"), onnx.Options{})
	require.NoError(t, err)
	out, err = ir.Eval(g, past, upd, i64([]int{2}, 2, 0))
	require.NoError(t, err)
	require.Equal(t, []float32{0, 0, 1, 2, 3, 4, 0, 0}, out[0].F)
	_, err = ir.Eval(g, past, upd, i64([]int{2}, 3, 0))
	require.ErrorContains(t, err, "out of range")
}

// TestMaxUnpoolNeedsOutputShape: output_shape fed as a graph input must
// be bound, and the error says which input and how.
func TestMaxUnpoolNeedsOutputShape(t *testing.T) {
	m := newModel(22).input("x", 1, 1, 2, 2).node("MaxUnpool", []string{"x", "i", "os"}, []string{"y"},
		attrInts("kernel_shape", 2, 2), attrInts("strides", 2, 2)).output("y")
	m.m.Graph.Input = append(m.m.Graph.Input, valueInfo("i", onnxpb.TensorProto_INT64, 1, 1, 2, 2), valueInfo("os", onnxpb.TensorProto_INT64, 4))
	_, err := onnx.Load(m.bytes(t), onnx.Options{})
	var need *onnx.NeedsValueError
	require.ErrorAs(t, err, &need)
	require.Equal(t, "os", need.Input)
	require.ErrorContains(t, err, "output_shape")
	g, err := onnx.Load(m.bytes(t), onnx.Options{Bind: map[string]*ir.Tensor{"os": i64([]int{4}, 1, 1, 3, 5)}})
	require.NoError(t, err)
	// Indices address the default 4×4 output, which output_shape crops to
	// 3 rows and pads to 5 columns.
	out, err := ir.Eval(g, f32s([]int{1, 1, 2, 2}, 1, 2, 3, 4), i64([]int{1, 1, 2, 2}, 0, 7, 9, 15))
	require.NoError(t, err)
	require.Equal(t, []int{1, 1, 3, 5}, out[0].Shape)
	require.Equal(t, []float32{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 3, 0, 0, 0}, out[0].F)
}

// TestCol2Im sums overlapping blocks: a 1×5 image from blocks of 1×2 at
// stride 1 with one pixel of padding on the left (L = 5 blocks).
func TestCol2Im(t *testing.T) {
	m := newModel(18).input("x", 1, 2, 5).ints("img", 1, 5).ints("blk", 1, 2).
		node("Col2Im", []string{"x", "img", "blk"}, []string{"y"}, attrInts("pads", 0, 1, 0, 0)).output("y")
	g, err := onnx.Load(m.bytes(t), onnx.Options{})
	require.NoError(t, err)
	// Row 0 is each block's first pixel, row 1 its second; block l covers
	// padded pixels l and l+1, image pixel j is padded pixel j+1.
	out, err := ir.Eval(g, f32s([]int{1, 2, 5}, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50))
	require.NoError(t, err)
	require.Equal(t, []int{1, 1, 1, 5}, out[0].Shape)
	require.Equal(t, []float32{10 + 2, 20 + 3, 30 + 4, 40 + 5, 50}, out[0].F)
}
