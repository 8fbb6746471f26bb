package passes

import (
	"slices"

	"github.com/modelc/modelc/ir"
)

// bnPrologue moves the BatchNorms bn-fold had to keep into the
// convolutions that read them, as a prologue (ir.Prologue) their band
// copy applies: a BN whose shift is not zero, before a padded conv,
// cannot fold into its weights (the conv pads the normalised input with
// zeros, and the folded one would pad the raw input), and a BN followed
// by an activation folds into nothing. Pre-activation ResNets and
// DenseNets have both: BN → ReLU → conv3×3 pad 1, the BN reading a
// residual add or a concat.
//
//	h = batchnorm(x, γ, β, μ, σ²); a = relu(h); y = conv2d(a, w, b) {pad=[1,1,1,1]}
//	  →  y = conv2d(x, w, b, s, t) {pad=[1,1,1,1], pre=true, pre_act="relu"}
//
// with s = γ/√(σ²+ε) and t = β − μ·s per input channel (float64, rounded
// once). The conv reads each element of x as pre_act(x·s + t) while it
// copies its padded input rows, and leaves the padding zero: exact by
// construction, whatever produces x.
//
// The rule: a batchnorm with constant statistics, optionally followed by
// one activation an epilogue can hold (its only reader), whose result
// every reader is an NHWC conv2d that copies its input rows (ConvNHWC,
// depthwise; not a 1×1 of stride 1 without padding, which reads its
// input in place as a GEMM: there bn-fold folds a BN without an
// activation between) and reads it as x alone, and is not a graph
// output. It runs after layout-assign, which decides those kernels.
//
// Stats: prologue (BatchNorms moved), and one per activation moved with
// them (relu, …).
func bnPrologue(c *Context, _ Options) (Stats, error) {
	g := c.Graph
	stats := Stats{}
	for {
		users := g.Users()
		did := false
		for _, n := range g.Nodes {
			if n.Op.Kind() != ir.KBatchNorm || n.Inputs[0].Type.Layout != ir.NHWC || n.Inputs[0].Type.DType != ir.F32 {
				continue
			}
			a, t, ok, err := bnAffine(n)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			dead := []*ir.Node{n}
			v, act := n.Outputs[0], ""
			if us := users[v]; len(us) == 1 && !isOutput(g, v) && len(us[0].Inputs) == 1 && len(us[0].Outputs) == 1 {
				if act = epilogueAct(us[0].Op); act != "" {
					dead = append(dead, us[0])
					v = us[0].Outputs[0]
				}
			}
			convs := users[v]
			if len(convs) == 0 || isOutput(g, v) || slices.ContainsFunc(convs, func(u *ir.Node) bool { return !prologueTarget(u, v) }) {
				continue
			}
			b := ir.BuilderFor(g)
			name := n.Name
			if name == "" {
				name = n.Outputs[0].Name
			}
			st, tt := ir.NewTensor(ir.F32, []int{len(a)}), ir.NewTensor(ir.F32, []int{len(a)})
			for i := range a {
				st.F[i], tt.F[i] = float32(a[i]), float32(t[i])
			}
			sv := &ir.Value{Name: b.Fresh(name + ".pre_scale"), Type: ir.TensorType(ir.F32, ir.StaticShape(len(a))), Const: st}
			tv := &ir.Value{Name: b.Fresh(name + ".pre_shift"), Type: ir.TensorType(ir.F32, ir.StaticShape(len(a))), Const: tt}
			g.Consts = append(g.Consts, sv, tv)
			for _, u := range convs {
				cv := u.Op.(*ir.Conv2D)
				cv.Pre, cv.PreAct = true, act
				u.Inputs[0] = n.Inputs[0]
				u.Inputs = append(u.Inputs, sv, tv)
			}
			gone := map[*ir.Node]bool{}
			for _, d := range dead {
				gone[d] = true
			}
			removeNodes(g, gone)
			stats["prologue"]++
			if act != "" {
				stats[act]++
			}
			did = true
			break
		}
		if !did {
			break
		}
	}
	if len(stats) > 0 {
		// The BN's statistics are read by nothing now.
		if _, err := deadCode(c, Options{}); err != nil {
			return nil, err
		}
	}
	return stats, nil
}

// prologueTarget reports whether conv2d u can take a prologue on its
// input v: it reads v as x only, has none yet, and runs a band-copy
// kernel on NHWC (codegen's genConv2D: depthwise, or groups 1 without
// dilation, but not the pointwise GEMM).
func prologueTarget(u *ir.Node, v *ir.Value) bool {
	cv, ok := u.Op.(*ir.Conv2D)
	if !ok || cv.Pre || u.Inputs[0] != v || slices.Contains(u.Inputs[1:], v) {
		return false
	}
	if v.Type.Layout != ir.NHWC || u.Outputs[0].Type.Layout != ir.NHWC {
		return false
	}
	w := u.Inputs[1]
	if ir.IsDepthwise(cv, w.Type.Shape) {
		return w.IsConst() && !w.Const.Splat
	}
	if cv.Groups != 1 || cv.Dilation[0] != 1 || cv.Dilation[1] != 1 {
		return false
	}
	pointwise := w.Type.Shape[2] == ir.D(1) && w.Type.Shape[3] == ir.D(1) && cv.Stride[0] == 1 && cv.Stride[1] == 1 &&
		!slices.ContainsFunc(cv.Pad, func(p int) bool { return p != 0 })
	return !pointwise
}
