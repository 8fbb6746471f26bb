package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// ints returns the int64 type of static shape s.
func ints(s ...int) ir.Type {
	sh := ir.Shape{}
	for _, d := range s {
		sh = append(sh, ir.D(d))
	}
	return ir.Type{DType: ir.I64, Shape: sh}
}

// st returns the f32 type of static shape s.
func st(s ...int) ir.Type {
	t := ints(s...)
	t.DType = ir.F32
	return t
}

// indices fills input k with indices in [-l, l) (negative ones count
// from the end), or with one out of range when bad.
func indices(k, l int, bad bool) func([]*ir.Tensor) {
	return func(in []*ir.Tensor) {
		r := rng(uint64(l))
		for i := range in[k].I {
			in[k].I[i] = int64(r.IntN(2*l) - l)
		}
		if bad {
			in[k].I[len(in[k].I)/2] = int64(l)
		}
	}
}

// TestTopK runs topk, largest and smallest, along each axis, on floats
// with ties and a NaN and on integers.
func TestTopK(t *testing.T) {
	x := ir.Shape{ir.D(2), ir.D(5), ir.D(3)}
	for axis := -1; axis < 3; axis++ {
		for _, largest := range []bool{false, true} {
			ax, err := AxisOf(ir.KTopK, x, axis)
			require.NoError(t, err)
			op := &ir.TopK{Axis: axis, K: min(2, ax.L), Largest: largest, Sorted: true}
			s := TopKShape{AxisShape: ax, K: op.K, Largest: largest}
			c := evalOpWith(t, 1, uint64(axis+1), op, func(in []*ir.Tensor) {
				for i := range in[0].F {
					in[0].F[i] = float32(i % 4) // ties
				}
				in[0].F[7] = float32(math.NaN())
			}, f32(x...))
			vals, idx := make([]float32, c.out[0].Numel()), make([]int64, c.out[1].Numel())
			TopK(s, 1, vals, idx, c.in[0].F)
			require.NoError(t, matchErr(vals, c.out[0].F), ir.Describe(op))
			require.Equal(t, c.out[1].I, idx, ir.Describe(op))

			ci := evalOp(t, 1, uint64(axis+5), op, ir.Type{DType: ir.I64, Shape: x})
			ivals := make([]int64, c.out[0].Numel())
			TopK(s, 1, ivals, idx, ci.in[0].I)
			require.Equal(t, ci.out[0].I, ivals, "%s on i64", ir.Describe(op))
			require.Equal(t, ci.out[1].I, idx, "%s on i64", ir.Describe(op))

			// u64 is held as its bit pattern: values past 2⁶³ are negative
			// int64s and must still order above the small ones.
			cu := evalOpWith(t, 1, uint64(axis+9), op, fillU64, ir.Type{DType: ir.U64, Shape: x})
			su := s
			su.Unsigned = true
			TopK(su, 1, ivals, idx, cu.in[0].I)
			require.Equal(t, cu.out[0].I, ivals, "%s on u64", ir.Describe(op))
			require.Equal(t, cu.out[1].I, idx, "%s on u64", ir.Describe(op))
		}
	}
}

// TestTopKLongRuns: runs much longer than K (a vocabulary's logits), with
// ties and NaNs, take the bounded insertion's early exits; NaN comes last
// for the largest and for the smallest.
func TestTopKLongRuns(t *testing.T) {
	x := ir.Shape{ir.D(2), ir.D(300)}
	for _, largest := range []bool{true, false} {
		for _, k := range []int{1, 3, 17} {
			op := &ir.TopK{Axis: 1, K: k, Largest: largest, Sorted: true}
			ax, err := AxisOf(ir.KTopK, x, 1)
			require.NoError(t, err)
			c := evalOpWith(t, 1, uint64(k), op, func(in []*ir.Tensor) {
				for i := range in[0].F {
					in[0].F[i] = float32(i * 37 % 101) // ties
				}
				for _, i := range []int{0, 5, 300, 301} {
					in[0].F[i] = float32(math.NaN())
				}
			}, f32(x...))
			vals, idx := make([]float32, c.out[0].Numel()), make([]int64, c.out[1].Numel())
			TopK(TopKShape{AxisShape: ax, K: k, Largest: largest}, 1, vals, idx, c.in[0].F)
			require.NoError(t, matchErr(vals, c.out[0].F), ir.Describe(op))
			require.Equal(t, c.out[1].I, idx, ir.Describe(op))
		}
	}
}

func TestTile(t *testing.T) {
	for _, reps := range [][]int{{1, 1, 1}, {2, 1, 3}, {3, 2, 1}} {
		op := &ir.Tile{Repeats: reps}
		c := evalOpWith(t, 1, 1, op, nil, st(2, 3, 2))
		s, err := TileOf(c.node)
		require.NoError(t, err)
		y := outBuf(c.out[0])
		Tile(s, 1, y, c.in[0].F)
		require.Equal(t, c.out[0].F, guarded(t, y, c.out[0].Numel()), ir.Describe(op))
	}
}

func TestTrilu(t *testing.T) {
	for _, upper := range []bool{false, true} {
		for _, k := range []int{-2, 0, 1, 5} {
			op := &ir.Trilu{Upper: upper, K: k}
			c := evalOp(t, 1, 2, op, st(2, 3, 4))
			s, err := TriluOf(c.node)
			require.NoError(t, err)
			y := outBuf(c.out[0])
			Trilu(s, 1, y, c.in[0].F)
			require.Equal(t, c.out[0].F, guarded(t, y, c.out[0].Numel()), ir.Describe(op))
		}
	}
}

// TestOneHot runs one_hot along each axis to floats and integers, from
// integer and float indices (some negative, some out of range).
func TestOneHot(t *testing.T) {
	for axis := -3; axis < 3; axis++ {
		for _, dt := range []ir.DType{ir.F32, ir.I64} {
			op := &ir.OneHot{Axis: axis, Depth: 4, On: 3, Off: -1, DType: dt}
			c := evalOpWith(t, 1, 3, op, func(in []*ir.Tensor) {
				for i := range in[0].I {
					in[0].I[i] = int64(i%11 - 5)
				}
			}, ints(2, 3))
			s, err := OneHotOf(c.node)
			require.NoError(t, err)
			if dt == ir.F32 {
				y := make([]float32, c.out[0].Numel())
				OneHot(s, 1, y, c.in[0].I)
				require.Equal(t, c.out[0].F, y, ir.Describe(op))
				xf := make([]float32, len(c.in[0].I))
				for i, v := range c.in[0].I {
					xf[i] = float32(v)
				}
				OneHot(s, 1, y, xf)
				require.Equal(t, c.out[0].F, y, "%s from float indices", ir.Describe(op))
				continue
			}
			y := make([]int64, c.out[0].Numel())
			OneHot(s, 1, y, c.in[0].I)
			require.Equal(t, c.out[0].I, y, ir.Describe(op))
		}
	}
}

// TestGatherScatterElements runs gather_elements and scatter_elements
// (every reduction) along each axis; an index out of range is an error.
func TestGatherScatterElements(t *testing.T) {
	x, idx := st(3, 4, 2), ints(2, 4, 2)
	for axis := -1; axis < 3; axis++ {
		l := []int{3, 4, 2}[NormAxis(axis, 3)]
		op := &ir.AxisOp{K: ir.KGatherElements, Axis: axis}
		c := evalOpWith(t, 1, 4, op, indices(1, l, false), x, idx)
		s, err := ElementsOf(c.node)
		require.NoError(t, err)
		y := outBuf(c.out[0])
		require.NoError(t, GatherElements(s, 1, y, c.in[0].F, c.in[1].I))
		require.Equal(t, c.out[0].F, guarded(t, y, c.out[0].Numel()), ir.Describe(op))
		indices(1, l, true)(c.in)
		require.ErrorContains(t, GatherElements(s, 1, y, c.in[0].F, c.in[1].I), "out of range")

		for _, red := range []string{"none", "add", "mul", "max", "min"} {
			op := &ir.AxisOp{K: ir.KScatterElements, Axis: axis, Reduction: red}
			c := evalOpWith(t, 1, 5, op, func(in []*ir.Tensor) {
				indices(1, l, false)(in)
				in[0].F[3] = float32(math.NaN())
			}, x, idx, st(2, 4, 2))
			s, err := ElementsOf(c.node)
			require.NoError(t, err)
			y := outBuf(c.out[0])
			require.NoError(t, ScatterElements(s, 1, y, c.in[0].F, c.in[1].I, c.in[2].F))
			require.NoError(t, matchErr(guarded(t, y, c.out[0].Numel()), c.out[0].F), ir.Describe(op))
			indices(1, l, true)(c.in)
			require.ErrorContains(t, ScatterElements(s, 1, y, c.in[0].F, c.in[1].I, c.in[2].F), "out of range")
		}
	}
}

// TestGatherScatterND runs gather_nd (with and without batch axes) and
// scatter_nd (every reduction).
func TestGatherScatterND(t *testing.T) {
	x := st(2, 3, 4)
	for _, c := range []struct {
		idx   ir.Type
		batch int
	}{{ints(2, 1), 0}, {ints(3, 2), 0}, {ints(2, 2, 3), 0}, {ints(2, 1), 1}, {ints(2, 3, 2), 1}, {ints(2, 0), 0}} {
		op := &ir.GatherND{BatchDims: c.batch}
		q := c.idx.Shape[c.idx.Shape.Rank()-1].B
		ev := evalOpWith(t, 1, 6, op, func(in []*ir.Tensor) {
			for i := range in[1].I {
				l := []int{2, 3, 4}[c.batch+i%max(q, 1)]
				in[1].I[i] = int64(i*7%(2*l) - l)
			}
		}, x, c.idx)
		s, err := NDOf(ev.node)
		require.NoError(t, err)
		y := outBuf(ev.out[0])
		require.NoError(t, GatherND(s, 1, y, ev.in[0].F, ev.in[1].I))
		require.Equal(t, ev.out[0].F, guarded(t, y, ev.out[0].Numel()), ir.Describe(op))
		if q > 0 {
			ev.in[1].I[0] = 9
			require.ErrorContains(t, GatherND(s, 1, y, ev.in[0].F, ev.in[1].I), "out of range")
		}
	}
	for _, red := range []string{"none", "add", "mul", "max", "min"} {
		op := &ir.ScatterND{Reduction: red}
		c := evalOpWith(t, 1, 7, op, func(in []*ir.Tensor) {
			copy(in[1].I, []int64{1, -1, 0, 2})
			in[2].F[1] = float32(math.NaN())
		}, x, ints(2, 2), st(2, 4))
		s, err := NDOf(c.node)
		require.NoError(t, err)
		y := outBuf(c.out[0])
		require.NoError(t, ScatterND(s, 1, y, c.in[0].F, c.in[1].I, c.in[2].F))
		require.NoError(t, matchErr(guarded(t, y, c.out[0].Numel()), c.out[0].F), ir.Describe(op))
		c.in[1].I[2] = -3
		require.ErrorContains(t, ScatterND(s, 1, y, c.in[0].F, c.in[1].I, c.in[2].F), "out of range")
	}
}

// TestResize runs resize in several modes, with and without a region of
// interest.
func TestResize(t *testing.T) {
	ops := []*ir.Resize{
		{Sizes: []int{1, 2, 6, 5}, Scales: []float64{1, 1, 2, 5.0 / 3}, Mode: "nearest", Coord: "asymmetric", Nearest: "floor"},
		{Sizes: []int{1, 2, 6, 5}, Scales: []float64{1, 1, 2, 5.0 / 3}, Mode: "linear", Coord: "half_pixel", Nearest: "round_prefer_floor"},
		{Sizes: []int{1, 2, 2, 2}, Scales: []float64{1, 1, 2.0 / 3, 2.0 / 3}, Mode: "cubic", Coord: "align_corners", Nearest: "round_prefer_floor", CubicA: -0.75, Antialias: true},
		{Sizes: []int{1, 2, 4, 4}, Scales: []float64{1, 1, 4.0 / 3, 4.0 / 3}, Mode: "linear", Coord: "tf_crop_and_resize", Nearest: "round_prefer_floor",
			Roi: []float64{0, 0, 0.2, 0.1, 1, 1, 0.9, 1.2}, Extrapolation: 7},
	}
	for i, op := range ops {
		c := evalOp(t, 1, uint64(i), op, st(1, 2, 3, 3))
		s, err := ResizeOf(c.node)
		require.NoError(t, err)
		y := outBuf(c.out[0])
		Resize(s, 1, y, c.in[0].F)
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(op))
	}
}

// fillU64 gives a u64 input values on both sides of 2⁶³, with ties.
func fillU64(in []*ir.Tensor) {
	for i := range in[0].I {
		v := uint64(i % 4)
		if i%3 == 0 {
			v += 1 << 63
		}
		in[0].I[i] = int64(v)
	}
}

// TestGridSample runs grid_sample in each mode and padding, 2-D and 3-D,
// against the evaluator.
func TestGridSample(t *testing.T) {
	ops := []*ir.GridSample{
		{Mode: "linear", Padding: "zeros"},
		{Mode: "nearest", Padding: "border", AlignCorners: true},
		{Mode: "cubic", Padding: "reflection"},
	}
	for i, op := range ops {
		for _, ty := range [][2]ir.Type{{st(2, 3, 4, 5), st(2, 3, 2, 2)}, {st(1, 2, 3, 4, 2), st(1, 2, 2, 3, 3)}} {
			if op.Mode == "cubic" && ty[0].Shape.Rank() != 4 {
				continue
			}
			c := evalOp(t, 1, uint64(i), op, ty[0], ty[1])
			s, err := GridSampleOf(c.node)
			require.NoError(t, err)
			y := outBuf(c.out[0])
			GridSample(s, 1, y, c.in[0].F, c.in[1].F)
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(op))
		}
	}
}

// TestDet runs det on a batch of 3×3 matrices and on one 1×1 against the
// evaluator.
func TestDet(t *testing.T) {
	for i, ty := range []ir.Type{st(2, 4, 3, 3), st(1, 1)} {
		c := evalOp(t, 1, uint64(i), ir.Simple{K: ir.KDet}, ty)
		s, err := DetOf(c.node)
		require.NoError(t, err)
		y := outBuf(c.out[0])
		Det(s, 1, y, c.in[0].F)
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "det")
	}
}
