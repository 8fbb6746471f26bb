package passes

import (
	"fmt"
	"math"
	"slices"

	"github.com/modelc/modelc/ir"
)

// bnFold turns inference-time BatchNorms into the weights of the linear
// and conv2d layers next to them (docs/algorithms.md §2). Every rule is an
// exact identity; the fold is computed in float64 and rounded to float32
// once. Rules, applied until none matches, in this order:
//
//   - RepVGG merge (§2.6): an add tree whose leaves are conv+BN branches,
//     bare convs and a BN of the shared input (the identity branch), all
//     centred on the same pixel with one stride and groups, becomes one
//     conv of the largest kernel with a bias:
//
//     d = bn3(conv3x3(x)); o = bn1(conv1x1(x)); i = bn0(x); y = add(add(d, o), i)
//     →  y = conv2d(x, K, b) {pad=1}
//
//   - rule A (§2.2): conv2d|linear → BN. The producer's result must have
//     the BN as its only reader and not be a graph output; W' = a·W row by
//     row, b' = a·b + t.
//
//     h = linear(x, w, b); y = batchnorm(h, …)  →  y = linear(x, w', b')
//
//   - rule B (§2.3): BN → linear | conv2d, when no producer takes it. Every
//     reader must fold (views that keep the channel axis — slice, reshape,
//     transpose — are followed); W' = W·diag(a), b' = W·t + b. A padded
//     conv folds only when t = 0 (it pads the folded input with zeros where
//     the original padded the normalised one); otherwise the BN stays.
//
//   - LayerNorm affine (§2.5): a layernorm over the last axis whose every
//     reader is a linear (through views that keep that axis) gives them
//     its scale and shift, W' = W·diag(γ), b' = W·β + b, and becomes
//     layernorm(x), the statistics alone.
//
// A BN is matched as a per-channel affine map y = a⊙x + t (§2.1), and so is
// SLAB's RepBN as model.yaml writes it (§2.4): BN between two transposes
// that undo each other, plus α·x, summed — a = γ/√(σ²+ε) + α. Both fold
// by rules A and B. PRepBN has no IR form (the frontend keeps only the
// RepBN branch of a finished schedule), so it never reaches this pass.
//
// A BN after a phm_linear or phc_conv2d folds by rule A into its factors
// when its scale keeps the sum at R terms (ruleAKron), and otherwise into
// its scale and bias inputs; the weight stays factored either way.
//
// Stats: repvgg (blocks merged), rule-a, rule-b (maps folded by each rule;
// kron-factors and kron-scale: rule A on factored producers, into the
// factors or the scale;
// RepBNs included), repbn (RepBNs among them), ln-affine (layernorms whose
// scale and shift moved), bn-kept (BatchNorms left, e.g. before a padded
// conv) and nodes-removed.
func bnFold(c *Context, _ Options) (Stats, error) {
	g := c.Graph
	f := &folder{g: g, b: ir.BuilderFor(g), stats: Stats{}, orphans: map[*ir.Value]bool{}}
	before := len(g.Nodes)
	for {
		did, err := f.step()
		if err != nil {
			return nil, err
		}
		if !did {
			break
		}
	}
	f.dropOrphans()
	for _, n := range g.Nodes {
		if n.Op.Kind() == ir.KBatchNorm {
			f.stats["bn-kept"]++
		}
	}
	if d := before - len(g.Nodes); d > 0 {
		f.stats["nodes-removed"] = d
	}
	return f.stats, nil
}

// folder holds one bn-fold run's state.
type folder struct {
	g     *ir.Graph
	b     *ir.Builder
	stats Stats
	users map[*ir.Value][]*ir.Node
	// orphans are constants a rewrite stopped reading; those nothing
	// reads at the end are dropped.
	orphans map[*ir.Value]bool
}

// step applies the first rewrite that matches, in rule order, and reports
// whether it did one. The graph is consistent again when it returns.
func (f *folder) step() (bool, error) {
	g := f.g
	f.users = g.Users()
	// RepVGG first: its BNs would otherwise fold into their own convs and
	// leave the sum of convs, which is still mergeable but slower to find.
	// Later adds first, so a whole tree is seen before its subtrees.
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		if n := g.Nodes[i]; n.Op.Kind() == ir.KAdd {
			ok, err := f.repVGG(i)
			if ok || err != nil {
				return ok, err
			}
		}
	}
	for _, n := range g.Nodes {
		if n.Op.Kind() != ir.KBatchNorm {
			continue
		}
		m, err := f.affineAt(n)
		if err != nil {
			return false, err
		}
		if m == nil {
			continue
		}
		if f.ruleA(m) || f.ruleB(m) {
			if m.repbn {
				f.stats["repbn"]++
			}
			return true, nil
		}
	}
	for _, n := range g.Nodes {
		if n.Op.Kind() == ir.KLayerNorm && f.lnAffine(n) {
			return true, nil
		}
	}
	return false, nil
}

// chanAffine is a matched per-channel affine map y = a⊙x + t along axis
// (x and y have the same type), computed by nodes.
type chanAffine struct {
	x, y  *ir.Value
	axis  int
	a, t  []float64
	nodes []*ir.Node
	bn    *ir.Node
	repbn bool
}

// bnAffine reads a batchnorm's constants as a and t (§2.1); ok is false
// when they are not constants. Statistics that make BN undefined
// (σ²+ε ≤ 0, non-finite values) are an error naming the node.
func bnAffine(n *ir.Node) (a, t []float64, ok bool, err error) {
	for _, in := range n.Inputs[1:] {
		if !isF32Const(in) {
			return nil, nil, false, nil
		}
	}
	eps := n.Op.(*ir.BatchNorm).Eps
	gamma, beta, mean, variance := n.Inputs[1].Const, n.Inputs[2].Const, n.Inputs[3].Const, n.Inputs[4].Const
	c := n.Inputs[0].Type.Shape[1].B
	a, t = make([]float64, c), make([]float64, c)
	for i := range c {
		s2 := variance.Float(i) + eps
		if !(s2 > 0) || math.IsInf(s2, 0) {
			return nil, nil, false, fmt.Errorf("batchnorm %q: running_var[%d] + eps = %g, want a finite positive variance", n.Name, i, s2)
		}
		a[i] = gamma.Float(i) / math.Sqrt(s2)
		t[i] = beta.Float(i) - a[i]*mean.Float(i)
		if math.IsNaN(a[i]) || math.IsInf(a[i], 0) || math.IsNaN(t[i]) || math.IsInf(t[i], 0) {
			return nil, nil, false, fmt.Errorf("batchnorm %q: channel %d has non-finite parameters", n.Name, i)
		}
	}
	return a, t, true, nil
}

// affineAt matches the affine map that batchnorm n is the heart of: the BN
// alone, or a RepBN (transpose → BN → transpose, plus α·x, summed).
func (f *folder) affineAt(n *ir.Node) (*chanAffine, error) {
	a, t, ok, err := bnAffine(n)
	if !ok || err != nil || n.Inputs[0].Type.DType != ir.F32 {
		return nil, err
	}
	m := &chanAffine{x: n.Inputs[0], y: n.Outputs[0], axis: 1, a: a, t: t, nodes: []*ir.Node{n}, bn: n}
	// Transposes that undo each other around the BN: the channel is the
	// axis the first one moves to position 1.
	if t1 := m.x.Def; t1 != nil && t1.Op.Kind() == ir.KTranspose && f.onlyReader(m.x, n) {
		if t2 := f.single(m.y); t2 != nil && t2.Op.Kind() == ir.KTranspose {
			p, q := t1.Op.(*ir.Transpose).Perm, t2.Op.(*ir.Transpose).Perm
			if inverse(p, q) {
				m.x, m.y, m.axis = t1.Inputs[0], t2.Outputs[0], p[1]
				m.nodes = []*ir.Node{t1, n, t2}
			}
		}
	}
	// RepBN: add(BN(x), mul(x, α)) with a scalar constant α.
	if s := f.single(m.y); s != nil && s.Op.Kind() == ir.KAdd {
		if other := otherInput(s, m.y); other != nil && other.Def != nil && other.Def.Op.Kind() == ir.KMul && f.onlyReader(other, s) {
			md := other.Def
			if alpha, ok := scalarTimes(md, m.x); ok && s.Outputs[0].Type.Equal(m.y.Type) && other.Type.Equal(m.y.Type) {
				for i := range m.a {
					m.a[i] += alpha
				}
				m.y = s.Outputs[0]
				m.nodes = append(m.nodes, md, s)
				m.repbn = true
			}
		}
	}
	if !m.y.Type.Equal(m.x.Type) {
		return nil, nil
	}
	return m, nil
}

// ruleA folds m into the linear or conv2d that produces its input.
func (f *folder) ruleA(m *chanAffine) bool {
	p := m.x.Def
	if p == nil || isOutput(f.g, m.x) || len(p.Outputs) != 1 {
		return false
	}
	for _, u := range f.users[m.x] {
		if !slices.Contains(m.nodes, u) {
			return false
		}
	}
	rank := m.x.Type.Shape.Rank()
	switch o := p.Op.(type) {
	case *ir.Linear:
		if o.Epilogue != (ir.Epilogue{}) || m.axis != rank-1 {
			return false
		}
	case *ir.Conv2D:
		if o.Epilogue != (ir.Epilogue{}) || m.axis != 1 {
			return false
		}
	case *ir.PHMLinear:
		if o.Epilogue != (ir.Epilogue{}) || m.axis != rank-1 {
			return false
		}
		return f.ruleAKron(m, p)
	case *ir.PHCConv2D:
		if o.Epilogue != (ir.Epilogue{}) || m.axis != 1 {
			return false
		}
		return f.ruleAKron(m, p)
	default:
		return false
	}
	w, bias := p.Inputs[1], biasOf(p)
	if !isF32Const(w) || (bias != nil && !isF32Const(bias)) {
		return false
	}
	var bt *ir.Tensor
	if bias != nil {
		bt = bias.Const
	}
	nw, nb := FoldProducer(w.Const, bt, m.a, m.t)
	f.setWeights(p, nw, nb)
	// p now computes m's result under its name.
	m.y.Def = p
	p.Outputs[0] = m.y
	f.remove(m.nodes...)
	f.stats["rule-a"]++
	return true
}

// ruleAKron is rule A for a Kronecker-factored producer (phm_linear,
// phc_conv2d): y = a⊙(scale⊙(W x) + b) + t. The bias always folds, b' =
// a⊙b + t. The scale a⊙scale folds into the factors only when it keeps W
// a sum of R Kronecker products: when, as an m1×m2 matrix, it is rank one,
// a⊙scale = α ⊗ β, so diag(α ⊗ β)·(A_r ⊗ F_r) = (diag(α)A_r) ⊗
// (diag(β)F_r). Otherwise it stays as the op's scale input (its scale
// epilogue): W is never materialised here.
func (f *folder) ruleAKron(m *chanAffine, p *ir.Node) bool {
	a, s := p.Inputs[1], p.Inputs[2]
	scale, bias, _ := ir.KronInputs(p)
	for _, v := range []*ir.Value{a, s, scale, bias} {
		if v != nil && !isF32Const(v) {
			return false
		}
	}
	k, _ := ir.KronOf(p)
	out := k.Out()
	sc := slices.Clone(m.a)
	nb := ir.NewTensor(ir.F32, []int{out})
	for i := range out {
		bi := 0.0
		if bias != nil {
			bi = bias.Const.Float(i)
		}
		if scale != nil {
			sc[i] *= scale.Const.Float(i)
		}
		nb.F[i] = float32(m.a[i]*bi + m.t[i])
	}
	name := p.Name
	if name == "" {
		name = p.Outputs[0].Name
	}
	ins := []*ir.Value{p.Inputs[0]}
	if alpha, beta, ok := rankOne(sc, k.M1, k.M2); ok {
		at, stt := a.Const.Dense(), s.Const.Dense()
		na, ns := ir.NewTensor(ir.F32, at.Shape), ir.NewTensor(ir.F32, stt.Shape)
		for i, v := range at.F { // a[r][p][q] · α[p]
			na.F[i] = float32(float64(v) * alpha[i/k.N1%k.M1])
		}
		per := k.N2 * k.Taps
		for i, v := range stt.F { // s[r][o][…] · β[o]
			ns.F[i] = float32(float64(v) * beta[i/per%k.M2])
		}
		ins = append(ins, f.constant(name+".A.folded", na), f.constant(name+".F.folded", ns))
		f.orphans[a], f.orphans[s] = true, true
		f.stats["kron-factors"]++
	} else {
		st := ir.NewTensor(ir.F32, []int{out})
		for i, v := range sc {
			st.F[i] = float32(v)
		}
		ins = append(ins, a, s, f.constant(name+".scale.folded", st))
		f.stats["kron-scale"]++
	}
	if scale != nil {
		f.orphans[scale] = true
	}
	if bias != nil {
		f.orphans[bias] = true
	}
	p.Inputs = append(ins, f.constant(name+".bias.folded", nb))
	switch o := p.Op.(type) {
	case *ir.PHMLinear:
		o.Scaled = len(ins) == 4
	case *ir.PHCConv2D:
		o.Scaled = len(ins) == 4
	}
	m.y.Def = p
	p.Outputs[0] = m.y
	f.remove(m.nodes...)
	f.stats["rule-a"]++
	return true
}

// rankOne factors v, an m1×m2 matrix row-major, as α ⊗ β (v[p·m2 + o] =
// α[p]·β[o]) when it is one to float32 rounding; ok is false otherwise.
func rankOne(v []float64, m1, m2 int) (alpha, beta []float64, ok bool) {
	// β is the row of largest norm, α each row's projection on it.
	best, bestN := 0, -1.0
	maxAbs := 0.0
	for p := range m1 {
		n := 0.0
		for _, x := range v[p*m2 : (p+1)*m2] {
			n += x * x
			maxAbs = math.Max(maxAbs, math.Abs(x))
		}
		if n > bestN {
			best, bestN = p, n
		}
	}
	if bestN <= 0 {
		return nil, nil, false
	}
	beta = slices.Clone(v[best*m2 : (best+1)*m2])
	alpha = make([]float64, m1)
	for p := range m1 {
		dot := 0.0
		for o, x := range v[p*m2 : (p+1)*m2] {
			dot += x * beta[o]
		}
		alpha[p] = dot / bestN
		for o, x := range v[p*m2 : (p+1)*m2] {
			if math.Abs(x-alpha[p]*beta[o]) > 1e-7*maxAbs {
				return nil, nil, false
			}
		}
	}
	return alpha, beta, true
}

// ruleB folds m into every linear or conv2d that reads its result,
// through views that keep the channel axis.
func (f *folder) ruleB(m *chanAffine) bool {
	zeroT := !slices.ContainsFunc(m.t, func(v float64) bool { return v != 0 })
	targets, ok := f.foldTargets(m.y, m.axis, true, zeroT)
	if !ok {
		return false
	}
	for _, u := range targets {
		w, bias := u.Inputs[1], biasOf(u)
		var bt *ir.Tensor
		if bias != nil {
			bt = bias.Const
		}
		groups := 1
		if cv, ok := u.Op.(*ir.Conv2D); ok {
			groups = cv.Groups
		}
		nw, nb := FoldConsumer(w.Const, bt, groups, m.a, m.t)
		f.setWeights(u, nw, nb)
	}
	for _, u := range f.users[m.y] {
		u.Inputs[0] = m.x
	}
	f.remove(m.nodes...)
	f.stats["rule-b"]++
	return true
}

// lnAffine is §2.5: a layernorm over its last axis whose every reader is
// a linear (through views that keep that axis) moves its affine part into
// them, W' = W·diag(γ), b' = W·β + b, and keeps only its statistics:
// layernorm(x).
func (f *folder) lnAffine(n *ir.Node) bool {
	if len(n.Inputs) < 2 || len(n.Outputs) != 1 {
		return false
	}
	rank := n.Inputs[0].Type.Shape.Rank()
	axis := n.Op.(*ir.LayerNorm).Axis
	if axis < 0 {
		axis += rank
	}
	if axis != rank-1 || n.Inputs[0].Type.DType != ir.F32 {
		return false
	}
	for _, p := range n.Inputs[1:] {
		if !isF32Const(p) {
			return false
		}
	}
	targets, ok := f.foldTargets(n.Outputs[0], rank-1, false, false)
	if !ok {
		return false
	}
	d := n.Inputs[0].Type.Shape[rank-1].B
	a, t := make([]float64, d), make([]float64, d)
	for i := range d {
		a[i] = n.Inputs[1].Const.Float(i)
		if len(n.Inputs) == 3 {
			t[i] = n.Inputs[2].Const.Float(i)
		}
	}
	for _, u := range targets {
		var bt *ir.Tensor
		if bias := biasOf(u); bias != nil {
			bt = bias.Const
		}
		nw, nb := FoldConsumer(u.Inputs[1].Const, bt, 1, a, t)
		f.setWeights(u, nw, nb)
	}
	for _, p := range n.Inputs[1:] {
		f.orphans[p] = true
	}
	n.Inputs = n.Inputs[:1]
	f.stats["ln-affine"]++
	return true
}

// foldTargets finds the linears (and, with conv, conv2ds) that read v,
// with the channel on axis, directly or through views that keep it; ok is
// false when anything else reads it, or v is a graph output. A padded
// conv is a target only with padOK (§2.3: its border would miss W·t).
func (f *folder) foldTargets(v *ir.Value, axis int, conv, padOK bool) ([]*ir.Node, bool) {
	var targets []*ir.Node
	var walk func(v *ir.Value, axis int) bool
	walk = func(v *ir.Value, axis int) bool {
		us := f.users[v]
		if len(us) == 0 || isOutput(f.g, v) {
			return false
		}
		rank := v.Type.Shape.Rank()
		for _, u := range us {
			if slices.Index(u.Inputs, v) != 0 || slices.Contains(u.Inputs[1:], v) {
				return false
			}
			switch o := u.Op.(type) {
			case *ir.Linear:
				if axis != rank-1 || !foldableWeights(u) {
					return false
				}
				targets = append(targets, u)
			case *ir.Conv2D:
				if !conv || axis != 1 || !foldableWeights(u) {
					return false
				}
				if !padOK && slices.ContainsFunc(o.Pad, func(p int) bool { return p != 0 }) {
					return false
				}
				targets = append(targets, u)
			default:
				na, ok := viewAxis(u, axis)
				if !ok || !walk(u.Outputs[0], na) {
					return false
				}
			}
		}
		return true
	}
	return targets, walk(v, axis)
}

// viewAxis says where channel axis of u's input lands in its result, for
// ops that move elements without mixing channels.
func viewAxis(u *ir.Node, axis int) (int, bool) {
	if len(u.Outputs) != 1 {
		return 0, false
	}
	in, out := u.Inputs[0].Type.Shape, u.Outputs[0].Type.Shape
	switch o := u.Op.(type) {
	case *ir.Transpose:
		i := slices.Index(o.Perm, axis)
		return i, i >= 0
	case *ir.Reshape:
		// Row-major: the last axis keeps each element's channel if its
		// size does not change.
		if axis == in.Rank()-1 && out.Rank() > 0 && out[out.Rank()-1] == in[axis] {
			return out.Rank() - 1, true
		}
	case *ir.Slice:
		starts, _, steps, _, err := o.Resolve(in)
		if err == nil && starts[axis] == 0 && steps[axis] == 1 && out[axis] == in[axis] {
			return axis, true
		}
	}
	return 0, false
}

// FoldProducer is rule A on a weight [O, …] and optional bias [O]: each
// output channel o is scaled by a[o], b' = a·b + t. Float64, rounded once.
func FoldProducer(w, b *ir.Tensor, a, t []float64) (nw, nb *ir.Tensor) {
	w = w.Dense()
	o := w.Shape[0]
	row := w.Numel() / o
	nw, nb = ir.NewTensor(ir.F32, w.Shape), ir.NewTensor(ir.F32, []int{o})
	for i := range o {
		for j := range row {
			nw.F[i*row+j] = float32(a[i] * float64(w.F[i*row+j]))
		}
		bi := 0.0
		if b != nil {
			bi = b.Float(i)
		}
		nb.F[i] = float32(a[i]*bi + t[i])
	}
	return nw, nb
}

// FoldConsumer is rule B on a linear weight [O, C] (groups 1) or a conv
// weight [O, C/groups, kh, kw] reading a⊙x + t: W' = W·diag(a),
// b' = W·t + b (summed over the kernel window).
func FoldConsumer(w, b *ir.Tensor, groups int, a, t []float64) (nw, nb *ir.Tensor) {
	w = w.Dense()
	o, cg := w.Shape[0], w.Shape[1]
	k := w.Numel() / (o * cg)
	perGroup := o / groups
	nw, nb = ir.NewTensor(ir.F32, w.Shape), ir.NewTensor(ir.F32, []int{o})
	for i := range o {
		base := (i / perGroup) * cg
		acc := 0.0
		if b != nil {
			acc = b.Float(i)
		}
		for ci := range cg {
			c := base + ci
			for j := range k {
				idx := (i*cg+ci)*k + j
				wv := float64(w.F[idx])
				nw.F[idx] = float32(wv * a[c])
				acc += wv * t[c]
			}
		}
		nb.F[i] = float32(acc)
	}
	return nw, nb
}

// repVGG tries the RepVGG merge with the add at g.Nodes[i] as the root.
func (f *folder) repVGG(i int) (bool, error) {
	g := f.g
	root := g.Nodes[i]
	out := root.Outputs[0]
	// The leaves of the add tree under root; inner adds must be read only
	// by their parent.
	var leaves []*ir.Value
	adds := []*ir.Node{root}
	var expand func(v *ir.Value)
	expand = func(v *ir.Value) {
		if d := v.Def; d != nil && d.Op.Kind() == ir.KAdd && f.single(v) != nil {
			adds = append(adds, d)
			expand(d.Inputs[0])
			expand(d.Inputs[1])
			return
		}
		leaves = append(leaves, v)
	}
	expand(root.Inputs[0])
	expand(root.Inputs[1])
	if len(leaves) < 2 || out.Type.DType != ir.F32 || out.Type.Shape.Rank() != 4 {
		return false, nil
	}
	type branch struct {
		conv  *ir.Node // nil: identity
		a, t  []float64
		nodes []*ir.Node
	}
	var brs []branch
	var x *ir.Value
	sameX := func(v *ir.Value) bool {
		if x == nil {
			x = v
		}
		return x == v
	}
	for _, v := range leaves {
		if !v.Type.Equal(out.Type) || f.single(v) == nil {
			return false, nil
		}
		var br branch
		d := v.Def
		if d == nil {
			return false, nil
		}
		if d.Op.Kind() == ir.KBatchNorm {
			a, t, ok, err := bnAffine(d)
			if err != nil || !ok {
				return false, err
			}
			br.a, br.t, br.nodes = a, t, []*ir.Node{d}
			u := d.Inputs[0]
			if cv := u.Def; cv != nil && cv.Op.Kind() == ir.KConv2D && f.single(u) == d {
				br.conv = cv
				br.nodes = append(br.nodes, cv)
			} else if !sameX(u) {
				return false, nil
			}
		} else if d.Op.Kind() == ir.KConv2D {
			br.conv, br.nodes = d, []*ir.Node{d}
		} else {
			return false, nil
		}
		if br.conv != nil && !sameX(br.conv.Inputs[0]) {
			return false, nil
		}
		brs = append(brs, br)
	}
	// The convs must agree on stride, dilation and groups, have odd
	// kernels and centring pads, and fold (constant weights, no epilogue).
	var ref *ir.Conv2D
	var big *ir.Node
	kh, kw := 1, 1
	for _, br := range brs {
		if br.conv == nil {
			continue
		}
		cv := br.conv.Op.(*ir.Conv2D)
		if !foldableWeights(br.conv) || cv.Epilogue != (ir.Epilogue{}) {
			return false, nil
		}
		ws := br.conv.Inputs[1].Const.Shape
		h, w := ws[2], ws[3]
		dh, dw := cv.Dilation[0], cv.Dilation[1]
		if h%2 == 0 || w%2 == 0 || !slices.Equal(cv.Pad, []int{dh * (h - 1) / 2, dw * (w - 1) / 2, dh * (h - 1) / 2, dw * (w - 1) / 2}) {
			return false, nil
		}
		if ref == nil {
			ref = cv
		} else if !slices.Equal(cv.Stride, ref.Stride) || !slices.Equal(cv.Dilation, ref.Dilation) || cv.Groups != ref.Groups {
			return false, nil
		}
		if big == nil || h*w > kh*kw {
			big = br.conv
		}
		kh, kw = max(kh, h), max(kw, w)
	}
	if ref == nil {
		return false, nil
	}
	oc, cin := out.Type.Shape[1].B, x.Type.Shape[1].B
	cg := cin / ref.Groups
	for _, br := range brs {
		if br.conv == nil && (cin != oc || !slices.Equal(ref.Stride, []int{1, 1})) {
			return false, nil
		}
	}
	// K = Σ pad(a·K_i) + a_id·I, b = Σ (a·b_i + t_i) + t_id (float64).
	kern := make([]float64, oc*cg*kh*kw)
	bias := make([]float64, oc)
	for _, br := range brs {
		if br.conv == nil {
			for o := range oc {
				kern[((o*cg+o%cg)*kh+kh/2)*kw+kw/2] += br.a[o]
				bias[o] += br.t[o]
			}
			continue
		}
		w := br.conv.Inputs[1].Const.Dense()
		h, wd := w.Shape[2], w.Shape[3]
		oh, ow := (kh-h)/2, (kw-wd)/2
		var b *ir.Tensor
		if bv := biasOf(br.conv); bv != nil {
			b = bv.Const
		}
		for o := range oc {
			a, t := 1.0, 0.0
			if br.a != nil {
				a, t = br.a[o], br.t[o]
			}
			for c := range cg {
				for y := range h {
					for xx := range wd {
						kern[((o*cg+c)*kh+y+oh)*kw+xx+ow] += a * float64(w.F[((o*cg+c)*h+y)*wd+xx])
					}
				}
			}
			bo := 0.0
			if b != nil {
				bo = b.Float(o)
			}
			bias[o] += a*bo + t
		}
	}
	wt, bt := ir.NewTensor(ir.F32, []int{oc, cg, kh, kw}), ir.NewTensor(ir.F32, []int{oc})
	for j, v := range kern {
		wt.F[j] = float32(v)
	}
	for j, v := range bias {
		bt.F[j] = float32(v)
	}
	dh, dw := ref.Dilation[0], ref.Dilation[1]
	op := &ir.Conv2D{
		Stride:   slices.Clone(ref.Stride),
		Pad:      []int{dh * (kh - 1) / 2, dw * (kw - 1) / 2, dh * (kh - 1) / 2, dw * (kw - 1) / 2},
		Dilation: slices.Clone(ref.Dilation),
		Groups:   ref.Groups,
	}
	merged := &ir.Node{Name: big.Name, Op: op, Inputs: []*ir.Value{x, nil}, Outputs: []*ir.Value{out}}
	f.setWeights(merged, wt, bt)
	if rt, err := ir.Infer(op, []ir.Type{x.Type, merged.Inputs[1].Type, merged.Inputs[2].Type}); err != nil || !rt[0].Equal(out.Type) {
		return false, fmt.Errorf("BUG: RepVGG merge at %q: result %v, want %s (%v)", big.Name, rt, out.Type.Shape, err)
	}
	var dead []*ir.Node
	for _, br := range brs {
		dead = append(dead, br.nodes...)
	}
	for _, n := range dead {
		for _, in := range n.Inputs {
			if in.IsConst() {
				f.orphans[in] = true
			}
		}
	}
	out.Def = merged
	g.Nodes[i] = merged
	f.remove(append(dead, adds[1:]...)...)
	f.stats["repvgg"]++
	return true, nil
}

// setWeights gives n new constant weight and bias inputs (bias after the
// weight, before any residual), named after the layer.
func (f *folder) setWeights(n *ir.Node, w, b *ir.Tensor) {
	name := n.Name
	if name == "" {
		name = n.Outputs[0].Name
	}
	if old := n.Inputs[1]; old != nil {
		f.orphans[old] = true
	}
	wv, bv := f.constant(name+".weight.folded", w), f.constant(name+".bias.folded", b)
	n.Inputs[1] = wv
	if old := biasOf(n); old != nil {
		f.orphans[old] = true
		n.Inputs[2] = bv
		return
	}
	n.Inputs = slices.Insert(n.Inputs, 2, bv)
}

// constant adds a constant named after hint (made unique).
func (f *folder) constant(hint string, t *ir.Tensor) *ir.Value {
	v := &ir.Value{Name: f.b.Fresh(hint), Type: ir.TensorType(t.DType, ir.StaticShape(t.Shape...)), Const: t}
	f.g.Consts = append(f.g.Consts, v)
	return v
}

// biasOf returns a linear's or conv2d's bias input, or nil.
func biasOf(n *ir.Node) *ir.Value {
	var residual bool
	switch o := n.Op.(type) {
	case *ir.Linear:
		residual = o.Residual
	case *ir.Conv2D:
		residual = o.Residual
	}
	extra := len(n.Inputs) - 2 - ir.PrologueInputs(n.Op)
	if residual {
		extra--
	}
	if extra > 0 {
		return n.Inputs[2]
	}
	return nil
}

// foldableWeights: n's weight and bias are float32 constants.
func foldableWeights(n *ir.Node) bool {
	b := biasOf(n)
	return isF32Const(n.Inputs[1]) && (b == nil || isF32Const(b))
}

func isF32Const(v *ir.Value) bool {
	return v != nil && v.IsConst() && v.Const.DType == ir.F32 && v.Const.F != nil
}

// single returns v's only reader when v has exactly one and is not a
// graph output.
func (f *folder) single(v *ir.Value) *ir.Node {
	if us := f.users[v]; len(us) == 1 && !isOutput(f.g, v) {
		return us[0]
	}
	return nil
}

func (f *folder) onlyReader(v *ir.Value, n *ir.Node) bool { return f.single(v) == n }

// remove drops nodes (and remembers the constants they read).
func (f *folder) remove(nodes ...*ir.Node) {
	dead := map[*ir.Node]bool{}
	for _, n := range nodes {
		dead[n] = true
		for _, in := range n.Inputs {
			if in != nil && in.IsConst() {
				f.orphans[in] = true
			}
		}
	}
	removeNodes(f.g, dead)
}

// dropOrphans removes the constants a rewrite stopped reading.
func (f *folder) dropOrphans() {
	read := map[*ir.Value]bool{}
	for _, n := range f.g.Nodes {
		for _, in := range n.Inputs {
			read[in] = true
		}
	}
	for _, v := range f.g.Outputs {
		read[v] = true
	}
	kept := f.g.Consts[:0]
	for _, v := range f.g.Consts {
		if read[v] || !f.orphans[v] {
			kept = append(kept, v)
		}
	}
	f.g.Consts = kept
}

// inverse reports whether transposing by p then q restores the order.
func inverse(p, q []int) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range q {
		if q[i] < 0 || q[i] >= len(p) || p[q[i]] != i {
			return false
		}
	}
	return true
}

// otherInput returns n's input that is not v (binary n).
func otherInput(n *ir.Node, v *ir.Value) *ir.Value {
	switch {
	case n.Inputs[0] == v && n.Inputs[1] != v:
		return n.Inputs[1]
	case n.Inputs[1] == v && n.Inputs[0] != v:
		return n.Inputs[0]
	}
	return nil
}

// scalarTimes matches mul(x, α) with α a float32 constant of one value.
func scalarTimes(m *ir.Node, x *ir.Value) (float64, bool) {
	c := otherInput(m, x)
	if c == nil || !isF32Const(c) {
		return 0, false
	}
	t := c.Const
	v := t.Float(0)
	if !t.Splat {
		for i := range t.F {
			if float64(t.F[i]) != v {
				return 0, false
			}
		}
	}
	return v, true
}
