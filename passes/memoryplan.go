package passes

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// isView reports whether op's result is its input's bytes reinterpreted.
func isView(n *ir.Node) bool {
	k := n.Op.Kind()
	return (k == ir.KReshape || k == ir.KFlatten) && n.Inputs[0].Type.Layout == n.Outputs[0].Type.Layout
}

func memoryPlan(c *Context, _ Options) (Stats, error) {
	g := c.Graph
	p := &ir.MemoryPlan{Of: map[*ir.Value]*ir.Buffer{}, Steps: len(g.Nodes)}
	newBuf := func(v *ir.Value, step int) (*ir.Buffer, error) {
		n, ok := v.Type.Shape.NumelDim()
		if !ok {
			return nil, fmt.Errorf("value %s: size of %s is not affine in N", v.Name, v.Type.Shape)
		}
		b := &ir.Buffer{Values: []*ir.Value{v}, Bytes: n.MulInt(v.Type.DType.Size()), First: step, Last: step}
		p.Buffers = append(p.Buffers, b)
		p.Of[v] = b
		return b, nil
	}
	for _, v := range g.Inputs {
		b, err := newBuf(v, 0)
		if err != nil {
			return nil, err
		}
		b.Input = true
	}
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			if b := p.Of[in]; b != nil {
				b.Last = max(b.Last, i)
			}
		}
		if isView(n) && p.Of[n.Inputs[0]] != nil {
			b := p.Of[n.Inputs[0]]
			b.Values = append(b.Values, n.Outputs[0])
			p.Of[n.Outputs[0]] = b
			continue
		}
		for _, v := range n.Outputs {
			if _, err := newBuf(v, i); err != nil {
				return nil, err
			}
		}
	}
	for _, v := range g.Outputs {
		if b := p.Of[v]; b != nil {
			b.Output = true
			b.Last = p.Steps
		}
	}
	c.Plan = p
	stats := Stats{"buffers": 0, "views": 0}
	for _, b := range p.Buffers {
		if b.Arena() {
			stats["buffers"]++
		}
		stats["views"] += len(b.Values) - 1
	}
	stats["peak-bytes-N1"] = p.PeakBytes(1)
	return stats, nil
}
