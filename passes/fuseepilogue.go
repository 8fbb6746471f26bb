package passes

import (
	"math"

	"github.com/modelc/modelc/ir"
)

// fuseEpilogue folds into each linear and conv2d (and their Kronecker-
// factored forms, phm_linear and phc_conv2d) the elementwise ops that
// follow it, so a kernel applies them while its results are still in
// registers instead of in extra passes over memory:
//
//	y = linear(x, w, b); z = add(y, r); a = relu(z)
//	  →  a = linear(x, w, b, r) {act="relu", residual=true}
//
// First a residual add of a same-shaped value, then one activation:
// relu, Clip(0, 6) or Clip(0, +Inf) (relu6, relu), hardswish,
// hardsigmoid with PyTorch's constants (alpha 1/6, beta ½), sigmoid,
// swish with alpha 1 or x·sigmoid(x) (silu), gelu. A result that is a
// graph output or has several readers ends the chain (x·sigmoid(x)'s two
// readers excepted).
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
			if act := epilogueAct(u.Op); act != "" {
				e.Act = act
				absorb(n, u)
				stats[act]++
			}
		} else if s, m := siluOf(n.Outputs[0], users[n.Outputs[0]], only); s != nil {
			// x·sigmoid(x), as exporters write SiLU: both readers go.
			dead[s] = true
			e.Act = "silu"
			absorb(n, m)
			stats["silu"]++
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

// epilogueAct returns the epilogue activation (ir.Epilogue.Act) that op
// computes, or "" when an epilogue cannot hold it.
func epilogueAct(op ir.Op) string {
	switch o := op.(type) {
	case *ir.Gelu:
		if o.Approximate == "tanh" {
			return "gelu_tanh"
		}
		return "gelu"
	case *ir.Clip:
		switch {
		case o.Min == 0 && o.Max == 6:
			return "relu6"
		case o.Min == 0 && math.IsInf(o.Max, 1):
			return "relu"
		}
		return ""
	case *ir.HardSigmoid:
		// The ONNX attribute is float32: 1/6 rounded.
		if float32(o.Alpha) == float32(1.0/6) && o.Beta == 0.5 {
			return "hardsigmoid"
		}
		return ""
	case *ir.AlphaAct:
		if o.K == ir.KSwish && o.Alpha == 1 {
			return "silu"
		}
		return ""
	}
	switch op.Kind() {
	case ir.KRelu:
		return "relu"
	case ir.KHardSwish:
		return "hardswish"
	case ir.KSigmoid:
		return "sigmoid"
	}
	return ""
}

// siluOf finds x·sigmoid(x) on v: its readers (us) are exactly a sigmoid
// s of v and a mul m of v by s's result, which only m reads. It returns
// s and m, or nils.
func siluOf(v *ir.Value, us []*ir.Node, only func(*ir.Value) *ir.Node) (s, m *ir.Node) {
	if len(us) != 2 {
		return nil, nil
	}
	for i, u := range us {
		if u.Op.Kind() != ir.KSigmoid {
			continue
		}
		m = us[1-i]
		sv := u.Outputs[0]
		if only(sv) != m || m.Op.Kind() != ir.KMul || len(m.Inputs) != 2 ||
			!(m.Inputs[0] == v && m.Inputs[1] == sv || m.Inputs[0] == sv && m.Inputs[1] == v) ||
			!m.Outputs[0].Type.Shape.Equal(v.Type.Shape) {
			return nil, nil
		}
		return u, m
	}
	return nil, nil
}
