package onnx

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// Integer shape math evaluated at import time. Exporters compute shapes
// with small integer subgraphs (Shape → Gather → Unsqueeze → Concat →
// Reshape); their values are tensors of rank ≤ 1 whose elements are
// affine in the batch N, held as symTensor. Each folder below runs when
// its op's inputs are such values and returns false otherwise, leaving
// the op to its importer; a result that is not affine is an error naming
// the node.

// maxFold bounds the tensors folded at import time.
const maxFold = 1 << 16

// knownInt returns input i as integer shape math, if it is known.
func (c *nodeCtx) knownInt(i int) (*symTensor, bool) {
	vl := c.val(i)
	if vl == nil {
		return nil, false
	}
	if vl.sym != nil {
		return vl.sym, true
	}
	t := vl.konst
	if t == nil || !t.DType.IsInt() || len(t.Shape) > 1 || t.Numel() > maxFold {
		return nil, false
	}
	t = t.Dense()
	s := &symTensor{dt: t.DType, scalar: len(t.Shape) == 0, d: make([]ir.Dim, len(t.I))}
	for j, x := range t.I {
		s.d[j] = ir.D(clampInt(x))
	}
	return s, true
}

// setSym binds output 0 to folded shape math.
func (c *nodeCtx) setSym(s *symTensor) (bool, error) {
	c.setVal(0, &val{sym: s})
	return true, nil
}

func foldBinary(c *nodeCtx) (bool, error) {
	a, ok1 := c.knownInt(0)
	b, ok2 := c.knownInt(1)
	if !ok1 || !ok2 || c.nin() != 2 {
		return false, nil
	}
	if c.opset() < 7 && c.hasAttr("broadcast") {
		return false, nil
	}
	n := max(len(a.d), len(b.d))
	if (len(a.d) != n && len(a.d) != 1) || (len(b.d) != n && len(b.d) != 1) {
		return false, fmt.Errorf("shape math operands of lengths %d and %d do not broadcast", len(a.d), len(b.d))
	}
	out := &symTensor{dt: a.dt, scalar: a.scalar && b.scalar, d: make([]ir.Dim, n)}
	for i := range out.d {
		x, y := a.d[min(i, len(a.d)-1)], b.d[min(i, len(b.d)-1)]
		var r ir.Dim
		ok := true
		switch c.n.GetOpType() {
		case "Add":
			r = x.Add(y)
		case "Sub":
			r = x.Sub(y)
		case "Mul":
			r, ok = x.Mul(y)
		case "Div":
			switch {
			case !y.Static() || y.B == 0:
				ok = false
			case x.Static():
				r = ir.D(x.B / y.B)
			default:
				r, ok = x.DivInt(y.B)
			}
		}
		if !ok {
			return false, fmt.Errorf("shape math %s %s %s is not affine in the batch N", x, c.n.GetOpType(), y)
		}
		out.d[i] = r
	}
	return c.setSym(out)
}

func foldCast(c *nodeCtx) (bool, error) {
	a, ok := c.knownInt(0)
	if !ok {
		return false, nil
	}
	var e errs
	to := e.int(c, "to", 0)
	c.ignore("saturate")
	if e.err != nil {
		return false, e.err
	}
	dt, err := dtypeFromONNX(int32(to))
	if err != nil || !dt.IsInt() {
		return false, nil // a float or bool result: the importer casts
	}
	return c.setSym(&symTensor{dt: dt, scalar: a.scalar, d: a.d})
}

func foldReshape(c *nodeCtx) (bool, error) {
	a, ok := c.knownInt(0)
	if !ok || c.opset() < 5 {
		return false, nil
	}
	shape, ok := c.knownInt(1)
	if !ok {
		return false, nil
	}
	c.ignore("allowzero")
	switch {
	case len(shape.d) == 0 && len(a.d) == 1:
		return c.setSym(&symTensor{dt: a.dt, scalar: true, d: a.d})
	case len(shape.d) == 1 && (shape.d[0] == ir.D(-1) || shape.d[0] == ir.D(len(a.d))):
		return c.setSym(&symTensor{dt: a.dt, d: a.d})
	}
	return false, nil
}

// foldAxes reads Squeeze/Unsqueeze axes: an attribute before opset 13,
// an input from 13 on.
func foldAxes(c *nodeCtx) ([]int, bool, error) {
	if c.opset() < 13 {
		a, ok, err := c.attrInts("axes")
		return a, ok, err
	}
	if !c.has(1) {
		return nil, false, nil
	}
	v, err := c.ints(1, "axes")
	if err != nil {
		return nil, false, err
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = clampInt(x)
	}
	return out, true, nil
}

func foldUnsqueeze(c *nodeCtx) (bool, error) {
	a, ok := c.knownInt(0)
	if !ok || !a.scalar {
		return false, nil
	}
	axes, _, err := foldAxes(c)
	if err != nil {
		return false, err
	}
	if len(axes) != 1 || (axes[0] != 0 && axes[0] != -1) {
		return false, nil
	}
	return c.setSym(&symTensor{dt: a.dt, d: a.d})
}

func foldSqueeze(c *nodeCtx) (bool, error) {
	a, ok := c.knownInt(0)
	if !ok || a.scalar || len(a.d) != 1 {
		return false, nil
	}
	axes, _, err := foldAxes(c)
	if err != nil {
		return false, err
	}
	if len(axes) > 1 || (len(axes) == 1 && axes[0] != 0 && axes[0] != -1) {
		return false, nil
	}
	return c.setSym(&symTensor{dt: a.dt, scalar: true, d: a.d})
}

func foldConcat(c *nodeCtx) (bool, error) {
	var parts []*symTensor
	for i := 0; i < c.nin(); i++ {
		s, ok := c.knownInt(i)
		if !ok || s.scalar {
			return false, nil
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return false, nil
	}
	axis, err := c.attrInt("axis", 0)
	if err != nil || (axis != 0 && axis != -1) {
		return false, err
	}
	out := &symTensor{dt: parts[0].dt}
	for _, p := range parts {
		out.d = append(out.d, p.d...)
	}
	return c.setSym(out)
}

func foldSlice(c *nodeCtx) (bool, error) {
	a, ok := c.knownInt(0)
	if !ok || a.scalar {
		return false, nil
	}
	sl, err := sliceParams(c)
	if err != nil {
		return false, err
	}
	if len(sl.Starts) != 1 {
		return false, nil
	}
	if len(sl.Axes) == 1 && sl.Axes[0] != 0 && sl.Axes[0] != -1 {
		return false, nil
	}
	step := 1
	if len(sl.Steps) == 1 {
		step = sl.Steps[0]
	}
	start, count, err := ir.SliceRange(sl.Starts[0], sl.Ends[0], step, len(a.d))
	if err != nil {
		return false, err
	}
	out := &symTensor{dt: a.dt}
	for i := 0; i < count; i++ {
		out.d = append(out.d, a.d[start+i*step])
	}
	return c.setSym(out)
}

func foldGather(c *nodeCtx) (bool, error) {
	a, ok := c.knownInt(0)
	if !ok || a.scalar {
		return false, nil
	}
	idx, ok := c.knownInt(1)
	if !ok {
		return false, nil
	}
	axis, err := c.attrInt("axis", 0)
	if err != nil || (axis != 0 && axis != -1) {
		return false, err
	}
	out := &symTensor{dt: a.dt, scalar: idx.scalar}
	for _, d := range idx.d {
		if !d.Static() {
			return false, fmt.Errorf("gather index %s depends on the batch N", d)
		}
		j := d.B
		if j < 0 {
			j += len(a.d)
		}
		if j < 0 || j >= len(a.d) {
			return false, fmt.Errorf("gather index %d out of range for %d elements", d.B, len(a.d))
		}
		out.d = append(out.d, a.d[j])
	}
	return c.setSym(out)
}

// foldEqual compares shape math elementwise: a dim that depends on the
// batch equals another only when they are the same (N ≥ 1 makes N = −1
// false, the test exporters write for expand(B, −1, −1)); a comparison
// that holds for one batch size only is an error.
func foldEqual(c *nodeCtx) (bool, error) {
	a, ok1 := c.knownInt(0)
	b, ok2 := c.knownInt(1)
	if !ok1 || !ok2 || c.nin() != 2 {
		return false, nil
	}
	n := max(len(a.d), len(b.d))
	if (len(a.d) != n && len(a.d) != 1) || (len(b.d) != n && len(b.d) != 1) {
		return false, fmt.Errorf("shape math operands of lengths %d and %d do not broadcast", len(a.d), len(b.d))
	}
	out := &symTensor{dt: ir.Bool, scalar: a.scalar && b.scalar, d: make([]ir.Dim, n)}
	for i := range out.d {
		x, y := a.d[min(i, len(a.d)-1)], b.d[min(i, len(b.d)-1)]
		d := x.Sub(y)
		switch {
		case d == ir.Dim{}:
			out.d[i] = ir.D(1)
		case d.A != 0 && (-d.B)%d.A == 0 && -d.B/d.A >= 1:
			return false, fmt.Errorf("shape math %s = %s holds only for the batch N = %d", x, y, -d.B/d.A)
		default:
			out.d[i] = ir.D(0)
		}
	}
	return c.setSym(out)
}

// foldWhere selects between two shape-math values by a known condition.
func foldWhere(c *nodeCtx) (bool, error) {
	cond, ok := c.knownBool(0)
	x, ok1 := c.knownInt(1)
	y, ok2 := c.knownInt(2)
	if !ok || !ok1 || !ok2 || c.nin() != 3 {
		return false, nil
	}
	n := max(len(cond), len(x.d), len(y.d))
	for _, l := range []int{len(cond), len(x.d), len(y.d)} {
		if l != n && l != 1 {
			return false, fmt.Errorf("shape math operands of lengths %d, %d and %d do not broadcast", len(cond), len(x.d), len(y.d))
		}
	}
	out := &symTensor{dt: x.dt, scalar: x.scalar && y.scalar, d: make([]ir.Dim, n)}
	for i := range out.d {
		if cond[min(i, len(cond)-1)] {
			out.d[i] = x.d[min(i, len(x.d)-1)]
		} else {
			out.d[i] = y.d[min(i, len(y.d)-1)]
		}
	}
	return c.setSym(out)
}

// knownBool returns a bool input of rank ≤ 1 known at import time.
func (c *nodeCtx) knownBool(i int) ([]bool, bool) {
	vl := c.val(i)
	if vl == nil {
		return nil, false
	}
	var ints []int64
	switch {
	case vl.sym != nil && vl.sym.dt == ir.Bool:
		v, ok := vl.sym.ints()
		if !ok {
			return nil, false
		}
		ints = v
	case vl.konst != nil && vl.konst.DType == ir.Bool && len(vl.konst.Shape) <= 1 && vl.konst.Numel() <= maxFold:
		ints = vl.konst.Dense().I
	default:
		return nil, false
	}
	out := make([]bool, len(ints))
	for j, v := range ints {
		out[j] = v != 0
	}
	return out, true
}
