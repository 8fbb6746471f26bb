package passes

import (
	"slices"
	"strings"

	"github.com/modelc/modelc/ir"
)

// region is one residual sublayer of a transformer,
//
//	out = add(in, F(Norm(in)))      Norm: layernorm, or RMSNorm/LayerNorm written out
//	out = add(in, F(in))            the norm folded into F's first linear (bn-fold's RepBN)
//
// where every node of Norm and F is read only inside the region (they may
// read constants, graph inputs and other values computed outside, such as
// masks). F holds an attention (or a softmax: attention written out) for
// kind "attn", otherwise linears for kind "mlp"; a region with a
// convolution is no transformer sublayer and is not matched.
type region struct {
	kind  string // "attn" or "mlp"
	layer int    // index among the regions of its kind, in graph order
	label string // the common prefix of its nodes' names, e.g. "blocks.3"
	// id names the region across copies and rewrites of the graph: the
	// name of the add's result.
	id      string
	in, out *ir.Value
	add     *ir.Node
	nodes   []*ir.Node // Norm and F, in graph order
	norm    bool       // F reads in through a norm (false: folded)
}

// postNorm is a residual sublayer followed by a norm, norm(add(h, F(h))):
// dropping F would keep the norm, a different approximation.
type postNorm struct {
	kind, label string
}

// findRegions matches the residual sublayers of g in graph order, and the
// post-norm ones it must refuse.
func findRegions(g *ir.Graph) ([]*region, []postNorm) {
	users := g.Users()
	pos := map[*ir.Node]int{}
	for i, n := range g.Nodes {
		pos[n] = i
	}
	var regions []*region
	var post []postNorm
	for _, a := range g.Nodes {
		if a.Op.Kind() != ir.KAdd || len(a.Inputs) != 2 {
			continue
		}
		for side := range 2 {
			h, f := a.Inputs[side], a.Inputs[1-side]
			r, isPost := matchRegion(g, users, pos, a, h, f)
			if r != nil {
				regions = append(regions, r)
				break
			}
			if isPost != nil {
				post = append(post, *isPost)
				break
			}
		}
	}
	count := map[string]int{}
	for _, r := range regions {
		r.layer = count[r.kind]
		count[r.kind]++
	}
	return regions, post
}

// matchRegion tries a = add(h, f) as h + F(…h…) with f = F's result.
func matchRegion(g *ir.Graph, users map[*ir.Value][]*ir.Node, pos map[*ir.Node]int, a *ir.Node, h, f *ir.Value) (*region, *postNorm) {
	out := a.Outputs[0]
	if f.Def == nil || h == f || !h.Type.Equal(out.Type) || !f.Type.Equal(out.Type) || h.IsConst() ||
		len(users[f]) != 1 || isOutput(g, f) || h.Type.DType != ir.F32 {
		return nil, nil
	}
	// The nodes on paths from h to f: f's backward cone (after h's
	// producer), then those of it that read h, directly or not.
	start := -1
	if h.Def != nil {
		start = pos[h.Def]
	}
	cone := map[*ir.Node]bool{}
	stack := []*ir.Node{f.Def}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cone[n] || pos[n] <= start {
			continue
		}
		cone[n] = true
		for _, in := range n.Inputs {
			if in != nil && in.Def != nil {
				stack = append(stack, in.Def)
			}
		}
	}
	var nodes, entries []*ir.Node
	inR := map[*ir.Node]bool{}
	for _, n := range g.Nodes[start+1 : pos[a]] {
		if !cone[n] {
			continue
		}
		reads := false
		for _, in := range n.Inputs {
			if in == h {
				reads = true
				entries = append(entries, n)
				break
			}
			if in != nil && in.Def != nil && inR[in.Def] {
				reads = true
			}
		}
		if reads {
			inR[n] = true
			nodes = append(nodes, n)
		}
	}
	if !inR[f.Def] {
		return nil, nil
	}
	// Closed: nothing outside reads the region's values.
	hasAttn, hasLinear := false, false
	for _, n := range nodes {
		for _, v := range n.Outputs {
			if isOutput(g, v) {
				return nil, nil
			}
			for _, u := range users[v] {
				if !inR[u] && !(u == a && v == f) {
					return nil, nil
				}
			}
		}
		switch n.Op.Kind() {
		case ir.KAttention, ir.KSoftmax:
			hasAttn = true
		case ir.KLinear, ir.KMatMul, ir.KGemm:
			hasLinear = true
		case ir.KConv2D, ir.KConvTranspose2D, ir.KConvND, ir.KConvTransposeND:
			return nil, nil
		}
	}
	if !hasAttn && !hasLinear {
		return nil, nil
	}
	kind := "mlp"
	if hasAttn {
		kind = "attn"
	}
	r := &region{kind: kind, label: commonLabel(nodes), id: out.Name, in: h, out: out, add: a, nodes: nodes}
	switch {
	case normEntry(entries, nodes):
		r.norm = true
	case !allKind(entries, ir.KLinear, ir.KMatMul, ir.KGemm):
		return nil, nil
	case readByNormOnly(g, users, out):
		return nil, &postNorm{kind: kind, label: r.label}
	}
	return r, nil
}

// normEntry: the region reads h through a norm: a layernorm, or a norm
// written out (statistics by reduce_mean over elementwise ops of h, as
// exporters write RMSNorm).
func normEntry(entries, nodes []*ir.Node) bool {
	if allKind(entries, ir.KLayerNorm) {
		return true
	}
	stats := slices.ContainsFunc(nodes, func(n *ir.Node) bool { return n.Op.Kind() == ir.KReduceMean })
	return stats && allKind(entries, ir.KPow, ir.KMul, ir.KDiv, ir.KSub, ir.KReduceMean)
}

// readByNormOnly: v's only reader is a norm (the post-norm form).
func readByNormOnly(g *ir.Graph, users map[*ir.Value][]*ir.Node, v *ir.Value) bool {
	us := users[v]
	return !isOutput(g, v) && len(us) == 1 && us[0].Op.Kind() == ir.KLayerNorm
}

func allKind(ns []*ir.Node, kinds ...ir.Kind) bool {
	for _, n := range ns {
		if !slices.Contains(kinds, n.Op.Kind()) {
			return false
		}
	}
	return len(ns) > 0
}

// commonLabel is the longest common prefix of the nodes' names, cut at
// its last separator (. or /) and trimmed of them: "blocks.3" for
// blocks.3.ln1, blocks.3.attn.qkv, blocks.3.attn and blocks.3.attn.proj;
// ONNX's "/blocks/blocks.3/ln1/…", "/blocks/blocks.3/attn/…" give
// "blocks/blocks.3".
func commonLabel(nodes []*ir.Node) string {
	var names []string
	for _, n := range nodes {
		if n.Name != "" {
			names = append(names, n.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	p := names[0]
	for _, s := range names[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	// The prefix may end inside a name ("blocks.1" of blocks.1x): cut it
	// at its last separator.
	if i := strings.LastIndexAny(p, "./"); i >= 0 {
		p = p[:i]
	}
	return strings.Trim(p, "./")
}

// dropRegions rewrites g so that each region's result is its input
// (h_out := h_in) and removes the regions' nodes; constants nothing reads
// any more leave with dead-code elimination. regions are g's.
func dropRegions(g *ir.Graph, regions []*region) int {
	byPos := slices.Clone(regions)
	pos := map[*ir.Node]int{}
	for i, n := range g.Nodes {
		pos[n] = i
	}
	slices.SortFunc(byPos, func(a, b *region) int { return pos[a.add] - pos[b.add] })
	subst := map[*ir.Value]*ir.Value{}
	dead := map[*ir.Node]bool{}
	for _, r := range byPos {
		in := r.in
		for subst[in] != nil {
			in = subst[in]
		}
		replaceUses(g, r.out, in)
		subst[r.out] = in
		dead[r.add] = true
		for _, n := range r.nodes {
			dead[n] = true
		}
	}
	removeNodes(g, dead)
	return len(dead)
}
