package ir

import (
	"fmt"
	"strings"
)

// Indexing ops, as ONNX defines them (negative indices count from the
// end; an index out of range is an evaluation error):
//
//	tile {repeats}(x)                      x repeated repeats[i] times along axis i
//	trilu {upper, k}(x)                    the lower (upper) triangle of the last two
//	                                       axes from diagonal k, zeros elsewhere
//	one_hot {axis, depth, off, on, dtype}(indices)
//	                                       on at each index along a new axis, off elsewhere
//	gather_elements {axis}(x, idx)         out[i…] = x[i… with axis i replaced by idx[i…]]
//	scatter_elements {axis, reduction}(x, idx, upd)
//	                                       x with upd written (or combined) at gather_elements' places
//	gather_nd {batch_dims}(x, idx)         slices of x at the index tuples in idx's last axis
//	scatter_nd {reduction}(x, idx, upd)    x with upd written (or combined) at gather_nd's places
//	einsum {equation}(x…)                  Einstein summation, explicit or implicit output
//
// Reductions of the scatters: "" (none: the last write wins), add, mul,
// max, min.

// Tile repeats x along each axis.
type Tile struct {
	Repeats []int `attr:"repeats"`
}

func (*Tile) Kind() Kind { return KTile }

// Trilu keeps one triangle of the last two axes.
type Trilu struct {
	Upper bool `attr:"upper"`
	K     int  `attr:"k"`
}

func (*Trilu) Kind() Kind { return KTrilu }

// OneHot expands indices to one-hot vectors along a new axis Axis of
// size Depth.
type OneHot struct {
	Axis  int     `attr:"axis"`
	Depth int     `attr:"depth"`
	Off   float64 `attr:"off"`
	On    float64 `attr:"on"`
	DType DType   `attr:"dtype"`
}

func (*OneHot) Kind() Kind { return KOneHot }

// AxisOp is gather_elements or scatter_elements, along Axis.
type AxisOp struct {
	K         Kind
	Axis      int    `attr:"axis"`
	Reduction string `attr:"reduction"`
}

func (o *AxisOp) Kind() Kind { return o.K }

// GatherND gathers slices addressed by index tuples.
type GatherND struct {
	BatchDims int `attr:"batch_dims"`
}

func (*GatherND) Kind() Kind { return KGatherND }

// ScatterND writes slices at index tuples.
type ScatterND struct {
	Reduction string `attr:"reduction"`
}

func (*ScatterND) Kind() Kind { return KScatterND }

// Einsum is Einstein summation over Equation ("ij,jk->ik").
type Einsum struct {
	Equation string `attr:"equation"`
}

func (*Einsum) Kind() Kind { return KEinsum }

func init() {
	ops[KTile] = OpInfo{"tile", 1, 1, func() Op { return &Tile{} }, inferTile}
	evalTable[KTile] = evalTile
	ops[KTrilu] = OpInfo{"trilu", 1, 1, func() Op { return &Trilu{Upper: true} }, inferTrilu}
	evalTable[KTrilu] = evalTrilu
	ops[KOneHot] = OpInfo{"one_hot", 1, 1, func() Op { return &OneHot{Axis: -1, On: 1, DType: F32} }, inferOneHot}
	evalTable[KOneHot] = evalOneHot
	ops[KGatherElements] = OpInfo{"gather_elements", 2, 2, func() Op { return &AxisOp{K: KGatherElements} }, inferGatherElements}
	evalTable[KGatherElements] = evalGatherElements
	ops[KScatterElements] = OpInfo{"scatter_elements", 3, 3, func() Op { return &AxisOp{K: KScatterElements} }, inferScatter}
	evalTable[KScatterElements] = evalScatterElements
	ops[KGatherND] = OpInfo{"gather_nd", 2, 2, func() Op { return &GatherND{} }, inferGatherND}
	evalTable[KGatherND] = evalGatherND
	ops[KScatterND] = OpInfo{"scatter_nd", 3, 3, func() Op { return &ScatterND{} }, inferScatter}
	evalTable[KScatterND] = evalScatterND
	ops[KEinsum] = OpInfo{"einsum", 1, -1, func() Op { return &Einsum{} }, inferEinsum}
	evalTable[KEinsum] = evalEinsum
}

// staticShape returns s as ints, or an error naming what needs it.
func staticShape(s Shape, what string) ([]int, error) {
	out := make([]int, len(s))
	for i, d := range s {
		if !d.Static() {
			return nil, fmt.Errorf("%s needs static dimensions, got %s", what, s)
		}
		out[i] = d.B
	}
	return out, nil
}

func inferTile(op Op, in []Type) ([]Type, error) {
	r := op.(*Tile).Repeats
	x := in[0].Shape
	if len(r) != x.Rank() {
		return nil, fmt.Errorf("repeats %v must have rank %d entries", r, x.Rank())
	}
	out := x.Clone()
	for i, n := range r {
		if n < 0 {
			return nil, fmt.Errorf("negative repeat %d", n)
		}
		out[i] = x[i].MulInt(n)
	}
	return one(TensorType(in[0].DType, out)), nil
}

func inferTrilu(op Op, in []Type) ([]Type, error) {
	if in[0].Shape.Rank() < 2 {
		return nil, fmt.Errorf("input must have rank ≥ 2, got %s", in[0].Shape)
	}
	return inferUnary(op, in)
}

func inferOneHot(op Op, in []Type) ([]Type, error) {
	o := op.(*OneHot)
	if !in[0].DType.IsInt() && !in[0].DType.IsFloat() {
		return nil, fmt.Errorf("indices must be numeric, got %s", in[0].DType)
	}
	if o.Depth < 1 {
		return nil, fmt.Errorf("depth %d must be positive", o.Depth)
	}
	r := in[0].Shape.Rank() + 1
	a, err := normAxis(o.Axis, r)
	if err != nil {
		return nil, err
	}
	x := in[0].Shape
	out := append(append(x[:a].Clone(), D(o.Depth)), x[a:]...)
	return one(TensorType(o.DType, out)), nil
}

func inferGatherElements(op Op, in []Type) ([]Type, error) {
	if in[0].Shape.Rank() != in[1].Shape.Rank() || !in[1].DType.IsInt() {
		return nil, fmt.Errorf("indices must be integers of the data's rank, got %s%s", in[1].DType, in[1].Shape)
	}
	if _, err := normAxis(op.(*AxisOp).Axis, in[0].Shape.Rank()); err != nil {
		return nil, err
	}
	return one(TensorType(in[0].DType, in[1].Shape.Clone())), nil
}

func inferScatter(op Op, in []Type) ([]Type, error) {
	if !in[1].DType.IsInt() {
		return nil, fmt.Errorf("indices must be integers, got %s", in[1].DType)
	}
	if in[2].DType != in[0].DType {
		return nil, fmt.Errorf("updates dtype %s differs from the data's %s", in[2].DType, in[0].DType)
	}
	red := ""
	switch o := op.(type) {
	case *AxisOp:
		red = o.Reduction
		if _, err := normAxis(o.Axis, in[0].Shape.Rank()); err != nil {
			return nil, err
		}
	case *ScatterND:
		red = o.Reduction
	}
	switch red {
	case "", "none", "add", "mul", "max", "min":
	default:
		return nil, fmt.Errorf("reduction %q (want none, add, mul, max or min)", red)
	}
	return inferUnary(op, in)
}

func inferGatherND(op Op, in []Type) ([]Type, error) {
	b := op.(*GatherND).BatchDims
	x, idx := in[0].Shape, in[1].Shape
	if !in[1].DType.IsInt() || idx.Rank() < 1 {
		return nil, fmt.Errorf("indices must be integers of rank ≥ 1, got %s%s", in[1].DType, idx)
	}
	last := idx[idx.Rank()-1]
	if !last.Static() || b < 0 || b >= min(x.Rank(), idx.Rank()) || last.B > x.Rank()-b {
		return nil, fmt.Errorf("indices %s do not address data %s with batch_dims %d", idx, x, b)
	}
	out := append(idx[:idx.Rank()-1].Clone(), x[b+last.B:]...)
	return one(TensorType(in[0].DType, out)), nil
}

// einsumSpec is a parsed equation: one label string per input, the output's.
type einsumSpec struct {
	ins []string
	out string
}

// EinsumLabels parses equation eq for operands of the given ranks, as
// shape inference and the evaluator do: one label string per operand, and
// the output's (explicit, or implicit: the labels that occur once, in
// alphabetical order).
func EinsumLabels(eq string, ranks []int) (ins []string, out string, err error) {
	sp, err := parseEinsum(eq, ranks)
	return sp.ins, sp.out, err
}

func parseEinsum(eq string, ranks []int) (einsumSpec, error) {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, out, explicit := strings.Cut(eq, "->")
	parts := strings.Split(lhs, ",")
	if len(parts) != len(ranks) {
		return einsumSpec{}, fmt.Errorf("equation %q has %d operands, got %d inputs", eq, len(parts), len(ranks))
	}
	count := map[rune]int{}
	for i, p := range parts {
		if strings.Contains(p, ".") {
			return einsumSpec{}, fmt.Errorf("equation %q: ellipses are not supported", eq)
		}
		if len(p) != ranks[i] {
			return einsumSpec{}, fmt.Errorf("equation %q: operand %d has %d labels for rank %d", eq, i, len(p), ranks[i])
		}
		for _, r := range p {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
				return einsumSpec{}, fmt.Errorf("equation %q: bad label %q", eq, r)
			}
			count[r]++
		}
	}
	if !explicit {
		var b strings.Builder
		for r := 'A'; r <= 'z'; r++ {
			if count[r] == 1 {
				b.WriteRune(r)
			}
		}
		out = b.String()
	}
	for _, r := range out {
		if count[r] == 0 || strings.Count(out, string(r)) > 1 {
			return einsumSpec{}, fmt.Errorf("equation %q: output label %q must appear once, and in an operand", eq, r)
		}
	}
	return einsumSpec{parts, out}, nil
}

func inferEinsum(op Op, in []Type) ([]Type, error) {
	ranks := make([]int, len(in))
	for i, t := range in {
		ranks[i] = t.Shape.Rank()
		if t.DType != in[0].DType || t.DType == Bool {
			return nil, fmt.Errorf("inputs must share one numeric dtype, got %s and %s", in[0].DType, t.DType)
		}
	}
	sp, err := parseEinsum(op.(*Einsum).Equation, ranks)
	if err != nil {
		return nil, err
	}
	size := map[rune]Dim{}
	for i, p := range sp.ins {
		for j, r := range p {
			d := in[i].Shape[j]
			if s, ok := size[r]; ok && s != d && s != D(1) && d != D(1) {
				return nil, fmt.Errorf("label %q is %s in one operand and %s in another", r, s, d)
			}
			if s, ok := size[r]; !ok || s == D(1) {
				size[r] = d
			}
		}
	}
	out := Shape{}
	for _, r := range sp.out {
		out = append(out, size[r])
	}
	return one(TensorType(in[0].DType, out)), nil
}

// setAt copies element src of x into element dst of res.
func setAt(res *Tensor, dst int, x *Tensor, src int) {
	if x.F != nil {
		res.F[dst] = x.F[src]
	} else {
		res.I[dst] = x.I[src]
	}
}

func evalTile(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x := in[0]
	shape := out[0].Shape.Ints()
	res := NewTensor(x.DType, shape)
	xs := strides(x.Shape)
	idx := make([]int, len(shape))
	for o := range numel(shape) {
		src := 0
		for d := range idx {
			src += (idx[d] % x.Shape[d]) * xs[d]
		}
		setAt(res, o, x, src)
		for d := len(idx) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return []*Tensor{res}, nil
}

func evalTrilu(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	o := op.(*Trilu)
	x := in[0]
	r := len(x.Shape)
	rows, cols := x.Shape[r-2], x.Shape[r-1]
	res := NewTensor(x.DType, x.Shape)
	for i := range x.Numel() {
		row, col := (i/cols)%max(rows, 1), i%cols
		keep := col-row >= o.K
		if !o.Upper {
			keep = col-row <= o.K
		}
		if keep {
			setAt(res, i, x, i)
		}
	}
	return []*Tensor{res}, nil
}

func evalOneHot(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	o := op.(*OneHot)
	idx := in[0]
	shape := out[0].Shape.Ints()
	axis, _ := normAxis(o.Axis, len(shape))
	res := NewTensor(o.DType, shape)
	fill := func(i int, v float64) {
		if res.F != nil {
			res.F[i] = float32(v)
		} else {
			res.I[i] = wrapInt(int64(v), o.DType)
		}
	}
	for i := range res.Numel() {
		fill(i, o.Off)
	}
	run := runOf(shape, axis)
	run.each(func(line, base, step int) {
		v := int(key(idx, line))
		if v < 0 {
			v += o.Depth
		}
		if v >= 0 && v < o.Depth {
			fill(base+v*step, o.On)
		}
	})
	return []*Tensor{res}, nil
}

// index resolves a possibly negative index into [0, n).
func index(v int64, n int) (int, error) {
	if v < 0 {
		v += int64(n)
	}
	if v < 0 || v >= int64(n) {
		return 0, fmt.Errorf("index %d out of range for size %d", v, n)
	}
	return int(v), nil
}

func evalGatherElements(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x, idx := in[0], in[1]
	axis, _ := normAxis(op.(*AxisOp).Axis, len(x.Shape))
	res := NewTensor(x.DType, idx.Shape)
	xs := strides(x.Shape)
	var err error
	forEachIndex(idx.Shape, func(o int, at []int) {
		j, e := index(idx.I[o], x.Shape[axis])
		if e != nil {
			err = e
			return
		}
		src := 0
		for d, v := range at {
			if d == axis {
				v = j
			}
			src += v * xs[d]
		}
		setAt(res, o, x, src)
	})
	return []*Tensor{res}, err
}

// forEachIndex calls fn with every multi-index of shape in row-major order.
func forEachIndex(shape []int, fn func(o int, at []int)) {
	n := numel(shape)
	at := make([]int, len(shape))
	for o := 0; o < n; o++ {
		fn(o, at)
		for d := len(at) - 1; d >= 0; d-- {
			if at[d]++; at[d] < shape[d] {
				break
			}
			at[d] = 0
		}
	}
}

// combine applies a scatter reduction to res[dst] and upd[src].
func combine(red string, res *Tensor, dst int, upd *Tensor, src int) {
	if res.F != nil {
		a, b := float64(res.F[dst]), float64(upd.F[src])
		res.F[dst] = float32(reduceWith(red, a, b))
		return
	}
	a, b := res.I[dst], upd.I[src]
	var v int64
	switch red {
	case "add":
		v = a + b
	case "mul":
		v = a * b
	case "max":
		v = max(a, b)
	case "min":
		v = min(a, b)
	default:
		v = b
	}
	res.I[dst] = wrapInt(v, res.DType)
}

func reduceWith(red string, a, b float64) float64 {
	switch red {
	case "add":
		return a + b
	case "mul":
		return a * b
	case "max":
		return fmax(a, b)
	case "min":
		return fmin(a, b)
	}
	return b
}

func cloneTensor(x *Tensor) *Tensor {
	res := NewTensor(x.DType, x.Shape)
	copy(res.F, x.F)
	copy(res.I, x.I)
	return res
}

func evalScatterElements(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	o := op.(*AxisOp)
	x, idx, upd := in[0], in[1], in[2]
	axis, _ := normAxis(o.Axis, len(x.Shape))
	if !sameShape(idx.Shape, upd.Shape) || len(idx.Shape) != len(x.Shape) {
		return nil, fmt.Errorf("indices %v and updates %v must have one shape of the data's rank", idx.Shape, upd.Shape)
	}
	res := cloneTensor(x)
	xs := strides(x.Shape)
	var err error
	forEachIndex(idx.Shape, func(i int, at []int) {
		j, e := index(idx.I[i], x.Shape[axis])
		if e != nil {
			err = e
			return
		}
		dst := 0
		for d, v := range at {
			if d == axis {
				v = j
			}
			if v >= x.Shape[d] {
				err = fmt.Errorf("index %v out of range for %v", at, x.Shape)
				return
			}
			dst += v * xs[d]
		}
		combine(o.Reduction, res, dst, upd, i)
	})
	return []*Tensor{res}, err
}

// ndOffsets resolves the index tuples of gather_nd / scatter_nd: for each
// tuple (idx's last axis) after the b batch axes, the offset of the slice
// it addresses in x and the slice's size.
func ndOffsets(x, idx *Tensor, b int) ([]int, int, error) {
	q := idx.Shape[len(idx.Shape)-1]
	xs := strides(x.Shape)
	slice := 1
	for _, d := range x.Shape[b+q:] {
		slice *= d
	}
	batch := 1
	for _, d := range idx.Shape[:b] {
		batch *= d
	}
	tuples := idx.Numel() / max(q, 1)
	if q == 0 {
		tuples = numel(idx.Shape[:len(idx.Shape)-1])
	}
	perBatch := tuples / max(batch, 1)
	offs := make([]int, tuples)
	for t := 0; t < tuples; t++ {
		bi := t / max(perBatch, 1)
		off := 0
		// The batch index splits into the b leading axes of x.
		rem := bi
		for d := b - 1; d >= 0; d-- {
			off += (rem % x.Shape[d]) * xs[d]
			rem /= x.Shape[d]
		}
		for k := 0; k < q; k++ {
			j, err := index(idx.I[t*q+k], x.Shape[b+k])
			if err != nil {
				return nil, 0, err
			}
			off += j * xs[b+k]
		}
		offs[t] = off
	}
	return offs, slice, nil
}

func evalGatherND(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x, idx := in[0], in[1]
	res := NewTensor(x.DType, out[0].Shape.Ints())
	offs, slice, err := ndOffsets(x, idx, op.(*GatherND).BatchDims)
	if err != nil {
		return nil, err
	}
	for t, off := range offs {
		for k := 0; k < slice; k++ {
			setAt(res, t*slice+k, x, off+k)
		}
	}
	return []*Tensor{res}, nil
}

func evalScatterND(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x, idx, upd := in[0], in[1], in[2]
	res := cloneTensor(x)
	offs, slice, err := ndOffsets(x, idx, 0)
	if err != nil {
		return nil, err
	}
	if len(offs)*slice != upd.Numel() {
		return nil, fmt.Errorf("updates %v do not match %d slices of %d elements", upd.Shape, len(offs), slice)
	}
	red := op.(*ScatterND).Reduction
	for t, off := range offs {
		for k := 0; k < slice; k++ {
			combine(red, res, off+k, upd, t*slice+k)
		}
	}
	return []*Tensor{res}, nil
}

func evalEinsum(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	ranks := make([]int, len(in))
	for i, t := range in {
		ranks[i] = len(t.Shape)
	}
	sp, err := parseEinsum(op.(*Einsum).Equation, ranks)
	if err != nil {
		return nil, err
	}
	// Every label, output labels first; sizes from the operands.
	var labels []rune
	pos := map[rune]int{}
	size := map[rune]int{}
	addLabel := func(r rune) {
		if _, ok := pos[r]; !ok {
			pos[r] = len(labels)
			labels = append(labels, r)
		}
	}
	for _, r := range sp.out {
		addLabel(r)
	}
	for i, p := range sp.ins {
		for j, r := range p {
			addLabel(r)
			if d := in[i].Shape[j]; d != 1 || size[r] == 0 {
				size[r] = max(size[r], d)
			}
		}
	}
	dims := make([]int, len(labels))
	for i, r := range labels {
		dims[i] = size[r]
	}
	// Operand strides over the label space (0 for absent or broadcast).
	st := make([][]int, len(in))
	for i, p := range sp.ins {
		s := strides(in[i].Shape)
		st[i] = make([]int, len(labels))
		for j, r := range p {
			if in[i].Shape[j] != 1 {
				st[i][pos[r]] += s[j]
			}
		}
	}
	shape := out[0].Shape.Ints()
	res := NewTensor(out[0].DType, shape)
	acc := make([]float64, res.Numel())
	nOut := len(sp.out)
	inner := 1
	for _, d := range dims[nOut:] {
		inner *= d
	}
	forIndex(dims, st, func(o int, offs []int) {
		prod := 1.0
		for i, t := range in {
			prod *= key(t, offs[i])
		}
		acc[o/max(inner, 1)] += prod
	})
	for i, v := range acc {
		if res.F != nil {
			res.F[i] = float32(v)
		} else {
			res.I[i] = wrapInt(int64(v), res.DType)
		}
	}
	return []*Tensor{res}, nil
}
