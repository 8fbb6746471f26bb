package kernels

import (
	"fmt"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/numerics"
)

// Indexing ops on static shapes, mirroring the evaluator's loops (topk,
// tile, trilu, one_hot, gather_elements, scatter_elements, gather_nd,
// scatter_nd), and resize through the evaluator's own interpolation
// (runtime/numerics). Integer and bool elements are held as int64.

// staticOf returns s's sizes, or an error saying op needs them static.
func staticOf(op ir.Kind, s ir.Shape) ([]int, error) {
	out := make([]int, len(s))
	for i, d := range s {
		if !d.Static() {
			return nil, fmt.Errorf("%s on the batch-dependent shape %s is not supported by the generated kernels yet", op, s)
		}
		out[i] = d.B
	}
	return out, nil
}

// strides returns the row-major strides of static sizes.
func strides(s []int) []int {
	st := make([]int, len(s))
	acc := 1
	for d := len(s) - 1; d >= 0; d-- {
		st[d] = acc
		acc *= s[d]
	}
	return st
}

// TopKShape is topk of K along an axis: the K largest (Largest) or
// smallest of each run, in order, stably (the first of equal values
// first; a NaN comes last either way, as ONNX's reference, numpy's
// argsort, puts it).
type TopKShape struct {
	AxisShape
	K       int
	Largest bool
	// Unsigned compares int64-held values as uint64 (u64 is held as its
	// bit pattern).
	Unsigned bool
}

// TopK writes each run's K values and their indices along the axis. A
// stable insertion sort of the run's positions (kernels.go imports no
// sort).
func TopK[T float32 | int64](s TopKShape, n int, vals []T, idx []int64, x []T) {
	Outer, L, Inner, K := s.Outer, s.L, s.Inner, s.K
	ord := make([]int, 0, K)
	for a := 0; a < Outer; a++ {
		for b := 0; b < Inner; b++ {
			base := a*L*Inner + b
			// A bounded stable insertion: position j goes after every
			// kept position it does not come before, and only the first
			// K are kept, so a run costs L·K steps at most, not L².
			ord = ord[:0]
			for j := 0; j < L; j++ {
				va := x[base+j*Inner]
				i := len(ord)
				for ; i > 0; i-- {
					vb := x[base+ord[i-1]*Inner]
					var before bool
					if s.Unsigned {
						if s.Largest {
							before = uint64(int64(va)) > uint64(int64(vb))
						} else {
							before = uint64(int64(va)) < uint64(int64(vb))
						}
					} else if s.Largest {
						before = va > vb || va == va && vb != vb
					} else {
						before = va < vb || va == va && vb != vb
					}
					if !before {
						break
					}
				}
				if i == K {
					continue
				}
				if len(ord) < K {
					ord = append(ord, 0)
				}
				copy(ord[i+1:], ord[i:len(ord)-1])
				ord[i] = j
			}
			ob := a*K*Inner + b
			for j := 0; j < K; j++ {
				vals[ob+j*Inner] = x[base+ord[j]*Inner]
				idx[ob+j*Inner] = int64(ord[j])
			}
		}
	}
}

// CopyNest is a copy of the elements of x that a loop nest visits, in
// order: operand 0 is the offset in x.
type CopyNest struct{ Loops tmpl.Nest }

// TileOf returns the shape of a tile node: per axis d a loop over the
// repeats (x's offset unchanged) around a loop over x's size (x's
// stride), so the output is written in order; loops of one are left
// out.
func TileOf(nd *ir.Node) (CopyNest, error) {
	xs, err := staticOf(ir.KTile, nd.Inputs[0].Type.Shape)
	if err != nil {
		return CopyNest{}, err
	}
	os, err := staticOf(ir.KTile, nd.Outputs[0].Type.Shape)
	if err != nil {
		return CopyNest{}, err
	}
	st := strides(xs)
	l := tmpl.Nest{Steps: [][]ir.Dim{nil}}
	for d := range xs {
		if xs[d] == 0 {
			return CopyNest{Loops: tmpl.Nest{Dims: []ir.Dim{ir.D(0)}, Steps: [][]ir.Dim{{ir.D(0)}}}}, nil
		}
		for _, lp := range [][2]int{{os[d] / xs[d], 0}, {xs[d], st[d]}} {
			if lp[0] != 1 { // a loop of one is none
				l.Dims = append(l.Dims, ir.D(lp[0]))
				l.Steps[0] = append(l.Steps[0], ir.D(lp[1]))
			}
		}
	}
	return CopyNest{Loops: l}, nil
}

// Tile copies the elements of x the nest visits into y, in order.
func Tile[T any](s CopyNest, n int, y, x []T) {
	o := 0
	for p := range s.Loops.Each(n, 0) {
		y[o] = x[p[0]]
		o++
	}
}

// TriluShape is trilu on Mats matrices of Rows×Cols: the upper triangle
// (Upper: col − row ≥ K) or the lower (col − row ≤ K) kept, the rest 0.
type TriluShape struct {
	Mats, Rows, Cols, K int
	Upper               bool
}

// TriluOf returns the shape of a trilu node.
func TriluOf(nd *ir.Node) (TriluShape, error) {
	o := nd.Op.(*ir.Trilu)
	x, err := staticOf(ir.KTrilu, nd.Inputs[0].Type.Shape)
	if err != nil {
		return TriluShape{}, err
	}
	r := len(x)
	s := TriluShape{Mats: 1, Rows: x[r-2], Cols: x[r-1], K: o.K, Upper: o.Upper}
	for _, d := range x[:r-2] {
		s.Mats *= d
	}
	return s, nil
}

// Trilu keeps one triangle of each matrix.
func Trilu[T float32 | int64](s TriluShape, n int, y, x []T) {
	Mats, Rows, Cols, K := s.Mats, s.Rows, s.Cols, s.K
	i := 0
	for m := 0; m < Mats; m++ {
		for row := 0; row < Rows; row++ {
			for col := 0; col < Cols; col++ {
				var keep bool
				if s.Upper {
					keep = col-row >= K
				} else {
					keep = col-row <= K
				}
				if keep {
					y[i] = x[i]
				} else {
					y[i] = 0
				}
				i++
			}
		}
	}
}

// OneHotShape is one_hot along an axis of L (the depth) of the output,
// Outer indices before it and Inner after: On at each index (negative:
// from the end; out of range: none), Off elsewhere.
type OneHotShape struct {
	AxisShape
	On, Off float64
}

// OneHotOf returns the shape of a one_hot node, or an error for an
// element type the kernel does not hold without wrapping.
func OneHotOf(nd *ir.Node) (OneHotShape, error) {
	o := nd.Op.(*ir.OneHot)
	if !o.DType.IsFloat() && !o.DType.IsInt() && o.DType != ir.Bool {
		return OneHotShape{}, fmt.Errorf("one_hot to %s is not supported by the generated kernels yet", o.DType)
	}
	ax, err := AxisOf(ir.KOneHot, nd.Outputs[0].Type.Shape, o.Axis)
	if err != nil {
		return OneHotShape{}, err
	}
	s := OneHotShape{AxisShape: ax, On: o.On, Off: o.Off}
	if !o.DType.IsFloat() { // the integers held, as the evaluator converts them
		s.On, s.Off = float64(int64(o.On)), float64(int64(o.Off))
	}
	return s, nil
}

// OneHot writes Off everywhere, then On at each index.
func OneHot[T, I float32 | int64](s OneHotShape, n int, y []T, idx []I) {
	Outer, L, Inner := s.Outer, s.L, s.Inner
	for i := range y[:Outer*L*Inner] {
		y[i] = T(s.Off)
	}
	for a := 0; a < Outer; a++ {
		for b := 0; b < Inner; b++ {
			v := int(idx[a*Inner+b])
			if v < 0 {
				v += L
			}
			if v >= 0 && v < L {
				y[(a*L+v)*Inner+b] = T(s.On)
			}
		}
	}
}

// ElementsShape is gather_elements or scatter_elements along an axis of
// L elements (stride Stride in x): Loops runs over the indices' shape
// with operand 0 the offset in x of the index's position less its
// coordinate on the axis (the indices and updates are read in order).
// Red is scatter's reduction ("", "none", "add", "mul", "max", "min").
type ElementsShape struct {
	Loops     tmpl.Nest
	L, Stride int
	Red       string
}

// ElementsOf returns the shape of a gather_elements or scatter_elements
// node; scatter's indices must not reach past the data on the other axes.
func ElementsOf(nd *ir.Node) (ElementsShape, error) {
	o := nd.Op.(*ir.AxisOp)
	xs, err := staticOf(o.K, nd.Inputs[0].Type.Shape)
	if err != nil {
		return ElementsShape{}, err
	}
	is, err := staticOf(o.K, nd.Inputs[1].Type.Shape)
	if err != nil {
		return ElementsShape{}, err
	}
	axis := NormAxis(o.Axis, len(xs))
	st := strides(xs)
	s := ElementsShape{L: xs[axis], Stride: st[axis], Red: o.Reduction, Loops: tmpl.Nest{Steps: [][]ir.Dim{nil}}}
	for d, v := range is {
		step := st[d]
		if d == axis {
			step = 0
		} else if o.K == ir.KScatterElements && v > xs[d] {
			return s, fmt.Errorf("scatter_elements with indices %v past the data %v is not supported by the generated kernels", is, xs)
		}
		s.Loops.Dims = append(s.Loops.Dims, ir.D(v))
		s.Loops.Steps[0] = append(s.Loops.Steps[0], ir.D(step))
	}
	if o.K == ir.KScatterElements {
		us, err := staticOf(o.K, nd.Inputs[2].Type.Shape)
		if err != nil {
			return s, err
		}
		if fmt.Sprint(us) != fmt.Sprint(is) {
			return s, fmt.Errorf("scatter_elements with updates %v unlike the indices %v is not supported by the generated kernels", us, is)
		}
	}
	return s, nil
}

// GatherElements reads each index's element of x along the axis.
func GatherElements[T any](s ElementsShape, n int, y, x []T, idx []int64) error {
	L, Stride := s.L, s.Stride
	o := 0
	for p := range s.Loops.Each(n, 0) {
		j := idx[o]
		if j < 0 {
			j += int64(L)
		}
		if j < 0 || j >= int64(L) {
			return fmt.Errorf("index %d out of range for size %d", idx[o], L)
		}
		y[o] = x[p[0]+int(j)*Stride]
		o++
	}
	return nil
}

// ScatterElements copies x, then combines each update into the element
// its index addresses along the axis.
func ScatterElements[T float32 | int64](s ElementsShape, n int, y, x []T, idx []int64, upd []T) error {
	L, Stride := s.L, s.Stride
	copy(y[:len(x)], x)
	o := 0
	for p := range s.Loops.Each(n, 0) {
		j := idx[o]
		if j < 0 {
			j += int64(L)
		}
		if j < 0 || j >= int64(L) {
			return fmt.Errorf("index %d out of range for size %d", idx[o], L)
		}
		at := p[0] + int(j)*Stride
		switch s.Red {
		case "add":
			y[at] += upd[o]
		case "mul":
			y[at] *= upd[o]
		case "max":
			y[at] = maxNaN(y[at], upd[o])
		case "min":
			y[at] = minNaN(y[at], upd[o])
		default:
			y[at] = upd[o]
		}
		o++
	}
	return nil
}

// maxNaN and minNaN are max and min that propagate a NaN, as the
// evaluator's combine.
func maxNaN[T float32 | int64](a, b T) T {
	if a != a || b != b {
		return a + b
	}
	return max(a, b)
}

func minNaN[T float32 | int64](a, b T) T {
	if a != a || b != b {
		return a + b
	}
	return min(a, b)
}

// NDShape is gather_nd or scatter_nd: Tuples index tuples of Q
// coordinates, each addressing a slice of Slice elements of x; the
// tuples split into batches of PerBatch, batch i at the offset of i in
// x's leading axes (sizes BatchDims, strides BatchStrides), coordinate k
// into Dims[k] elements of stride Strides[k]. Red is scatter's
// reduction, as ElementsShape's.
type NDShape struct {
	Tuples, Q, Slice, PerBatch int
	BatchDims, BatchStrides    []int
	Dims, Strides              []int
	Red                        string
}

// NDOf returns the shape of a gather_nd or scatter_nd node.
func NDOf(nd *ir.Node) (NDShape, error) {
	k := nd.Op.Kind()
	xs, err := staticOf(k, nd.Inputs[0].Type.Shape)
	if err != nil {
		return NDShape{}, err
	}
	is, err := staticOf(k, nd.Inputs[1].Type.Shape)
	if err != nil {
		return NDShape{}, err
	}
	b := 0
	s := NDShape{Q: is[len(is)-1], Slice: 1, Tuples: 1}
	switch o := nd.Op.(type) {
	case *ir.GatherND:
		b = o.BatchDims
	case *ir.ScatterND:
		s.Red = o.Reduction
	}
	st := strides(xs)
	for _, d := range xs[b+s.Q:] {
		s.Slice *= d
	}
	batch := 1
	for _, d := range is[:b] {
		batch *= d
	}
	for _, d := range is[:len(is)-1] {
		s.Tuples *= d
	}
	s.PerBatch = max(s.Tuples/max(batch, 1), 1)
	s.BatchDims, s.BatchStrides = xs[:b], st[:b]
	s.Dims, s.Strides = xs[b:b+s.Q], st[b:b+s.Q]
	if k == ir.KScatterND {
		if u := Numel(nd.Inputs[2].Type.Shape); u != ir.D(s.Tuples*s.Slice) {
			return s, fmt.Errorf("scatter_nd: updates %s do not match %d slices of %d elements", nd.Inputs[2].Type.Shape, s.Tuples, s.Slice)
		}
	}
	return s, nil
}

// GatherND copies each tuple's slice of x.
func GatherND[T any](s NDShape, n int, y, x []T, idx []int64) error {
	Tuples, Q, Slice, PerBatch := s.Tuples, s.Q, s.Slice, s.PerBatch
	bdims, bstrides, dims, strides := s.BatchDims, s.BatchStrides, s.Dims, s.Strides
	for t := 0; t < Tuples; t++ {
		rem, off := t/PerBatch, 0
		for d := len(bdims) - 1; d >= 0; d-- {
			off += rem % bdims[d] * bstrides[d]
			rem /= bdims[d]
		}
		for k := 0; k < Q; k++ {
			j := idx[t*Q+k]
			if j < 0 {
				j += int64(dims[k])
			}
			if j < 0 || j >= int64(dims[k]) {
				return fmt.Errorf("index %d out of range for size %d", idx[t*Q+k], dims[k])
			}
			off += int(j) * strides[k]
		}
		copy(y[t*Slice:(t+1)*Slice], x[off:off+Slice])
	}
	return nil
}

// ScatterND copies x, then combines each update slice into the slice its
// tuple addresses.
func ScatterND[T float32 | int64](s NDShape, n int, y, x []T, idx []int64, upd []T) error {
	Tuples, Q, Slice := s.Tuples, s.Q, s.Slice
	dims, strides := s.Dims, s.Strides
	copy(y[:len(x)], x)
	for t := 0; t < Tuples; t++ {
		off := 0
		for k := 0; k < Q; k++ {
			j := idx[t*Q+k]
			if j < 0 {
				j += int64(dims[k])
			}
			if j < 0 || j >= int64(dims[k]) {
				return fmt.Errorf("index %d out of range for size %d", idx[t*Q+k], dims[k])
			}
			off += int(j) * strides[k]
		}
		dst, u := y[off:off+Slice], upd[t*Slice:(t+1)*Slice]
		for k := range dst {
			switch s.Red {
			case "add":
				dst[k] += u[k]
			case "mul":
				dst[k] *= u[k]
			case "max":
				dst[k] = maxNaN(dst[k], u[k])
			case "min":
				dst[k] = minNaN(dst[k], u[k])
			default:
				dst[k] = u[k]
			}
		}
	}
	return nil
}

// ResizeShape is resize of static shape XS to OS by the evaluator's
// interpolation (numerics.Resize, its fields here); HasRoi says whether
// Roi is given (else the whole input).
type ResizeShape struct {
	Mode, Coord, Nearest      string
	CubicA, Extrapolation     float64
	ExcludeOutside, Antialias bool
	HasRoi                    bool
	Roi, Scales               []float64
	XS, OS                    []int
	N                         int // output elements
}

// ResizeOf returns the shape of a resize node.
func ResizeOf(nd *ir.Node) (ResizeShape, error) {
	o := nd.Op.(*ir.Resize)
	xs, err := staticOf(ir.KResize, nd.Inputs[0].Type.Shape)
	if err != nil {
		return ResizeShape{}, err
	}
	os, err := staticOf(ir.KResize, nd.Outputs[0].Type.Shape)
	if err != nil {
		return ResizeShape{}, err
	}
	return ResizeShape{Mode: o.Mode, Coord: o.Coord, Nearest: o.Nearest, CubicA: o.CubicA, Extrapolation: o.Extrapolation,
		ExcludeOutside: o.ExcludeOutside, Antialias: o.Antialias, HasRoi: o.Roi != nil, Roi: o.Roi, Scales: o.Scales,
		XS: xs, OS: os, N: Numel(nd.Outputs[0].Type.Shape).B}, nil
}

// Resize interpolates x into y (allocating numerics.Resize's per-axis
// buffers).
func Resize(s ResizeShape, n int, y, x []float32) {
	roi, scales, xs, os := s.Roi, s.Scales, s.XS, s.OS
	r := &numerics.Resize{Mode: s.Mode, Coord: s.Coord, Nearest: s.Nearest, CubicA: s.CubicA, Extrapolation: s.Extrapolation,
		ExcludeOutside: s.ExcludeOutside, Antialias: s.Antialias}
	if s.HasRoi {
		r.Roi = roi[:]
	}
	r.Float32(y[:s.N], x, xs[:], os[:], scales[:])
}

// GridSampleShape is grid_sample of static x shape XS at a grid of static
// shape GS by the evaluator's arithmetic (numerics.GridSample, its
// fields here).
type GridSampleShape struct {
	Mode, Padding string
	AlignCorners  bool
	XS, GS        []int
	N             int // output elements
}

// GridSampleOf returns the shape of a grid_sample node.
func GridSampleOf(nd *ir.Node) (GridSampleShape, error) {
	o := nd.Op.(*ir.GridSample)
	xs, err := staticOf(ir.KGridSample, nd.Inputs[0].Type.Shape)
	if err != nil {
		return GridSampleShape{}, err
	}
	gs, err := staticOf(ir.KGridSample, nd.Inputs[1].Type.Shape)
	if err != nil {
		return GridSampleShape{}, err
	}
	return GridSampleShape{Mode: o.Mode, Padding: o.Padding, AlignCorners: o.AlignCorners,
		XS: xs, GS: gs, N: Numel(nd.Outputs[0].Type.Shape).B}, nil
}

// GridSample samples x at grid into y (numerics.GridSample allocates
// nothing).
func GridSample(s GridSampleShape, n int, y, x, grid []float32) {
	xs, gs := s.XS, s.GS
	g := numerics.GridSample{Mode: s.Mode, Padding: s.Padding, AlignCorners: s.AlignCorners}
	g.Float32(y[:s.N], x, grid, xs[:], gs[:])
}

// DetMaxN is the largest matrix det's kernel takes (its scratch lives on
// the stack).
const DetMaxN = 16

// DetShape is det of B static n×n matrices.
type DetShape struct{ B, N int }

// DetOf returns the shape of a det node.
func DetOf(nd *ir.Node) (DetShape, error) {
	xs, err := staticOf(ir.KDet, nd.Inputs[0].Type.Shape)
	if err != nil {
		return DetShape{}, err
	}
	n := xs[len(xs)-1]
	if n > DetMaxN {
		return DetShape{}, fmt.Errorf("det of %d×%d matrices is not supported by the generated kernels yet (at most %d×%d)", n, n, DetMaxN, DetMaxN)
	}
	return DetShape{B: Numel(nd.Outputs[0].Type.Shape).B, N: n}, nil
}

// Det computes each matrix's determinant (numerics.Det, as the evaluator)
// with stack scratch.
func Det(s DetShape, n int, y, x []float32) {
	var a [DetMaxN * DetMaxN]float64
	for b := range s.B {
		y[b] = float32(numerics.Det(x[b*s.N*s.N:(b+1)*s.N*s.N], s.N, a[:]))
	}
}
