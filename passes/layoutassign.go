package passes

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// layoutAssign gives the activations of convolutional networks the NHWC
// layout, which the convolution kernels read without an im2col copy: a
// tile of output pixels along a row reads its inputs at a fixed stride
// (stride·C floats), and a 3×3 window's taps along a row are one run of
// 3·C floats. The logical shapes stay NCHW; only the layout tag changes,
// and the reference evaluator ignores it.
//
// Values are grouped into components joined by the ops that work on NHWC
// as well as on NCHW (a conv2d with groups 1 and no dilation, or
// grouped on constant weights; element-wise ops on same-shape operands
// or scaled per channel, as squeeze-and-excitation does; batchnorm,
// slice, pad, max and average pools; global_avgpool's input). A
// component that holds a convolution's activations becomes NHWC. Where a
// value crosses into a reader that needs the logical layout (a reshape,
// a broadcasting add, a graph output) or comes from one (a graph input),
// an explicit relayout node converts it, once per value.
func layoutAssign(c *Context, _ Options) (Stats, error) {
	g := c.Graph
	parent := map[*ir.Value]*ir.Value{}
	var find func(v *ir.Value) *ir.Value
	find = func(v *ir.Value) *ir.Value {
		p, ok := parent[v]
		if !ok || p == v {
			return v
		}
		r := find(p)
		parent[v] = r
		return r
	}
	union := func(a, b *ir.Value) {
		if ra, rb := find(a), find(b); ra != rb {
			parent[ra] = rb
		}
	}
	seed := map[*ir.Value]bool{}
	for _, n := range g.Nodes {
		vals := nhwcValues(n)
		if len(vals) == 0 {
			continue
		}
		for _, v := range vals[1:] {
			union(vals[0], v)
		}
		if n.Op.Kind() == ir.KConv2D {
			seed[vals[0]] = true
		}
	}
	nhwc := map[*ir.Value]bool{} // component roots that become NHWC
	for v := range seed {
		nhwc[find(v)] = true
	}
	if len(nhwc) == 0 {
		return Stats{}, nil
	}
	// wants reports whether node n reads or writes v in NHWC.
	wants := func(n *ir.Node, v *ir.Value) bool {
		for _, u := range nhwcValues(n) {
			if u == v {
				return nhwc[find(v)]
			}
		}
		return false
	}
	stats := Stats{}
	names := map[string]bool{}
	for _, v := range g.Values() {
		names[v.Name] = true
	}
	fresh := func(base string) string {
		name := base
		for i := 2; names[name]; i++ {
			name = fmt.Sprintf("%s.%d", base, i)
		}
		names[name] = true
		return name
	}
	isOut := map[*ir.Value]bool{}
	for _, v := range g.Outputs {
		isOut[v] = true
	}
	// converted caches each value's conversion to the other layout.
	converted := map[*ir.Value]*ir.Value{}
	relayout := func(v *ir.Value, to ir.Layout, suffix string) (*ir.Node, *ir.Value) {
		t := v.Type
		t.Layout = to
		nv := &ir.Value{Name: fresh(v.Name + suffix), Type: t}
		n := &ir.Node{Op: ir.Simple{K: ir.KRelayout}, Inputs: []*ir.Value{v}, Outputs: []*ir.Value{nv}}
		nv.Def = n
		stats["relayout"]++
		return n, nv
	}
	var nodes []*ir.Node
	for _, n := range g.Nodes {
		if n.Op.Kind() == ir.KRelayout {
			nodes = append(nodes, n) // from an earlier run: already converts
			continue
		}
		for i, v := range n.Inputs {
			want := ir.LayoutAny
			if wants(n, v) {
				want = ir.NHWC
			}
			if v.Type.Layout == want {
				continue
			}
			cv := converted[v]
			if cv == nil {
				suffix := ".nchw"
				if want == ir.NHWC {
					suffix = ".nhwc"
				}
				var rn *ir.Node
				rn, cv = relayout(v, want, suffix)
				converted[v] = cv
				nodes = append(nodes, rn)
			}
			n.Inputs[i] = cv
		}
		nodes = append(nodes, n)
		for i, v := range n.Outputs {
			if !wants(n, v) {
				continue
			}
			stats["nhwc"]++
			if !isOut[v] {
				v.Type.Layout = ir.NHWC
				continue
			}
			// A graph output keeps the logical layout: n writes an NHWC
			// value that a relayout turns into the output.
			inner := &ir.Value{Name: fresh(v.Name + ".nhwc"), Type: v.Type, Def: n}
			inner.Type.Layout = ir.NHWC
			n.Outputs[i] = inner
			rn := &ir.Node{Op: ir.Simple{K: ir.KRelayout}, Inputs: []*ir.Value{inner}, Outputs: []*ir.Value{v}}
			v.Def = rn
			converted[inner], converted[v] = v, inner
			nodes = append(nodes, rn)
			stats["relayout"]++
		}
	}
	g.Nodes = nodes
	return stats, nil
}

// nhwcValues returns the activations node n can read and write in NHWC
// (rank-4 float32 values that are not constants), or nil when n needs the
// logical layout for all of them. Its inputs and results listed here share
// one layout.
func nhwcValues(n *ir.Node) []*ir.Value {
	act := func(v *ir.Value) bool {
		return !v.IsConst() && v.Type.DType == ir.F32 && v.Type.Shape.Rank() == 4
	}
	var vals []*ir.Value
	all := func(vs ...*ir.Value) []*ir.Value {
		for _, v := range vs {
			if !act(v) {
				return nil
			}
		}
		return vs
	}
	switch o := n.Op.(type) {
	case *ir.Conv2D:
		// Groups 1 without dilation (rows of GEMMs), or grouped (depthwise
		// or not) on constant weights (packed at build time: tap major, or
		// as a GEMM per block of groups), any dilation.
		grouped := o.Groups > 1 && n.Inputs[1].IsConst() && !n.Inputs[1].Const.Splat
		if !grouped && (o.Groups != 1 || o.Dilation[0] != 1 || o.Dilation[1] != 1) {
			return nil
		}
		vals = []*ir.Value{n.Inputs[0], n.Outputs[0]}
		if o.Epilogue.Residual {
			vals = append(vals, n.Inputs[len(n.Inputs)-1-ir.PrologueInputs(o)])
		}
		return all(vals...)
	case *ir.BatchNorm, *ir.Slice, *ir.Pad, *ir.MaxPool, *ir.AvgPool:
		return all(n.Inputs[0], n.Outputs[0])
	}
	switch n.Op.Kind() {
	case ir.KGlobalAvgPool:
		return all(n.Inputs[0])
	case ir.KRelu, ir.KSigmoid, ir.KTanh, ir.KExp, ir.KNeg, ir.KAbs, ir.KSqrt, ir.KLog, ir.KErf,
		ir.KClip, ir.KHardSigmoid, ir.KHardSwish, ir.KGelu, ir.KAdd, ir.KSub, ir.KMul, ir.KDiv:
		// Element-wise over same-shape operands: the flat loop is the same
		// in any layout. A per-channel operand [N, C, 1, 1] (the scale of
		// squeeze-and-excitation) has the same bytes in both layouts, and
		// codegen's genBinary broadcasts it over NHWC's pixels.
		out := n.Outputs[0].Type.Shape
		for _, v := range n.Inputs {
			if !v.Type.Shape.Equal(out) && !channelVector(v.Type.Shape, out) {
				return nil
			}
		}
		return all(append(append([]*ir.Value(nil), n.Inputs...), n.Outputs...)...)
	}
	return nil
}

// channelVector reports whether s is [N, C, 1, 1] against a rank-4 out
// [N, C, H, W]: one value per image and channel.
func channelVector(s, out ir.Shape) bool {
	return s.Rank() == 4 && out.Rank() == 4 && s[0] == out[0] && s[1] == out[1] && s[2] == ir.D(1) && s[3] == ir.D(1)
}
