package passes

import "github.com/modelc/modelc/ir"

// canonicalize rewrites equivalent forms into one, so later passes and
// kernels see fewer shapes of the same thing. Each rule is a row: a match
// on one node and what replaces it. Rules run to a fixed point.
//
//	flatten(x)                → reshape(x)        (same row-major data)
//	reshape(reshape(x))       → reshape(x)
//	reshape(x) to x's shape   → x
//	transpose(x) by identity  → x
//	cast(x) to x's dtype      → x
//
// A node whose result is a graph output is kept, so outputs keep their
// names.
func canonicalize(c *Context, _ Options) (Stats, error) {
	g := c.Graph
	stats := Stats{}
	for changed := true; changed; {
		changed = false
		dead := map[*ir.Node]bool{}
		for _, n := range g.Nodes {
			for _, r := range canonRules {
				if r.apply(g, n, dead) {
					stats[r.name]++
					changed = true
					break
				}
			}
		}
		removeNodes(g, dead)
	}
	return stats, nil
}

type canonRule struct {
	name  string
	apply func(g *ir.Graph, n *ir.Node, dead map[*ir.Node]bool) bool
}

var canonRules = []canonRule{
	{"flatten→reshape", func(g *ir.Graph, n *ir.Node, dead map[*ir.Node]bool) bool {
		if n.Op.Kind() != ir.KFlatten {
			return false
		}
		n.Op = &ir.Reshape{Shape: n.Outputs[0].Type.Shape.Clone()}
		return true
	}},
	{"reshape-chain", func(g *ir.Graph, n *ir.Node, dead map[*ir.Node]bool) bool {
		if n.Op.Kind() != ir.KReshape || n.Inputs[0].Def == nil || n.Inputs[0].Def.Op.Kind() != ir.KReshape {
			return false
		}
		n.Inputs[0] = n.Inputs[0].Def.Inputs[0] // the inner reshape dies in dce if unused
		return true
	}},
	{"identity-reshape", func(g *ir.Graph, n *ir.Node, dead map[*ir.Node]bool) bool {
		return n.Op.Kind() == ir.KReshape && n.Inputs[0].Type.Shape.Equal(n.Outputs[0].Type.Shape) && bypass(g, n, dead)
	}},
	{"identity-transpose", func(g *ir.Graph, n *ir.Node, dead map[*ir.Node]bool) bool {
		if n.Op.Kind() != ir.KTranspose {
			return false
		}
		perm := n.Op.(*ir.Transpose).Perm
		for i, p := range perm {
			if p != i {
				return false
			}
		}
		return bypass(g, n, dead)
	}},
	{"identity-cast", func(g *ir.Graph, n *ir.Node, dead map[*ir.Node]bool) bool {
		return n.Op.Kind() == ir.KCast && n.Inputs[0].Type.DType == n.Op.(*ir.Cast).To && bypass(g, n, dead)
	}},
}

// bypass replaces a single-input, single-result node by its input, unless
// the result is a graph output or the node is already gone.
func bypass(g *ir.Graph, n *ir.Node, dead map[*ir.Node]bool) bool {
	if dead[n] || isOutput(g, n.Outputs[0]) {
		return false
	}
	replaceUses(g, n.Outputs[0], n.Inputs[0])
	dead[n] = true
	return true
}
