package onnx

import (
	"fmt"
	"math"
	"strings"

	"github.com/modelc/modelc/internal/limits"
	"github.com/modelc/modelc/ir"
)

// Indexing ops (ir's ops_index.go), generators folded at import (Range,
// EyeLike) and the ops exporters' decompositions cover: Pad's modes,
// DepthToSpace, SpaceToDepth (reshapes, transposes, slices and concats).

func importTile(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	r, err := c.ints(1, "repeats")
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	reps := make([]int, len(r))
	for i, v := range r {
		reps[i] = clampInt(v)
	}
	return c.emit(0, &ir.Tile{Repeats: reps}, x)
}

func importTrilu(c *nodeCtx) error {
	if err := c.arity(1, 2); err != nil {
		return err
	}
	var e errs
	upper := e.int(c, "upper", 1) != 0
	if e.err != nil {
		return e.err
	}
	k := 0
	if c.has(1) {
		v, err := c.ints(1, "k")
		if err != nil {
			return err
		}
		if len(v) != 1 {
			return fmt.Errorf("k must have one element, got %d", len(v))
		}
		k = clampInt(v[0])
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Trilu{Upper: upper, K: k}, x)
}

func importOneHot(c *nodeCtx) error {
	if err := c.arity(3, 3); err != nil {
		return err
	}
	var e errs
	axis := e.int(c, "axis", -1)
	if e.err != nil {
		return e.err
	}
	depth, err := c.scalarFloat(1, "depth")
	if err != nil {
		return err
	}
	vl := c.val(2)
	if vl.konst == nil {
		return c.needKnown(2, "values")
	}
	if vl.konst.Numel() != 2 {
		return fmt.Errorf("values must have two elements (off, on), got shape %v", vl.konst.Shape)
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.OneHot{Axis: axis, Depth: int(depth), Off: vl.konst.Float(0), On: vl.konst.Float(1), DType: vl.konst.DType}, x)
}

// importAxisOp: GatherElements, ScatterElements and Scatter (its old
// name, opsets 9 and 10).
func importAxisOp(c *nodeCtx) error {
	var e errs
	axis := e.int(c, "axis", 0)
	red := ""
	k := ir.KGatherElements
	n := 2
	if c.n.GetOpType() != "GatherElements" {
		k, n = ir.KScatterElements, 3
		if c.opset() >= 16 {
			red = e.str(c, "reduction", "none")
		}
	}
	if e.err != nil {
		return e.err
	}
	if red == "none" {
		red = ""
	}
	ins, err := c.inputsN(n)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.AxisOp{K: k, Axis: axis, Reduction: red}, ins...)
}

// inputsN checks the arity is n and returns the n inputs.
func (c *nodeCtx) inputsN(n int) ([]*ir.Value, error) {
	if err := c.arity(n, n); err != nil {
		return nil, err
	}
	out := make([]*ir.Value, n)
	for i := range out {
		v, err := c.in(i)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func importGatherND(c *nodeCtx) error {
	var e errs
	b := e.int(c, "batch_dims", 0)
	if e.err != nil {
		return e.err
	}
	ins, err := c.inputsN(2)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.GatherND{BatchDims: b}, ins...)
}

func importScatterND(c *nodeCtx) error {
	var e errs
	red := e.str(c, "reduction", "none")
	if e.err != nil {
		return e.err
	}
	if red == "none" {
		red = ""
	}
	ins, err := c.inputsN(3)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.ScatterND{Reduction: red}, ins...)
}

func importEinsum(c *nodeCtx) error {
	var e errs
	eq := e.str(c, "equation", "")
	if e.err != nil {
		return e.err
	}
	if c.nin() < 1 {
		return fmt.Errorf("takes at least 1 input")
	}
	ins, err := c.inputsN(c.nin())
	if err != nil {
		return err
	}
	ranks := make([]int, len(ins))
	for i, v := range ins {
		ranks[i] = v.Type.Shape.Rank()
	}
	if eq, err = expandEllipsis(eq, ranks); err != nil {
		return err
	}
	return c.emit(0, &ir.Einsum{Equation: eq}, ins...)
}

// expandEllipsis writes an einsum equation's ellipsis ("...", numpy's
// broadcast dimensions) as labels of its own, for operands of the given
// ranks: E fresh labels, E the most dimensions an operand's ellipsis
// stands for, each operand's ellipsis the last of them (its dimensions
// broadcast from the right), and an explicit output where the equation
// has none — the ellipsis's labels first, then the labels that occur
// once in alphabetical order, as numpy's implicit output. An equation
// without an ellipsis is returned as it is.
func expandEllipsis(eq string, ranks []int) (string, error) {
	if !strings.Contains(eq, ".") {
		return eq, nil
	}
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, out, explicit := strings.Cut(eq, "->")
	parts := strings.Split(lhs, ",")
	if len(parts) != len(ranks) {
		return "", fmt.Errorf("equation %q has %d operands, got %d inputs", eq, len(parts), len(ranks))
	}
	oneEllipsis := func(p string) error {
		if k := strings.Count(p, "..."); k > 1 || strings.Count(p, ".") != 3*k {
			return fmt.Errorf("equation %q: %q has a malformed ellipsis", eq, p)
		}
		return nil
	}
	used := map[rune]bool{}
	for _, r := range eq {
		used[r] = true
	}
	e := 0
	ell := make([]int, len(parts))
	for i, p := range parts {
		if err := oneEllipsis(p); err != nil {
			return "", err
		}
		if strings.Contains(p, "...") {
			ell[i] = ranks[i] - (len(p) - 3)
			if ell[i] < 0 {
				return "", fmt.Errorf("equation %q: operand %d has %d labels for rank %d", eq, i, len(p)-3, ranks[i])
			}
			e = max(e, ell[i])
		}
	}
	var fresh []rune
	for _, r := range "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		if len(fresh) < e && !used[r] {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) < e {
		return "", unsupported("Einsum whose ellipsis needs %d labels besides the equation's (%q): 52 letters in all", e, eq)
	}
	for i, p := range parts {
		parts[i] = strings.Replace(p, "...", string(fresh[e-ell[i]:]), 1)
	}
	if explicit {
		if err := oneEllipsis(out); err != nil {
			return "", err
		}
		out = strings.Replace(out, "...", string(fresh), 1)
	} else {
		count := map[rune]int{}
		for _, r := range lhs {
			count[r]++
		}
		out = string(fresh)
		for r := 'A'; r <= 'z'; r++ {
			if count[r] == 1 && ('a' <= r || r <= 'Z') {
				out += string(r)
			}
		}
	}
	return strings.Join(parts, ",") + "->" + out, nil
}

// importRange folds Range into a constant: start, limit and delta must
// be known at import time (bind them when they are graph inputs).
func importRange(c *nodeCtx) error {
	if err := c.arity(3, 3); err != nil {
		return err
	}
	c.ignore("stash_type") // f16/bf16 only; the evaluator computes in float64
	var v [3]float64
	for i, use := range []string{"start", "limit", "delta"} {
		f, err := c.scalarFloat(i, use)
		if err != nil {
			return err
		}
		v[i] = f
	}
	t, err := c.typeOf(0)
	if err != nil {
		return err
	}
	if v[2] == 0 {
		return fmt.Errorf("delta is 0")
	}
	// Counted in float64 before any conversion: a limit of 1e300 must
	// not wrap to a negative int (NaN bounds count as too many).
	fn := math.Max(math.Ceil((v[1]-v[0])/v[2]), 0)
	if !(fn <= maxElements) {
		return fmt.Errorf("range from %g to %g by %g has %s elements, over the limit of %d (limits.TensorElems)", v[0], v[1], v[2], limits.Count(fn), maxElements)
	}
	n := int(fn)
	out := ir.NewTensor(t.DType, []int{n})
	for i := range n {
		x := v[0] + float64(i)*v[2]
		if out.F != nil {
			out.F[i] = float32(x)
		} else {
			out.I[i] = int64(x)
		}
	}
	c.setVal(0, &val{konst: out})
	return nil
}

// importEyeLike folds EyeLike into a constant shaped like its input.
func importEyeLike(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	var e errs
	k := e.int(c, "k", 0)
	dtc := e.int(c, "dtype", -1)
	if e.err != nil {
		return e.err
	}
	t, err := c.typeOf(0)
	if err != nil {
		return err
	}
	dt := t.DType
	if dtc >= 0 {
		if dt, err = dtypeFromONNX(int32(dtc)); err != nil {
			return err
		}
	}
	s, err := staticInts(t.Shape, "EyeLike's input")
	if err != nil {
		return err
	}
	if len(s) != 2 {
		return fmt.Errorf("input must be 2-D, got %s", t.Shape)
	}
	out := ir.NewTensor(dt, s)
	for i := range s[0] {
		if j := i + k; j >= 0 && j < s[1] {
			if out.F != nil {
				out.F[i*s[1]+j] = 1
			} else {
				out.I[i*s[1]+j] = 1
			}
		}
	}
	c.setVal(0, &val{konst: out})
	return nil
}

func staticInts(s ir.Shape, what string) ([]int, error) {
	out := make([]int, len(s))
	for i, d := range s {
		if !d.Static() {
			return nil, unsupported("%s has the batch-dependent shape %s", what, s)
		}
		out[i] = d.B
	}
	return out, nil
}

// importPad: constant padding is the IR's pad; edge, reflect and wrap
// are built from slices and concats along each padded axis.
func importPad(c *nodeCtx) error {
	var e errs
	mode := e.str(c, "mode", "constant")
	var pads []int
	value := 0.0
	if c.opset() < 11 {
		if err := c.arity(1, 1); err != nil {
			return err
		}
		pads = e.ints(c, "pads")
		if c.opset() < 2 {
			pads = e.ints(c, "paddings")
		}
		value = e.float(c, "value", 0)
	} else {
		if err := c.arity(2, 4); err != nil {
			return err
		}
		p, err := c.ints(1, "pads")
		if err != nil {
			return err
		}
		for _, v := range p {
			pads = append(pads, clampInt(v))
		}
		if c.has(2) {
			if value, err = c.scalarFloat(2, "constant_value"); err != nil {
				return err
			}
		}
	}
	if e.err != nil {
		return e.err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	r := x.Type.Shape.Rank()
	if c.has(3) { // axes: pads lists begins then ends of those axes only
		axes, err := c.ints(3, "axes")
		if err != nil {
			return err
		}
		if len(pads) != 2*len(axes) {
			return fmt.Errorf("pads has %d entries for %d axes", len(pads), len(axes))
		}
		full := make([]int, 2*r)
		for i, a := range axes {
			n, err := normAxis(clampInt(a), r)
			if err != nil {
				return err
			}
			full[n], full[n+r] = pads[i], pads[i+len(axes)]
		}
		pads = full
	}
	if len(pads) != 2*r {
		return fmt.Errorf("pads has %d entries, want 2×rank = %d", len(pads), 2*r)
	}
	switch mode {
	case "constant":
		return c.emit(0, &ir.Pad{Pads: pads, Value: value}, x)
	case "edge", "reflect", "wrap":
	default:
		return fmt.Errorf("mode %q (want constant, edge, reflect or wrap)", mode)
	}
	// Crop first (negative pads), then extend axis by axis.
	crop := make([]int, 2*r)
	grow := false
	for i, p := range pads {
		crop[i] = min(p, 0)
		grow = grow || p > 0
	}
	y := x
	if !allZero(crop) {
		if y, err = c.tmp(&ir.Pad{Pads: crop}, y); err != nil {
			return err
		}
	}
	for a := 0; a < r && grow; a++ {
		b, en := max(pads[a], 0), max(pads[a+r], 0)
		if b == 0 && en == 0 {
			continue
		}
		if y, err = c.padAxis(y, a, b, en, mode); err != nil {
			return err
		}
	}
	if y == x {
		c.alias(0, 0)
		return nil
	}
	return c.emit(0, &ir.Reshape{Shape: y.Type.Shape.Clone()}, y)
}

func allZero(v []int) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// padAxis extends y along axis a by b elements before and e after.
func (c *nodeCtx) padAxis(y *ir.Value, a, b, e int, mode string) (*ir.Value, error) {
	d := y.Type.Shape[a]
	if !d.Static() {
		return nil, unsupported("%s padding along the batch axis", mode)
	}
	n := d.B
	if n == 0 || (mode == "reflect" && (b >= n || e >= n)) || (mode == "wrap" && (b > n || e > n)) {
		return nil, unsupported("%s padding of %d and %d around %d elements", mode, b, e, n)
	}
	slice := func(start, end, step int) (*ir.Value, error) {
		return c.tmp(&ir.Slice{Starts: []int{start}, Ends: []int{end}, Axes: []int{a}, Steps: []int{step}}, y)
	}
	var parts []*ir.Value
	side := func(count int, before bool) error {
		if count == 0 {
			return nil
		}
		var p *ir.Value
		var err error
		switch {
		case mode == "edge":
			at := 0
			if !before {
				at = n - 1
			}
			if p, err = slice(at, at+1, 1); err != nil {
				return err
			}
			if count > 1 {
				s := p.Type.Shape.Clone()
				s[a] = ir.D(count)
				p, err = c.tmp(&ir.Expand{Shape: s}, p)
			}
		case mode == "reflect" && before:
			p, err = slice(count, 0, -1)
		case mode == "reflect":
			end := n - 2 - count
			if end < 0 {
				end = -n - 1 // before the first element (−1 would count from the end)
			}
			p, err = slice(n-2, end, -1)
		case mode == "wrap" && before:
			p, err = slice(n-count, n, 1)
		default:
			p, err = slice(0, count, 1)
		}
		if err != nil {
			return err
		}
		parts = append(parts, p)
		return nil
	}
	if err := side(b, true); err != nil {
		return nil, err
	}
	parts = append(parts, y)
	if err := side(e, false); err != nil {
		return nil, err
	}
	return c.tmp(&ir.Concat{Axis: a}, parts...)
}

// importDepthSpace: DepthToSpace (DCR or CRD) and SpaceToDepth on NCHW
// as reshape, transpose, reshape.
func importDepthSpace(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	var e errs
	bs := e.int(c, "blocksize", 0)
	mode := "DCR"
	if c.n.GetOpType() == "DepthToSpace" && c.opset() >= 11 {
		mode = e.str(c, "mode", "DCR")
	}
	if e.err != nil {
		return e.err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	s := x.Type.Shape
	if s.Rank() != 4 || bs < 1 {
		return fmt.Errorf("want a 4-D input and blocksize ≥ 1, got %s and %d", s, bs)
	}
	n, ch, h, w := s[0], s[1], s[2], s[3]
	if !ch.Static() || !h.Static() || !w.Static() {
		return unsupported("%s on the batch-dependent shape %s", c.n.GetOpType(), s)
	}
	C, H, W := ch.B, h.B, w.B
	var mid ir.Shape
	var perm []int
	var out ir.Shape
	switch {
	case c.n.GetOpType() == "SpaceToDepth":
		if H%bs != 0 || W%bs != 0 {
			return fmt.Errorf("height and width of %s must be multiples of %d", s, bs)
		}
		mid = ir.Shape{n, ir.D(C), ir.D(H / bs), ir.D(bs), ir.D(W / bs), ir.D(bs)}
		perm = []int{0, 3, 5, 1, 2, 4}
		out = ir.Shape{n, ir.D(C * bs * bs), ir.D(H / bs), ir.D(W / bs)}
	case C%(bs*bs) != 0:
		return fmt.Errorf("channels of %s must be a multiple of %d", s, bs*bs)
	case mode == "DCR":
		mid = ir.Shape{n, ir.D(bs), ir.D(bs), ir.D(C / (bs * bs)), ir.D(H), ir.D(W)}
		perm = []int{0, 3, 4, 1, 5, 2}
		out = ir.Shape{n, ir.D(C / (bs * bs)), ir.D(H * bs), ir.D(W * bs)}
	case mode == "CRD":
		mid = ir.Shape{n, ir.D(C / (bs * bs)), ir.D(bs), ir.D(bs), ir.D(H), ir.D(W)}
		perm = []int{0, 1, 4, 2, 5, 3}
		out = ir.Shape{n, ir.D(C / (bs * bs)), ir.D(H * bs), ir.D(W * bs)}
	default:
		return fmt.Errorf("mode %q (want DCR or CRD)", mode)
	}
	y, err := c.tmp(&ir.Reshape{Shape: mid}, x)
	if err != nil {
		return err
	}
	if y, err = c.tmp(&ir.Transpose{Perm: perm}, y); err != nil {
		return err
	}
	return c.emit(0, &ir.Reshape{Shape: out}, y)
}
