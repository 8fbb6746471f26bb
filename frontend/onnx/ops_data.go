package onnx

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/ir"
)

// importReshape: 0 copies the input's dim (unless allowzero, opset 14),
// -1 takes what is left; the target may depend on the batch N through
// shape math.
func importReshape(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	allowZero := int64(0)
	if c.opset() >= 14 {
		var err error
		if allowZero, err = c.attrInt("allowzero", 0); err != nil {
			return err
		}
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	target, err := c.dims(1, "shape")
	if err != nil {
		return err
	}
	shape, err := resolveReshape(x.Type.Shape, target, allowZero != 0)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Reshape{Shape: shape}, x)
}

func resolveReshape(in ir.Shape, target []ir.Dim, allowZero bool) (ir.Shape, error) {
	out := make(ir.Shape, len(target))
	infer := -1
	known := ir.Poly{1}
	for i, d := range target {
		switch {
		case d == ir.D(-1):
			if infer >= 0 {
				return nil, fmt.Errorf("shape %s has more than one -1", dimsString(target))
			}
			infer = i
			continue
		case d == ir.D(0) && !allowZero:
			if i >= in.Rank() {
				return nil, fmt.Errorf("shape %s copies dim %d of the rank-%d input", dimsString(target), i, in.Rank())
			}
			d = in[i]
		case d.A < 0 || (d.A == 0 && d.B < 0):
			return nil, fmt.Errorf("shape %s has a negative dimension", dimsString(target))
		}
		out[i] = d
		known = known.MulDim(d)
	}
	total := in.Numel()
	if infer >= 0 {
		d, ok := divPoly(total, known)
		if !ok {
			return nil, fmt.Errorf("cannot infer the -1 in %s: %s elements of %s do not divide by the others", dimsString(target), polyString(total), in)
		}
		out[infer] = d
	}
	if !out.Numel().Equal(total) {
		return nil, fmt.Errorf("cannot reshape %s to %s: element counts differ", in, out)
	}
	return out, nil
}

// divPoly returns p / q as an affine dim, if it is one.
func divPoly(p, q ir.Poly) (ir.Dim, bool) {
	qd, ok := q.Dim()
	if !ok {
		return ir.Dim{}, false
	}
	pd, ok := p.Dim()
	switch {
	case qd.Static() && qd.B == 0:
		return ir.Dim{}, false
	case qd.Static() && ok:
		return pd.DivInt(qd.B)
	case qd.Static():
		return ir.Dim{}, false
	}
	// q = a·N + b: the quotient is a static k with p = k·q, possibly
	// through the N² term.
	for _, k := range []int{quot(p, 1, qd.A), quot(p, 0, qd.B)} {
		if want := (ir.Poly{k * qd.B, k * qd.A}); k > 0 && want.Equal(p) {
			return ir.D(k), true
		}
	}
	if len(p) == 3 && qd.B == 0 && p[0] == 0 && p[1] == 0 { // (k·N)·N / N
		return ir.Dim{A: p[2] / qd.A}, p[2]%qd.A == 0
	}
	return ir.Dim{}, false
}

func quot(p ir.Poly, i, d int) int {
	if i >= len(p) || d == 0 || p[i]%d != 0 {
		return 0
	}
	return p[i] / d
}

func polyString(p ir.Poly) string {
	if d, ok := p.Dim(); ok {
		return d.String()
	}
	return fmt.Sprint([]int(p))
}

func importFlatten(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	axis, err := c.attrInt("axis", 1)
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Flatten{Axis: clampInt(axis)}, x)
}

func importTranspose(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	perm, has, err := c.attrInts("perm")
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	if !has {
		r := x.Type.Shape.Rank()
		perm = make([]int, r)
		for i := range perm {
			perm[i] = r - 1 - i
		}
	}
	return c.emit(0, &ir.Transpose{Perm: perm}, x)
}

// importSqueeze drops the listed size-1 dims (all static 1s by default).
func importSqueeze(c *nodeCtx) error {
	if err := c.arity(1, 2); err != nil {
		return err
	}
	axes, has, err := foldAxes(c)
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	s := x.Type.Shape
	drop := make([]bool, s.Rank())
	if !has {
		for i, d := range s {
			drop[i] = d == ir.D(1)
		}
	}
	for _, a := range axes {
		n, err := normAxis(a, s.Rank())
		if err != nil {
			return err
		}
		if s[n] != ir.D(1) {
			return fmt.Errorf("cannot squeeze axis %d of %s: its size is not 1", a, s)
		}
		drop[n] = true
	}
	var out ir.Shape
	for i, d := range s {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return c.emit(0, &ir.Reshape{Shape: out}, x)
}

// importUnsqueeze inserts size-1 dims at the listed axes of the result.
func importUnsqueeze(c *nodeCtx) error {
	if err := c.arity(1, 2); err != nil {
		return err
	}
	axes, has, err := foldAxes(c)
	if err != nil {
		return err
	}
	if !has {
		return fmt.Errorf("axes are required")
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	s := x.Type.Shape
	r := s.Rank() + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		n, err := normAxis(a, r)
		if err != nil {
			return err
		}
		if ins[n] {
			return fmt.Errorf("axis %d listed twice", a)
		}
		ins[n] = true
	}
	out := make(ir.Shape, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			out = append(out, ir.D(1))
		} else {
			out = append(out, s[j])
			j++
		}
	}
	return c.emit(0, &ir.Reshape{Shape: out}, x)
}

func normAxis(a, rank int) (int, error) {
	if a < -rank || a >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	if a < 0 {
		a += rank
	}
	return a, nil
}

func importConcat(c *nodeCtx) error {
	if c.nin() < 1 {
		return fmt.Errorf("takes at least 1 input")
	}
	axis, err := c.attrInt("axis", math.MinInt64)
	if err != nil {
		return err
	}
	if axis == math.MinInt64 {
		if c.opset() >= 4 {
			return fmt.Errorf("attribute axis is required")
		}
		axis = 1
	}
	ins, err := c.inputs()
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Concat{Axis: clampInt(axis)}, ins...)
}

// importSplit: sizes from the split attribute (before opset 13) or
// input, else equal parts, one per output; from opset 18 num_outputs
// parts of ceil(n/num_outputs), the last smaller.
func importSplit(c *nodeCtx) error {
	if err := c.arity(1, 2); err != nil {
		return err
	}
	var e errs
	axis := e.int(c, "axis", 0)
	var sizes []int
	if c.opset() < 13 {
		sizes = e.ints(c, "split")
	} else if c.has(1) {
		v, err := c.ints(1, "split")
		if err != nil {
			return err
		}
		for _, x := range v {
			sizes = append(sizes, clampInt(x))
		}
	}
	numOut := 0
	if c.opset() >= 18 {
		numOut = e.int(c, "num_outputs", 0)
	}
	if e.err != nil {
		return e.err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	s := x.Type.Shape
	a, err := normAxis(axis, s.Rank())
	if err != nil {
		return err
	}
	if !s[a].Static() {
		return fmt.Errorf("cannot split along axis %d of %s: it depends on the batch", a, s)
	}
	n := s[a].B
	if sizes == nil {
		parts := c.nout()
		if numOut > 0 {
			parts = numOut
		}
		if parts < 1 {
			return fmt.Errorf("no outputs")
		}
		if numOut > 0 {
			chunk := (n + parts - 1) / parts
			for left := n; len(sizes) < parts; left -= min(chunk, left) {
				sizes = append(sizes, min(chunk, left))
			}
		} else {
			if n%parts != 0 {
				return fmt.Errorf("cannot split %d into %d equal parts", n, parts)
			}
			for range parts {
				sizes = append(sizes, n/parts)
			}
		}
	}
	if len(sizes) != c.nout() {
		return fmt.Errorf("%d split sizes %v for %d outputs", len(sizes), sizes, c.nout())
	}
	outs := make([]string, len(sizes))
	for i := range outs {
		if outs[i] = c.outName(i); outs[i] == "" {
			outs[i] = c.im.tmpName(c.hint())
		}
	}
	node, err := c.im.b.Add(c.n.GetName(), &ir.Split{Axis: a, Sizes: sizes}, []*ir.Value{x}, outs...)
	if err != nil {
		return err
	}
	for i, v := range node.Outputs {
		c.set(i, v)
	}
	return nil
}

// sliceParams reads starts, ends, axes and steps: attributes before
// opset 10, inputs from 10 on.
func sliceParams(c *nodeCtx) (*ir.Slice, error) {
	sl := &ir.Slice{}
	if c.opset() < 10 {
		var e errs
		sl.Starts = e.ints(c, "starts")
		sl.Ends = e.ints(c, "ends")
		sl.Axes = e.ints(c, "axes")
		return sl, e.err
	}
	if err := c.arity(3, 5); err != nil {
		return nil, err
	}
	for i, dst := range []*[]int{&sl.Starts, &sl.Ends, &sl.Axes, &sl.Steps} {
		if !c.has(i + 1) {
			continue
		}
		v, err := c.ints(i+1, []string{"starts", "ends", "axes", "steps"}[i])
		if err != nil {
			return nil, err
		}
		*dst = make([]int, len(v))
		for j, x := range v {
			(*dst)[j] = clampInt(x)
		}
	}
	return sl, nil
}

func importSlice(c *nodeCtx) error {
	sl, err := sliceParams(c)
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, sl, x)
}

func importGather(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	axis, err := c.attrInt("axis", 0)
	if err != nil {
		return err
	}
	ins, err := c.inputs()
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Gather{Axis: clampInt(axis)}, ins...)
}

// importExpand broadcasts to a shape that may depend on the batch N.
func importExpand(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	shape, err := c.dims(1, "shape")
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Expand{Shape: ir.Shape(shape).Clone()}, x)
}

// importShape gives the input's shape as integer shape math.
func importShape(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	t, err := c.typeOf(0)
	if err != nil {
		return err
	}
	s := t.Shape
	start, end := 0, s.Rank()
	if c.opset() >= 15 {
		var e errs
		start = e.int(c, "start", 0)
		end = e.int(c, "end", int64(s.Rank()))
		if e.err != nil {
			return e.err
		}
		clamp := func(v int) int {
			if v < 0 {
				v += s.Rank()
			}
			return min(max(v, 0), s.Rank())
		}
		start, end = clamp(start), clamp(end)
	}
	d := []ir.Dim{}
	if start < end {
		d = append(d, s[start:end]...)
	}
	c.setVal(0, &val{sym: &symTensor{dt: ir.I64, d: d}})
	return nil
}

// importConstant: value, value_float(s) or value_int(s).
func importConstant(c *nodeCtx) error {
	if c.nin() != 0 {
		return fmt.Errorf("takes no inputs")
	}
	if len(c.n.Attribute) != 1 {
		return fmt.Errorf("want exactly one value attribute, got %d attributes", len(c.n.Attribute))
	}
	a := c.n.Attribute[0]
	c.read[a.GetName()] = true
	var t *ir.Tensor
	switch a.GetName() {
	case "value":
		var err error
		if t, err = TensorFromProto(a.GetT(), c.im.ext); err != nil {
			return err
		}
	case "value_float":
		t = &ir.Tensor{DType: ir.F32, Shape: []int{}, F: []float32{a.GetF()}}
	case "value_floats":
		t = &ir.Tensor{DType: ir.F32, Shape: []int{len(a.GetFloats())}, F: append([]float32{}, a.GetFloats()...)}
	case "value_int":
		t = &ir.Tensor{DType: ir.I64, Shape: []int{}, I: []int64{a.GetI()}}
	case "value_ints":
		t = &ir.Tensor{DType: ir.I64, Shape: []int{len(a.GetInts())}, I: append([]int64{}, a.GetInts()...)}
	default:
		return unsupported("Constant with %s (supported: value, value_float(s), value_int(s))", a.GetName())
	}
	if a.GetName() == "value" && a.GetT() == nil {
		return fmt.Errorf("value attribute holds no tensor")
	}
	c.setVal(0, &val{konst: t})
	return nil
}

// importConstantOfShape makes a splat constant; a shape that depends on
// the batch becomes an expand of a one-element splat.
func importConstantOfShape(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	a, err := c.attr("value", 4)
	if err != nil {
		return err
	}
	fill := &ir.Tensor{DType: ir.F32, F: []float32{0}}
	if a != nil {
		if fill, err = TensorFromProto(a.GetT(), nil); err != nil {
			return fmt.Errorf("value: %w", err)
		}
		if fill.Numel() != 1 {
			return fmt.Errorf("value must have one element, got shape %v", fill.Shape)
		}
	}
	d, err := c.dims(0, "shape")
	if err != nil {
		return err
	}
	shape := make([]int, len(d))
	static := true
	for i, x := range d {
		if x.Static() && x.B < 0 {
			return fmt.Errorf("shape %s has a negative dimension", dimsString(d))
		}
		static = static && x.Static()
		shape[i] = x.B
	}
	t := &ir.Tensor{DType: fill.DType, Shape: shape, F: fill.F, I: fill.I, Splat: true}
	if static {
		c.setVal(0, &val{konst: t})
		return nil
	}
	t.Shape = ones(len(d))
	v, err := c.konst(t)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Expand{Shape: ir.Shape(d).Clone()}, v)
}
