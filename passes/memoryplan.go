package passes

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/ir"
)

// MemoryPlan says where each intermediate value lives. Values that are
// views of another value's bytes (reshape and flatten of row-major data)
// share its buffer; graph inputs and outputs are the caller's memory;
// everything else gets a buffer in one arena. Sizes are affine in the
// batch N, so the generated New lays the arena out for its max batch with
// runtime's planner, from the lifetimes recorded here.
type MemoryPlan struct {
	Buffers []*Buffer
	// Of maps every non-constant value to its buffer.
	Of map[*ir.Value]*Buffer
	// Steps is the number of nodes; lifetimes index them.
	Steps int
}

// Buffer is one region of memory and the values stored in it.
type Buffer struct {
	Values      []*ir.Value // the defining value first, then its views
	Bytes       ir.Dim      // size, affine in N
	First, Last int         // steps during which it is live (inclusive)
	Input       bool        // a graph input: caller's memory
	Output      bool        // holds a graph output: caller's memory
}

// Arena reports whether the buffer lives in the model's arena.
func (b *Buffer) Arena() bool { return !b.Input && !b.Output }

// isView reports whether op's result is its input's bytes reinterpreted.
func isView(n *ir.Node) bool {
	k := n.Op.Kind()
	return (k == ir.KReshape || k == ir.KFlatten) && n.Inputs[0].Type.Layout == n.Outputs[0].Type.Layout
}

func memoryPlan(c *Context, _ map[string]any) (Stats, error) {
	g := c.Graph
	p := &MemoryPlan{Of: map[*ir.Value]*Buffer{}, Steps: len(g.Nodes)}
	newBuf := func(v *ir.Value, step int) (*Buffer, error) {
		n, ok := v.Type.Shape.NumelDim()
		if !ok {
			return nil, fmt.Errorf("value %s: size of %s is not affine in N", v.Name, v.Type.Shape)
		}
		b := &Buffer{Values: []*ir.Value{v}, Bytes: n.MulInt(v.Type.DType.Size()), First: step, Last: step}
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

// PeakBytes is the lower bound on the arena at batch n: the largest sum
// of arena buffers live at one step.
func (p *MemoryPlan) PeakBytes(n int) int {
	peak := 0
	for s := 0; s < p.Steps; s++ {
		live := 0
		for _, b := range p.Buffers {
			if b.Arena() && b.First <= s && s <= b.Last {
				live += b.Bytes.At(n)
			}
		}
		peak = max(peak, live)
	}
	return peak
}

// String prints the plan, one buffer a line, for reports and tests.
func (p *MemoryPlan) String() string {
	var sb strings.Builder
	for i, b := range p.Buffers {
		where := "arena"
		switch {
		case b.Input:
			where = "input"
		case b.Output:
			where = "output"
		}
		names := make([]string, len(b.Values))
		for j, v := range b.Values {
			names[j] = "%" + v.Name
		}
		fmt.Fprintf(&sb, "buf%-3d %-6s %10s bytes  steps %d..%d  %s\n", i, where, b.Bytes, b.First, b.Last, strings.Join(names, " "))
	}
	return sb.String()
}
