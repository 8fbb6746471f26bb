package kernels

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// ints returns int64 type of shape s.
func i64(s ...ir.Dim) ir.Type { return ir.Type{DType: ir.I64, Shape: s} }

// runStrided runs Strided on float32 and (from the same values) int64
// data, and checks both against the reference.
func runStrided(t *testing.T, c opCase, s StridedShape, what string) {
	t.Helper()
	y := outBuf(c.out[0])
	Strided(s, c.n, y, c.in[0].F)
	matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], what)
	xi := make([]int64, len(c.in[0].F))
	for i, v := range c.in[0].F {
		xi[i] = int64(v * 1000)
	}
	yi := make([]int64, c.out[0].Numel())
	Strided(s, c.n, yi, xi)
	for i, v := range yi {
		require.Equal(t, int64(c.out[0].F[i]*1000), v, "%s: element %d as int64", what, i)
	}
	if rs, ok := Runs(s); ok {
		runs++
		y := outBuf(c.out[0])
		StridedRuns(rs, c.n, y, c.in[0].F)
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], what+" by runs")
		yi := make([]int64, c.out[0].Numel())
		StridedRuns(rs, c.n, yi, xi)
		for i, v := range yi {
			require.Equal(t, int64(c.out[0].F[i]*1000), v, "%s by runs: element %d as int64", what, i)
		}
	}
}

// runs counts the strided cases runStrided also ran as StridedRuns.
var runs int

func TestTranspose(t *testing.T) {
	r := rng(3)
	x := f32(ir.D(2), ir.N, ir.D(3), ir.D(4))
	for i := range 6 {
		perm := r.Perm(4)
		n := 1 + i%3
		c := evalOp(t, n, uint64(i), &ir.Transpose{Perm: perm}, x)
		runStrided(t, c, TransposeOf(c.node), ir.Describe(c.node.Op))
	}
}

func TestExpand(t *testing.T) {
	for i, sh := range [][2]ir.Shape{
		{{ir.N, ir.D(3), ir.D(1)}, {ir.N, ir.D(3), ir.D(4)}},
		{{ir.D(3), ir.D(1)}, {ir.D(2), ir.D(3), ir.D(4)}},
		{{ir.N, ir.D(1), ir.D(2)}, {ir.N, ir.D(5), ir.D(2)}},
		{{}, {ir.D(2), ir.D(3)}},
	} {
		c := evalOp(t, 2, uint64(i), &ir.Expand{Shape: sh[1]}, f32(sh[0]...))
		runStrided(t, c, ExpandOf(c.node), "expand to "+sh[1].String())
	}
}

func TestSlice(t *testing.T) {
	before := runs
	defer func() { require.Greater(t, runs, before+1, "slices of the last axis's whole rows run by runs") }()
	x := f32(ir.N, ir.D(7), ir.D(6))
	for i, op := range []*ir.Slice{
		{Starts: []int{1}, Ends: []int{5}, Axes: []int{1}},
		{Starts: []int{-1, 5}, Ends: []int{-100, 0}, Axes: []int{2, 1}, Steps: []int{-2, -1}},
		{Starts: []int{0, 2}, Ends: []int{1 << 40, 100}, Axes: []int{0, 2}, Steps: []int{1, 3}},
		{Starts: []int{2}, Ends: []int{5}, Axes: []int{2}}, // a column band: runs of 3
		{Starts: []int{1, 4}, Ends: []int{6, 6}, Axes: []int{1, 2}},
	} {
		c := evalOp(t, 3, uint64(i), op, x)
		s, err := SliceOf(c.node)
		require.NoError(t, err)
		runStrided(t, c, s, ir.Describe(op))
	}
}

func TestCopy(t *testing.T) {
	c := evalOp(t, 2, 1, &ir.Reshape{Shape: ir.Shape{ir.N, ir.D(12)}}, f32(ir.N, ir.D(3), ir.D(4)))
	y := outBuf(c.out[0])
	Copy(CopyShape{N: Numel(c.node.Outputs[0].Type.Shape)}, 2, y, c.in[0].F)
	matches(t, guarded(t, y, 24), c.out[0], "reshape")
}

func TestConcatSplit(t *testing.T) {
	for axis, shapes := range [][]ir.Shape{
		{{ir.N, ir.D(2), ir.D(3)}, {ir.N, ir.D(2), ir.D(3)}, {ir.N, ir.D(2), ir.D(3)}},
		{{ir.N, ir.D(1), ir.D(3)}, {ir.N, ir.D(4), ir.D(3)}},
		{{ir.N, ir.D(2), ir.D(3)}, {ir.N, ir.D(2), ir.D(1)}},
	} {
		var ins []ir.Type
		var sizes []int
		for _, s := range shapes {
			ins = append(ins, f32(s...))
			if axis > 0 {
				sizes = append(sizes, s[axis].B)
			}
		}
		if axis == 0 {
			continue // the batch axis: not generated
		}
		c := evalOp(t, 2, uint64(axis), &ir.Concat{Axis: axis}, ins...)
		s, err := NewBlocks(c.node.Outputs[0].Type.Shape, axis, sizes)
		require.NoError(t, err)
		y := outBuf(c.out[0])
		var xs [][]float32
		for _, in := range c.in {
			xs = append(xs, in.F)
		}
		Concat(s, 2, y, xs)
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "concat")

		// Split the concatenation back.
		sp := evalOp(t, 2, uint64(axis), &ir.Split{Axis: axis, Sizes: sizes}, c.node.Outputs[0].Type)
		ys := make([][]float32, len(sizes))
		for i := range ys {
			ys[i] = make([]float32, sp.out[i].Numel())
		}
		Split(s, 2, ys, sp.in[0].F)
		for i := range ys {
			matches(t, ys[i], sp.out[i], "split")
		}
	}
	// The batch after the axis: a stacked RNN's h_n, [layers, N, H].
	c := evalOp(t, 3, 9, &ir.Concat{Axis: 0}, f32(ir.D(1), ir.N, ir.D(3)), f32(ir.D(2), ir.N, ir.D(3)))
	s, err := NewBlocks(c.node.Outputs[0].Type.Shape, 0, []int{1, 2})
	require.NoError(t, err)
	y := outBuf(c.out[0])
	Concat(s, 3, y, [][]float32{c.in[0].F, c.in[1].F})
	matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "concat before the batch")
	ys := [][]float32{make([]float32, c.in[0].Numel()), make([]float32, c.in[1].Numel())}
	Split(s, 3, ys, c.out[0].F)
	require.Equal(t, c.in[0].F, ys[0])
	require.Equal(t, c.in[1].F, ys[1])
	_, err = NewBlocks(ir.Shape{ir.N, ir.D(2)}, 0, []int{1, 1})
	require.Error(t, err, "along the batch axis")
}

func TestPad(t *testing.T) {
	x := f32(ir.N, ir.D(4), ir.D(5))
	for i, pads := range [][]int{
		{0, 1, 2, 0, 3, 0},
		{0, -1, 2, 1, -2, -1},
		{1, 0, 0, 2, 0, 0},
		{0, -4, 0, 0, 1, 0},
	} {
		c := evalOp(t, 2, uint64(i), &ir.Pad{Pads: pads, Value: 0.5}, x)
		y := outBuf(c.out[0])
		Pad(PadOf(c.node), 2, y, c.in[0].F)
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
	}
}

func TestRelayout(t *testing.T) {
	x := ir.Tensor{DType: ir.F32, Shape: []int{2, 3, 4, 5}, F: make([]float32, 120)}
	for i := range x.F {
		x.F[i] = float32(i)
	}
	shape := ir.Shape{ir.N, ir.D(3), ir.D(4), ir.D(5)}
	node := func(from, to ir.Layout) *ir.Node {
		return &ir.Node{Op: ir.Simple{K: ir.KRelayout},
			Inputs:  []*ir.Value{{Type: ir.Type{DType: ir.F32, Shape: shape, Layout: from}}},
			Outputs: []*ir.Value{{Type: ir.Type{DType: ir.F32, Shape: shape, Layout: to}}}}
	}
	s, err := RelayoutOf(node(ir.LayoutAny, ir.NHWC))
	require.NoError(t, err)
	y := make([]float32, 120)
	chunks(2, 1, func(lo, hi int) { Relayout(s, 2, lo, hi, y, x.F) })
	require.Equal(t, nhwc(&x), y)
	s, err = RelayoutOf(node(ir.NHWC, ir.LayoutAny))
	require.NoError(t, err)
	back := make([]float32, 120)
	Relayout(s, 2, 0, 2, back, y)
	require.Equal(t, x.F, back)
	_, err = RelayoutOf(node(ir.NHWC, ir.NHWC))
	require.Error(t, err)
}

func TestEmbedding(t *testing.T) {
	c := evalOp(t, 3, 1, ir.Simple{K: ir.KEmbedding}, i64(ir.N, ir.D(4)), f32(ir.D(2), ir.D(6)))
	s := EmbeddingOf(c.node)
	y := outBuf(c.out[0])
	require.NoError(t, Embedding(s, 3, y, c.in[0].I, c.in[1].F))
	matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "embedding")
	c.in[0].I[5] = 2
	require.EqualError(t, Embedding(s, 3, y, c.in[0].I, c.in[1].F), "embedding: id 2 at position 5 is outside [0, 2)")
}
