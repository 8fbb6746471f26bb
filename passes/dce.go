package passes

import "github.com/modelc/modelc/ir"

// deadCode removes nodes that no graph output depends on, then constants
// nothing reads. Graph inputs stay: they are the model's signature.
func deadCode(c *Context, _ Options) (Stats, error) {
	g := c.Graph
	live := map[*ir.Value]bool{}
	for _, v := range g.Outputs {
		live[v] = true
	}
	dead := map[*ir.Node]bool{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		used := false
		for _, v := range n.Outputs {
			used = used || live[v]
		}
		if !used {
			dead[n] = true
			continue
		}
		for _, in := range n.Inputs {
			live[in] = true
		}
	}
	removeNodes(g, dead)
	stats := Stats{}
	if len(dead) > 0 {
		stats["nodes"] = len(dead)
	}
	kept := g.Consts[:0]
	for _, v := range g.Consts {
		if live[v] {
			kept = append(kept, v)
		} else {
			stats["consts"]++
		}
	}
	g.Consts = kept
	return stats, nil
}
