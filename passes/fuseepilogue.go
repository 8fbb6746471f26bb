package passes

import "github.com/modelc/modelc/ir"

// fuseEpilogue folds into each linear and conv2d (and their Kronecker-
// factored forms, phm_linear and phc_conv2d) the elementwise ops that
// follow it, so a kernel applies them while its results are still in
// registers instead of in extra passes over memory:
//
//	y = linear(x, w, b); z = add(y, r); a = relu(z)
//	  →  a = linear(x, w, b, r) {act="relu", residual=true}
//
// First a residual add of a same-shaped value, then one relu or gelu. A
// result that is a graph output or has several readers ends the chain.
// The fused node takes the place of the last op it absorbed, so a residual
// computed after the product (a shortcut's slice and pad) is defined
// before it reads it; that is always a valid order, since everything that
// read the product's result was absorbed.
func fuseEpilogue(c *Context, _ Options) (Stats, error) {
	g := c.Graph
	users := g.Users()
	stats := Stats{}
	dead := map[*ir.Node]bool{}
	// only returns the single reader of v, if v has exactly one and is
	// not a graph output.
	only := func(v *ir.Value) *ir.Node {
		if us := users[v]; len(us) == 1 && !isOutput(g, v) && !dead[us[0]] {
			return us[0]
		}
		return nil
	}
	// at maps a fused node to the absorbed node whose place it takes.
	at := map[*ir.Node]*ir.Node{}
	// absorb makes n produce u's result in place of its own.
	absorb := func(n, u *ir.Node) {
		v := u.Outputs[0]
		v.Def = n
		n.Outputs[0] = v
		dead[u] = true
		at[n] = u
	}
	for _, n := range g.Nodes {
		if dead[n] {
			continue
		}
		e, ok := ir.EpilogueOf(n.Op)
		if !ok || e != (ir.Epilogue{}) {
			continue
		}
		out := n.Outputs[0]
		if u := only(out); u != nil && u.Op.Kind() == ir.KAdd {
			other := u.Inputs[1]
			if other == out {
				other = u.Inputs[0]
			}
			if other != out && other.Type.DType == out.Type.DType && other.Type.Shape.Equal(out.Type.Shape) &&
				u.Outputs[0].Type.Shape.Equal(out.Type.Shape) {
				n.Inputs = append(n.Inputs, other)
				e.Residual = true
				absorb(n, u)
				stats["residual"]++
			}
		}
		if u := only(n.Outputs[0]); u != nil {
			act := ""
			switch u.Op.Kind() {
			case ir.KRelu:
				act = "relu"
			case ir.KGelu:
				act = "gelu"
				if u.Op.(*ir.Gelu).Approximate == "tanh" {
					act = "gelu_tanh"
				}
			}
			if act != "" {
				e.Act = act
				absorb(n, u)
				stats[act]++
			}
		}
		ir.SetEpilogue(n.Op, e)
	}
	place := map[*ir.Node]*ir.Node{}
	for n, u := range at {
		place[u] = n
	}
	nodes := g.Nodes[:0:0]
	for _, n := range g.Nodes {
		switch {
		case at[n] != nil:
			// placed at its last absorbed op
		case dead[n]:
			if p := place[n]; p != nil {
				nodes = append(nodes, p)
			}
		default:
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	return stats, nil
}
