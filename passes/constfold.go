package passes

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// maxFoldElems bounds what const-fold materialises: folding expand(c) to
// a huge dense tensor would trade a cheap op for weights.bin bytes.
const maxFoldElems = 1 << 20

// constFold evaluates nodes whose inputs are all constants (with static
// result shapes) with the reference evaluator and turns their results into
// constants, keeping the values' names. A result whose elements are all
// equal becomes a splat, which never reaches weights.bin.
func constFold(c *Context, _ Options) (Stats, error) {
	g := c.Graph
	stats := Stats{}
	dead := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		if !foldable(n) {
			continue
		}
		sub := &ir.Graph{Name: "fold", Consts: n.Inputs, Nodes: []*ir.Node{n}, Outputs: n.Outputs}
		outs, err := ir.Eval(sub)
		if err != nil {
			return nil, fmt.Errorf("folding %s: %w", n.Op.Kind(), err)
		}
		for i, v := range n.Outputs {
			t := outs[i]
			if uniform(t) {
				t = &ir.Tensor{DType: t.DType, Shape: t.Shape, Splat: true, F: t.F[:min(len(t.F), 1)], I: t.I[:min(len(t.I), 1)]}
				if t.F != nil && len(t.F) == 0 {
					t.F = nil
				}
				if t.I != nil && len(t.I) == 0 {
					t.I = nil
				}
				stats["splats"]++
			}
			v.Def, v.Const = nil, t
			g.Consts = append(g.Consts, v)
		}
		dead[n] = true
		stats["folded"]++
	}
	removeNodes(g, dead)
	return stats, nil
}

func foldable(n *ir.Node) bool {
	for _, in := range n.Inputs {
		if !in.IsConst() || (in.Const.F == nil && in.Const.I == nil) {
			return false
		}
		if in.Const.Splat && in.Const.Numel() > maxFoldElems {
			return false // evaluating would expand it (a ConstantOfShape of 2²⁸)
		}
	}
	for _, v := range n.Outputs {
		s := v.Type.Shape
		if !s.Static() {
			return false
		}
		if d, _ := s.NumelDim(); d.B > maxFoldElems {
			return false
		}
	}
	return true
}

// uniform reports whether every element of a non-empty t is the same
// (bitwise for floats, so -0 and NaN payloads are kept apart).
func uniform(t *ir.Tensor) bool {
	if t.Numel() <= 1 {
		return false
	}
	if t.F != nil {
		for _, x := range t.F[1:] {
			if x != t.F[0] || x != x {
				return false
			}
		}
		return true
	}
	for _, x := range t.I[1:] {
		if x != t.I[0] {
			return false
		}
	}
	return true
}
