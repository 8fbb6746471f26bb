package onnx

import (
	"math"

	"github.com/modelc/modelc/ir"
)

// Patterns exporters emit for ops that ONNX spelled out before it had
// them (Gelu arrived in opset 20, LayerNormalization in 17), replaced by
// the IR's op after import. Each rule matches at the node that computes
// the pattern's result and rewrites that node in place, keeping its
// result value; the intermediate nodes die in prune unless something
// else reads them. A rewrite whose shape rule disagrees with the
// original result type is not made.
//
//	gelu:      x·0.5·(1 + erf(x/√2))          (either product order, x·(1/√2) too)
//	gelu tanh: x·0.5·(1 + tanh(√(2/π)·(x + 0.044715·x³)))   (x³ as Pow(x, 3) or x·x·x)
//	layernorm: d = x − mean(x); d / sqrt(mean(d²) + eps) [· γ] [+ β]
//	           (means over the trailing axes, d² as Pow(d, 2) or d·d)
var patternRules = []func(g *ir.Graph, n *ir.Node) bool{
	matchGelu,
	matchLayerNorm,
}

// recognizePatterns walks the nodes from the last, so the largest match
// (a LayerNorm with its affine Mul and Add) wins over its inner part.
func recognizePatterns(g *ir.Graph) {
	users := g.Users()
	outs := map[*ir.Value]bool{}
	for _, v := range g.Outputs {
		outs[v] = true
	}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		if n := g.Nodes[i]; len(n.Outputs) == 1 && len(users[n.Outputs[0]]) == 0 && !outs[n.Outputs[0]] {
			continue // dead, or made dead by a rewrite
		}
		for _, r := range patternRules {
			if r(g, g.Nodes[i]) {
				break
			}
		}
	}
}

// rewrite replaces n by op over ins, keeping n's result value.
func rewrite(g *ir.Graph, n *ir.Node, op ir.Op, ins ...*ir.Value) bool {
	if len(n.Outputs) != 1 {
		return false
	}
	types := make([]ir.Type, len(ins))
	for i, v := range ins {
		types[i] = v.Type
	}
	rt, err := ir.Infer(op, types)
	if err != nil || len(rt) != 1 || !rt[0].Equal(n.Outputs[0].Type) {
		return false
	}
	for i, m := range g.Nodes {
		if m == n {
			nn := &ir.Node{Name: n.Name, Op: op, Inputs: ins, Outputs: n.Outputs}
			n.Outputs[0].Def = nn
			g.Nodes[i] = nn
			return true
		}
	}
	return false
}

func def(v *ir.Value, k ir.Kind) *ir.Node {
	if v == nil || v.Def == nil || v.Def.Op.Kind() != k {
		return nil
	}
	return v.Def
}

// scalar returns a one-element constant's value.
func scalar(v *ir.Value) (float64, bool) {
	if v == nil || v.Const == nil || !v.Const.DType.IsFloat() {
		return 0, false
	}
	if !v.Const.Splat && v.Const.Numel() != 1 {
		return 0, false
	}
	return v.Const.Float(0), true
}

func near(v *ir.Value, want float64) bool {
	x, ok := scalar(v)
	return ok && math.Abs(x-want) <= 1e-5*math.Abs(want)
}

// operands returns the inputs of a commutative binary node with the one
// satisfying pick first.
func operands(n *ir.Node, pick func(*ir.Value) bool) (*ir.Value, *ir.Value, bool) {
	if n == nil || len(n.Inputs) != 2 {
		return nil, nil, false
	}
	a, b := n.Inputs[0], n.Inputs[1]
	switch {
	case pick(a):
		return a, b, true
	case pick(b):
		return b, a, true
	}
	return nil, nil, false
}

func matchGelu(g *ir.Graph, n *ir.Node) bool {
	if n.Op.Kind() != ir.KMul {
		return false
	}
	isHalf := func(v *ir.Value) bool { return near(v, 0.5) }
	// (x·a)·0.5 or (x·0.5)·a, a = 1 + erf(x/√2).
	var x, a *ir.Value
	if half, other, ok := operands(n, isHalf); ok {
		_ = half
		m := def(other, ir.KMul)
		if m == nil {
			return false
		}
		if p, q, ok := operands(m, func(v *ir.Value) bool { return geluX(v) != nil }); ok {
			a, x = p, q
		} else {
			return false
		}
	} else if p, q, ok := operands(n, func(v *ir.Value) bool { return geluX(v) != nil }); ok {
		a = p
		h := def(q, ir.KMul)
		if h == nil {
			return false
		}
		if _, xx, ok := operands(h, isHalf); ok {
			x = xx
		} else {
			return false
		}
	} else {
		return false
	}
	if geluX(a) != x {
		return false
	}
	approx := "none"
	if def(a, ir.KAdd) != nil && tanhArg(a) != nil {
		approx = "tanh"
	}
	return rewrite(g, n, &ir.Gelu{Approximate: approx}, x)
}

// tanhArg returns the tanh node when v = 1 + tanh(…).
func tanhArg(v *ir.Value) *ir.Node {
	_, e, ok := operands(def(v, ir.KAdd), func(v *ir.Value) bool { return near(v, 1) })
	if !ok {
		return nil
	}
	return def(e, ir.KTanh)
}

// geluX returns x when v = 1 + erf(x/√2) or 1 + tanh(√(2/π)·(x + 0.044715·x³)).
func geluX(v *ir.Value) *ir.Value {
	add := def(v, ir.KAdd)
	_, e, ok := operands(add, func(v *ir.Value) bool { return near(v, 1) })
	if !ok {
		return nil
	}
	if th := def(e, ir.KTanh); th != nil {
		return geluTanhX(th.Inputs[0])
	}
	erf := def(e, ir.KErf)
	if erf == nil {
		return nil
	}
	s := erf.Inputs[0]
	if d := def(s, ir.KDiv); d != nil && near(d.Inputs[1], math.Sqrt2) {
		return d.Inputs[0]
	}
	if m := def(s, ir.KMul); m != nil {
		if _, x, ok := operands(m, func(v *ir.Value) bool { return near(v, 1/math.Sqrt2) }); ok {
			return x
		}
	}
	return nil
}

// geluTanhX returns x when v = √(2/π)·(x + 0.044715·x³).
func geluTanhX(v *ir.Value) *ir.Value {
	_, inner, ok := operands(def(v, ir.KMul), func(v *ir.Value) bool { return near(v, math.Sqrt(2/math.Pi)) })
	if !ok {
		return nil
	}
	add := def(inner, ir.KAdd)
	if add == nil {
		return nil
	}
	for _, o := range [][2]*ir.Value{{add.Inputs[0], add.Inputs[1]}, {add.Inputs[1], add.Inputs[0]}} {
		x, term := o[0], o[1]
		_, cube, ok := operands(def(term, ir.KMul), func(v *ir.Value) bool { return near(v, 0.044715) })
		if ok && isCube(cube, x) {
			return x
		}
	}
	return nil
}

// isCube reports whether v = x³ (Pow(x, 3), x·(x·x) or (x·x)·x).
func isCube(v, x *ir.Value) bool {
	if p := def(v, ir.KPow); p != nil {
		return p.Inputs[0] == x && near(p.Inputs[1], 3)
	}
	m := def(v, ir.KMul)
	if m == nil {
		return false
	}
	sq := func(v *ir.Value) bool {
		s := def(v, ir.KMul)
		return s != nil && s.Inputs[0] == x && s.Inputs[1] == x
	}
	a, b := m.Inputs[0], m.Inputs[1]
	return (a == x && sq(b)) || (b == x && sq(a))
}

// trailingMean returns x and the first axis when v = reduce_mean(x) over
// the trailing axes with keepdims.
func trailingMean(v *ir.Value) (*ir.Value, int, bool) {
	r := def(v, ir.KReduceMean)
	if r == nil {
		return nil, 0, false
	}
	op := r.Op.(*ir.Reduce)
	x := r.Inputs[0]
	rank := x.Type.Shape.Rank()
	if !op.KeepDims || len(op.Axes) == 0 {
		return nil, 0, false
	}
	seen := make([]bool, rank)
	first := rank
	for _, a := range op.Axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return nil, 0, false
		}
		seen[a] = true
		first = min(first, a)
	}
	for a := first; a < rank; a++ {
		if !seen[a] {
			return nil, 0, false
		}
	}
	return x, first, len(op.Axes) == rank-first
}

// matchLayerNorm matches at the division, the affine Mul and the Add.
func matchLayerNorm(g *ir.Graph, n *ir.Node) bool {
	var gamma, beta *ir.Value
	div := n
	if n.Op.Kind() == ir.KAdd {
		p, q, ok := operands(n, func(v *ir.Value) bool { return v.Const != nil })
		if !ok {
			return false
		}
		beta = p
		div = q.Def
	}
	if div != nil && div.Op.Kind() == ir.KMul {
		p, q, ok := operands(div, func(v *ir.Value) bool { return v.Const != nil })
		if !ok {
			return false
		}
		gamma = p
		div = q.Def
	}
	if div == nil || div.Op.Kind() != ir.KDiv {
		return false
	}
	d, s := div.Inputs[0], div.Inputs[1]
	sub := def(d, ir.KSub)
	sq := def(s, ir.KSqrt)
	if sub == nil || sq == nil {
		return false
	}
	x, axis, ok := trailingMean(sub.Inputs[1])
	if !ok || x != sub.Inputs[0] {
		return false
	}
	add := def(sq.Inputs[0], ir.KAdd)
	epsV, vr, ok := operands(add, func(v *ir.Value) bool { _, ok := scalar(v); return ok })
	if !ok {
		return false
	}
	eps, _ := scalar(epsV)
	dd, axis2, ok := trailingMean(vr)
	if !ok || axis2 != axis {
		return false
	}
	if p := def(dd, ir.KPow); p != nil {
		if p.Inputs[0] != d || !near(p.Inputs[1], 2) {
			return false
		}
	} else if m := def(dd, ir.KMul); m == nil || m.Inputs[0] != d || m.Inputs[1] != d {
		return false
	}
	norm := x.Type.Shape[axis:]
	if !norm.Static() || !x.Type.DType.IsFloat() {
		return false
	}
	if n.Op.Kind() == ir.KDiv && (gamma != nil || beta != nil) {
		return false
	}
	ins := []*ir.Value{x}
	for _, p := range []*ir.Value{gamma, beta} {
		if p == nil {
			break
		}
		if !p.Type.Shape.Equal(norm) {
			return false // γ or β broadcast: keep the spelled-out form
		}
		ins = append(ins, p)
	}
	if gamma == nil && beta != nil {
		return false
	}
	if gamma == nil {
		one := &ir.Tensor{DType: x.Type.DType, Shape: norm.Ints(), F: []float32{1}, Splat: true}
		// Fresh claims the name it returns, so the value is made here.
		name := ir.BuilderFor(g).Fresh(n.Outputs[0].Name + ".scale")
		v := &ir.Value{Name: name, Type: ir.TensorType(one.DType, norm.Clone()), Const: one}
		if !rewrite(g, n, &ir.LayerNorm{Axis: axis, Eps: eps}, append(ins, v)...) {
			return false
		}
		g.Consts = append(g.Consts, v)
		return true
	}
	return rewrite(g, n, &ir.LayerNorm{Axis: axis, Eps: eps}, ins...)
}
