package kernels

import (
	"fmt"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Data movement: strided copies (transpose, expand, slice), block copies
// (concat, split), padding, layout changes and embedding lookups. They
// move float32 or int64 elements alike (T).

// StridedShape is a copy that reads the input at strided offsets: loops
// over the output's dimensions, carrying the input's offset from Base.
type StridedShape struct {
	Loops tmpl.Nest
	Base  ir.Dim
}

// NewStrided returns the shape of a copy to out reading the input at
// base + Σ index_d·steps_d.
func NewStrided(out ir.Shape, base ir.Dim, steps []ir.Dim) StridedShape {
	return StridedShape{Loops: tmpl.Nest{Dims: out, Steps: [][]ir.Dim{steps}}, Base: base}
}

// TransposeOf returns the shape of a transpose node.
func TransposeOf(nd *ir.Node) StridedShape {
	perm := nd.Op.(*ir.Transpose).Perm
	xs := RowStrides(nd.Inputs[0].Type.Shape)
	st := make([]ir.Dim, len(perm))
	for i, p := range perm {
		st[i] = xs[p]
	}
	return NewStrided(nd.Outputs[0].Type.Shape, ir.D(0), st)
}

// ExpandOf returns the shape of an expand node.
func ExpandOf(nd *ir.Node) StridedShape {
	in, out := nd.Inputs[0].Type.Shape, nd.Outputs[0].Type.Shape
	return NewStrided(out, ir.D(0), BroadcastStrides(in, out))
}

// SliceOf returns the shape of a slice node.
func SliceOf(nd *ir.Node) (StridedShape, error) {
	x := nd.Inputs[0].Type.Shape
	starts, _, steps, _, err := nd.Op.(*ir.Slice).Resolve(x)
	if err != nil {
		return StridedShape{}, err
	}
	xs := RowStrides(x)
	base := ir.D(0)
	st := make([]ir.Dim, len(x))
	for i := range x {
		base = base.Add(xs[i].MulInt(starts[i]))
		st[i] = xs[i].MulInt(steps[i])
	}
	return NewStrided(nd.Outputs[0].Type.Shape, base, st), nil
}

// Strided copies y[o] = x[base + Σ index_d·step_d] over the output in
// order.
func Strided[T any](s StridedShape, n int, y, x []T) {
	o := 0
	for p := range s.Loops.Each(n, s.Base.At(n)) {
		y[o] = x[p[0]]
		o++
	}
}

// RunsShape is a strided copy whose innermost axis is contiguous in the
// input as in the output: Run elements at a time, the outer axes by Loops.
type RunsShape struct {
	Loops tmpl.Nest
	Base  ir.Dim
	Run   int
}

// Runs returns s as whole-run copies when its innermost axis has a
// static length of at least 2 and reads the input with step 1 (a slice
// of the last axis, a transpose keeping it): copy moves a run at memory
// speed where Strided moves an element an iteration.
func Runs(s StridedShape) (RunsShape, bool) {
	dims, steps := s.Loops.Dims, s.Loops.Steps[0]
	r := len(dims)
	if r < 2 || !dims[r-1].Static() || dims[r-1].B < 2 || steps[r-1] != ir.D(1) {
		return RunsShape{}, false
	}
	return RunsShape{Loops: tmpl.Nest{Dims: dims[:r-1], Steps: [][]ir.Dim{steps[:r-1]}}, Base: s.Base, Run: dims[r-1].B}, true
}

// StridedRuns is Strided a run at a time (Runs).
func StridedRuns[T any](s RunsShape, n int, y, x []T) {
	Run := s.Run
	o := 0
	for p := range s.Loops.Each(n, s.Base.At(n)) {
		copy(y[o:o+Run], x[p[0]:p[0]+Run])
		o += Run
	}
}

// CopyShape is a copy of N elements (reshape, flatten).
type CopyShape struct{ N ir.Dim }

// Copy copies x to y.
func Copy[T any](s CopyShape, n int, y, x []T) {
	copy(y[:s.N.At(n)], x)
}

// BlocksShape is concat's or split's copies: along an axis of Len
// elements, part i has Sizes[i] of them starting at Starts[i]; Outer
// rows of parts, each element Inner values. Outer or Inner may grow with
// the batch: the batch may sit before the axis or after it (a stacked
// RNN's h_n, [layers·directions, N, H], is concatenated along axis 0).
type BlocksShape struct {
	Len           int
	Outer, Inner  ir.Dim
	Sizes, Starts []int
}

// NewBlocks returns the shape of parts of the given sizes along axis of
// whole, which must not be the batch's.
func NewBlocks(whole ir.Shape, axis int, sizes []int) (BlocksShape, error) {
	if !whole[axis].Static() {
		return BlocksShape{}, fmt.Errorf("concat or split of %s along axis %d, the batch's, is not supported by the generated kernels yet", whole, axis)
	}
	s := BlocksShape{Len: whole[axis].B, Inner: Numel(whole[axis+1:]), Outer: Numel(whole[:axis]), Sizes: sizes}
	at := 0
	for _, w := range sizes {
		s.Starts = append(s.Starts, at)
		at += w
	}
	return s, nil
}

// Concat copies each input's rows into its columns of the output.
func Concat[T any](s BlocksShape, n int, y []T, xs [][]T) {
	outer, L, inner := s.Outer.At(n), s.Len, s.Inner.At(n)
	for i, x := range xs {
		w, at := s.Sizes[i], s.Starts[i]
		for r := 0; r < outer; r++ {
			copy(y[(r*L+at)*inner:(r*L+at+w)*inner], x[r*w*inner:(r+1)*w*inner])
		}
	}
}

// Split copies each column range of the input into its output.
func Split[T any](s BlocksShape, n int, ys [][]T, x []T) {
	outer, L, inner := s.Outer.At(n), s.Len, s.Inner.At(n)
	for i, y := range ys {
		w, at := s.Sizes[i], s.Starts[i]
		for r := 0; r < outer; r++ {
			copy(y[r*w*inner:(r+1)*w*inner], x[(r*L+at)*inner:(r*L+at+w)*inner])
		}
	}
}

// PadShape is constant padding: the output filled with Value, then the
// region where input and output overlap copied (negative pads crop).
// An integer (or bool) tensor's Value is already truncated to an integer.
type PadShape struct {
	N            ir.Dim // output elements
	Value        float64
	Copy         tmpl.Nest // over the overlap: the output's and the input's offsets
	YBase, XBase ir.Dim
}

// PadOf returns the shape of a pad node.
func PadOf(nd *ir.Node) PadShape {
	p := nd.Op.(*ir.Pad)
	x, y := nd.Inputs[0].Type.Shape, nd.Outputs[0].Type.Shape
	r := x.Rank()
	xs, ys := RowStrides(x), RowStrides(y)
	v := p.Value
	if !nd.Inputs[0].Type.DType.IsFloat() {
		v = float64(int64(v)) // as Go converts
	}
	s := PadShape{N: Numel(y), Value: v, Copy: tmpl.Nest{Steps: [][]ir.Dim{ys, xs}}, YBase: ir.D(0), XBase: ir.D(0)}
	for d := range r {
		begin, end := p.Pads[d], p.Pads[r+d]
		// Output index j = input index + begin, for j in [max(0, begin),
		// min(Y, X + begin)).
		s.Copy.Dims = append(s.Copy.Dims, x[d].Add(ir.D(min(begin, 0)+min(end, 0))))
		s.YBase = s.YBase.Add(ys[d].MulInt(max(begin, 0)))
		s.XBase = s.XBase.Add(xs[d].MulInt(max(-begin, 0)))
	}
	return s
}

// Pad fills y with the value and copies the overlap.
func Pad[T float32 | int64](s PadShape, n int, y, x []T) {
	y = y[:s.N.At(n)]
	for i := range y {
		y[i] = T(s.Value)
	}
	for p := range s.Copy.Each(n, s.YBase.At(n), s.XBase.At(n)) {
		y[p[0]] = x[p[1]]
	}
}

// RelayoutShape converts images between NCHW and NHWC.
type RelayoutShape struct {
	C, HW  int
	ToNHWC bool
	Images ir.Dim // the parallel items
}

// RelayoutOf returns the shape of a relayout node, which converts
// between the logical layout and NHWC.
func RelayoutOf(nd *ir.Node) (RelayoutShape, error) {
	x, from, to := nd.Inputs[0].Type.Shape, nd.Inputs[0].Type.Layout, nd.Outputs[0].Type.Layout
	if x.Rank() != 4 || from == to || (from != ir.NHWC && to != ir.NHWC) || (from != ir.LayoutAny && to != ir.LayoutAny) {
		return RelayoutShape{}, fmt.Errorf("relayout from %q to %q of %s is not supported", from, to, x)
	}
	return RelayoutShape{C: x[1].B, HW: x[2].B * x[3].B, ToNHWC: to == ir.NHWC, Images: x[0]}, nil
}

// Relayout transposes images [lo, hi) from [C][H·W] to [H·W][C], or back.
func Relayout(s RelayoutShape, n, lo, hi int, y, x []float32) {
	C, HW := s.C, s.HW
	for b := lo; b < hi; b++ {
		src, dst := x[b*C*HW:(b+1)*C*HW], y[b*C*HW:(b+1)*C*HW]
		if s.ToNHWC {
			for ch := 0; ch < C; ch++ {
				for p, v := range src[ch*HW : (ch+1)*HW] {
					dst[p*C+ch] = v
				}
			}
		} else {
			for p := 0; p < HW; p++ {
				for ch, v := range src[p*C : (p+1)*C] {
					dst[ch*HW+p] = v
				}
			}
		}
	}
}

// EmbeddingShape is a lookup of Ids rows of D floats in a table of V.
type EmbeddingShape struct {
	V, D int
	Ids  ir.Dim
}

// EmbeddingOf returns the shape of an embedding node.
func EmbeddingOf(nd *ir.Node) EmbeddingShape {
	t := nd.Inputs[1].Type.Shape
	return EmbeddingShape{V: t[0].B, D: t[1].B, Ids: Numel(nd.Inputs[0].Type.Shape)}
}

// Embedding copies row ids[i] of the table to row i of y; an id outside
// the table is an error.
func Embedding(s EmbeddingShape, n int, y []float32, ids []int64, table []float32) error {
	V, D := s.V, s.D
	for i, id := range ids[:s.Ids.At(n)] {
		if id < 0 || id >= int64(V) {
			return fmt.Errorf("embedding: id %d at position %d is outside [0, %d)", id, i, V)
		}
		copy(y[i*D:(i+1)*D], table[int(id)*D:int(id+1)*D])
	}
	return nil
}
