package onnx

import (
	"math"
	"slices"

	"github.com/modelc/modelc/ir"
)

// Patterns exporters emit for ops that ONNX spelled out before it had
// them (Gelu arrived in opset 20, LayerNormalization in 17), replaced by
// the IR's op after import. Each rule matches at the node that computes
// the pattern's result and rewrites that node in place, keeping its
// result value; the intermediate nodes die in prune unless something
// else reads them. A rewrite whose shape rule disagrees with the
// original result type is not made.
//
//	gelu:      x·0.5·(1 + erf(x/√2))          (either product order, x·(1/√2) too)
//	gelu tanh: x·0.5·(1 + tanh(√(2/π)·(x + 0.044715·x³)))   (x³ as Pow(x, 3) or x·x·x)
//	layernorm: d = x − mean(x); d / sqrt(mean(d²) + eps) [· γ] [+ β]
//	           (means over the trailing axes, d² as Pow(d, 2) or d·d)
//	linear:    Gemm(x, W, b) with W and b constant, alpha = beta = 1, A not
//	           transposed, b of shape [out] or [1, out];
//	           MatMul(x, W) [+ b] with W[in, out] constant or Transpose(W[out, in])
//	           (what PyTorch exports for nn.Linear on inputs of rank 3 without
//	           constant folding), b[out] constant
//	attention: Reshape(Transpose₀₂₁₃(Softmax₋₁(Qₕ·Kₕᵀ ⊘ c)·Vₕ)) → [B, T, D]
//	           where Qₕ = Transpose₀₂₁₃(Reshape(q → [B, T, H, dh])), likewise Vₕ,
//	           and Kₕᵀ = Transpose₀₂₃₁(Reshape(k → [B, S, H, dh])) (or two
//	           transposes); ⊘ c is a division by, or product with, a scalar
//	           constant, or absent; a causal mask before the Softmax (Where(M,
//	           −Inf, s) with M the constant strictly-upper triangle, as
//	           masked_fill writes it, or Add(s, C) with C −Inf there and 0
//	           elsewhere) sets causal; any other mask keeps the spelled-out
//	           form. Packed QKV: Qₕ, Kₕ, Vₕ may instead be Gather(i, axis 0)
//	           of Transpose₂₀₃₁₄(Reshape(qkv[B, T, 3D] → [B, T, 3, H, dh]))
//	           (Kₕᵀ a Transpose₀₁₃₂ of that), and q, k, v become slices of qkv.
//	seq-first attention (nn.MultiheadAttention's export):
//	           Reshape(Transpose₁₀₂(Softmax₋₁(Qₕ·Kₕᵀ ⊘ c)·Vₕ)) → [T·B, D] or [T, B, D]
//	           where Qₕ = Transpose₁₀₂(Reshape(q[T, B, D] → [T, B·H, dh])) (⊘ c
//	           may scale Qₕ instead), Vₕ likewise and Kₕᵀ = Transpose₁₂₀(Reshape(k
//	           → [T, B·H, dh])): attention on q, k, v transposed to [B, T, D],
//	           its result transposed back.
var patternRules = []func(g *ir.Graph, n *ir.Node) bool{
	matchGelu,
	matchLayerNorm,
	matchLinear,
	matchAttention,
	matchSeqFirstAttention,
}

// recognizePatterns walks the nodes from the last, so the largest match
// (a LayerNorm with its affine Mul and Add) wins over its inner part.
func recognizePatterns(g *ir.Graph) {
	users := g.Users()
	outs := map[*ir.Value]bool{}
	for _, v := range g.Outputs {
		outs[v] = true
	}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		if n := g.Nodes[i]; len(n.Outputs) == 1 && len(users[n.Outputs[0]]) == 0 && !outs[n.Outputs[0]] {
			continue // dead, or made dead by a rewrite
		}
		for _, r := range patternRules {
			if r(g, g.Nodes[i]) {
				break
			}
		}
	}
}

// rewrite replaces n by op over ins, keeping n's result value.
func rewrite(g *ir.Graph, n *ir.Node, op ir.Op, ins ...*ir.Value) bool {
	if len(n.Outputs) != 1 {
		return false
	}
	types := make([]ir.Type, len(ins))
	for i, v := range ins {
		types[i] = v.Type
	}
	rt, err := ir.Infer(op, types)
	if err != nil || len(rt) != 1 || !rt[0].Equal(n.Outputs[0].Type) {
		return false
	}
	for i, m := range g.Nodes {
		if m == n {
			nn := &ir.Node{Name: n.Name, Op: op, Inputs: ins, Outputs: n.Outputs}
			n.Outputs[0].Def = nn
			g.Nodes[i] = nn
			return true
		}
	}
	return false
}

func def(v *ir.Value, k ir.Kind) *ir.Node {
	if v == nil || v.Def == nil || v.Def.Op.Kind() != k {
		return nil
	}
	return v.Def
}

// scalar returns a one-element constant's value.
func scalar(v *ir.Value) (float64, bool) {
	if v == nil || v.Const == nil || !v.Const.DType.IsFloat() {
		return 0, false
	}
	if !v.Const.Splat && v.Const.Numel() != 1 {
		return 0, false
	}
	return v.Const.Float(0), true
}

func near(v *ir.Value, want float64) bool {
	x, ok := scalar(v)
	return ok && math.Abs(x-want) <= 1e-5*math.Abs(want)
}

// operands returns the inputs of a commutative binary node with the one
// satisfying pick first.
func operands(n *ir.Node, pick func(*ir.Value) bool) (*ir.Value, *ir.Value, bool) {
	if n == nil || len(n.Inputs) != 2 {
		return nil, nil, false
	}
	a, b := n.Inputs[0], n.Inputs[1]
	switch {
	case pick(a):
		return a, b, true
	case pick(b):
		return b, a, true
	}
	return nil, nil, false
}

func matchGelu(g *ir.Graph, n *ir.Node) bool {
	if n.Op.Kind() != ir.KMul {
		return false
	}
	isHalf := func(v *ir.Value) bool { return near(v, 0.5) }
	// (x·a)·0.5 or (x·0.5)·a, a = 1 + erf(x/√2).
	var x, a *ir.Value
	if half, other, ok := operands(n, isHalf); ok {
		_ = half
		m := def(other, ir.KMul)
		if m == nil {
			return false
		}
		if p, q, ok := operands(m, func(v *ir.Value) bool { return geluX(v) != nil }); ok {
			a, x = p, q
		} else {
			return false
		}
	} else if p, q, ok := operands(n, func(v *ir.Value) bool { return geluX(v) != nil }); ok {
		a = p
		h := def(q, ir.KMul)
		if h == nil {
			return false
		}
		if _, xx, ok := operands(h, isHalf); ok {
			x = xx
		} else {
			return false
		}
	} else {
		return false
	}
	if geluX(a) != x {
		return false
	}
	approx := "none"
	if def(a, ir.KAdd) != nil && tanhArg(a) != nil {
		approx = "tanh"
	}
	return rewrite(g, n, &ir.Gelu{Approximate: approx}, x)
}

// tanhArg returns the tanh node when v = 1 + tanh(…).
func tanhArg(v *ir.Value) *ir.Node {
	_, e, ok := operands(def(v, ir.KAdd), func(v *ir.Value) bool { return near(v, 1) })
	if !ok {
		return nil
	}
	return def(e, ir.KTanh)
}

// geluX returns x when v = 1 + erf(x/√2) or 1 + tanh(√(2/π)·(x + 0.044715·x³)).
func geluX(v *ir.Value) *ir.Value {
	add := def(v, ir.KAdd)
	_, e, ok := operands(add, func(v *ir.Value) bool { return near(v, 1) })
	if !ok {
		return nil
	}
	if th := def(e, ir.KTanh); th != nil {
		return geluTanhX(th.Inputs[0])
	}
	erf := def(e, ir.KErf)
	if erf == nil {
		return nil
	}
	s := erf.Inputs[0]
	if d := def(s, ir.KDiv); d != nil && near(d.Inputs[1], math.Sqrt2) {
		return d.Inputs[0]
	}
	if m := def(s, ir.KMul); m != nil {
		if _, x, ok := operands(m, func(v *ir.Value) bool { return near(v, 1/math.Sqrt2) }); ok {
			return x
		}
	}
	return nil
}

// geluTanhX returns x when v = √(2/π)·(x + 0.044715·x³).
func geluTanhX(v *ir.Value) *ir.Value {
	_, inner, ok := operands(def(v, ir.KMul), func(v *ir.Value) bool { return near(v, math.Sqrt(2/math.Pi)) })
	if !ok {
		return nil
	}
	add := def(inner, ir.KAdd)
	if add == nil {
		return nil
	}
	for _, o := range [][2]*ir.Value{{add.Inputs[0], add.Inputs[1]}, {add.Inputs[1], add.Inputs[0]}} {
		x, term := o[0], o[1]
		_, cube, ok := operands(def(term, ir.KMul), func(v *ir.Value) bool { return near(v, 0.044715) })
		if ok && isCube(cube, x) {
			return x
		}
	}
	return nil
}

// isCube reports whether v = x³ (Pow(x, 3), x·(x·x) or (x·x)·x).
func isCube(v, x *ir.Value) bool {
	if p := def(v, ir.KPow); p != nil {
		return p.Inputs[0] == x && near(p.Inputs[1], 3)
	}
	m := def(v, ir.KMul)
	if m == nil {
		return false
	}
	sq := func(v *ir.Value) bool {
		s := def(v, ir.KMul)
		return s != nil && s.Inputs[0] == x && s.Inputs[1] == x
	}
	a, b := m.Inputs[0], m.Inputs[1]
	return (a == x && sq(b)) || (b == x && sq(a))
}

// trailingMean returns x and the first axis when v = reduce_mean(x) over
// the trailing axes with keepdims.
func trailingMean(v *ir.Value) (*ir.Value, int, bool) {
	r := def(v, ir.KReduceMean)
	if r == nil {
		return nil, 0, false
	}
	op := r.Op.(*ir.Reduce)
	x := r.Inputs[0]
	rank := x.Type.Shape.Rank()
	if !op.KeepDims || len(op.Axes) == 0 {
		return nil, 0, false
	}
	seen := make([]bool, rank)
	first := rank
	for _, a := range op.Axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return nil, 0, false
		}
		seen[a] = true
		first = min(first, a)
	}
	for a := first; a < rank; a++ {
		if !seen[a] {
			return nil, 0, false
		}
	}
	return x, first, len(op.Axes) == rank-first
}

// matchLayerNorm matches at the division, the affine Mul and the Add.
func matchLayerNorm(g *ir.Graph, n *ir.Node) bool {
	var gamma, beta *ir.Value
	div := n
	if n.Op.Kind() == ir.KAdd {
		p, q, ok := operands(n, func(v *ir.Value) bool { return v.Const != nil })
		if !ok {
			return false
		}
		beta = p
		div = q.Def
	}
	if div != nil && div.Op.Kind() == ir.KMul {
		p, q, ok := operands(div, func(v *ir.Value) bool { return v.Const != nil })
		if !ok {
			return false
		}
		gamma = p
		div = q.Def
	}
	if div == nil || div.Op.Kind() != ir.KDiv {
		return false
	}
	d, s := div.Inputs[0], div.Inputs[1]
	sub := def(d, ir.KSub)
	sq := def(s, ir.KSqrt)
	if sub == nil || sq == nil {
		return false
	}
	x, axis, ok := trailingMean(sub.Inputs[1])
	if !ok || x != sub.Inputs[0] {
		return false
	}
	add := def(sq.Inputs[0], ir.KAdd)
	epsV, vr, ok := operands(add, func(v *ir.Value) bool { _, ok := scalar(v); return ok })
	if !ok {
		return false
	}
	eps, _ := scalar(epsV)
	dd, axis2, ok := trailingMean(vr)
	if !ok || axis2 != axis {
		return false
	}
	if p := def(dd, ir.KPow); p != nil {
		if p.Inputs[0] != d || !near(p.Inputs[1], 2) {
			return false
		}
	} else if m := def(dd, ir.KMul); m == nil || m.Inputs[0] != d || m.Inputs[1] != d {
		return false
	}
	norm := x.Type.Shape[axis:]
	if !norm.Static() || !x.Type.DType.IsFloat() {
		return false
	}
	if n.Op.Kind() == ir.KDiv && (gamma != nil || beta != nil) {
		return false
	}
	ins := []*ir.Value{x}
	for _, p := range []*ir.Value{gamma, beta} {
		if p == nil {
			break
		}
		if !p.Type.Shape.Equal(norm) {
			return false // γ or β broadcast: keep the spelled-out form
		}
		ins = append(ins, p)
	}
	if gamma == nil && beta != nil {
		return false
	}
	if gamma == nil {
		one := &ir.Tensor{DType: x.Type.DType, Shape: norm.Ints(), F: []float32{1}, Splat: true}
		// Fresh claims the name it returns, so the value is made here.
		name := ir.BuilderFor(g).Fresh(n.Outputs[0].Name + ".scale")
		v := &ir.Value{Name: name, Type: ir.TensorType(one.DType, norm.Clone()), Const: one}
		if !rewrite(g, n, &ir.LayerNorm{Axis: axis, Eps: eps}, append(ins, v)...) {
			return false
		}
		g.Consts = append(g.Consts, v)
		return true
	}
	return rewrite(g, n, &ir.LayerNorm{Axis: axis, Eps: eps}, ins...)
}

// addConst adds a constant to g under a fresh name derived from hint.
func addConst(g *ir.Graph, hint string, t *ir.Tensor) *ir.Value {
	name := ir.BuilderFor(g).Fresh(hint)
	shape := make(ir.Shape, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = ir.D(d)
	}
	v := &ir.Value{Name: name, Type: ir.TensorType(t.DType, shape), Const: t}
	g.Consts = append(g.Consts, v)
	return v
}

// denseF32 reports whether v is a dense float constant.
func denseF32(v *ir.Value) bool {
	return v != nil && v.Const != nil && !v.Const.Splat && v.Const.DType == ir.F32
}

// linearWeight returns, for the B operand of a MatMul, the [out, in]
// weight a linear reads: W itself when B is Transpose(W) of a constant
// W[out, in], a transposed copy when B is a constant [in, out].
func linearWeight(g *ir.Graph, b *ir.Value) *ir.Value {
	if t := def(b, ir.KTranspose); t != nil && denseF32(t.Inputs[0]) && t.Inputs[0].Type.Shape.Rank() == 2 {
		if p := t.Op.(*ir.Transpose).Perm; len(p) == 2 && p[0] == 1 && p[1] == 0 {
			return t.Inputs[0]
		}
	}
	if denseF32(b) && b.Type.Shape.Rank() == 2 {
		return addConst(g, b.Name+".t", transpose2(b.Const))
	}
	return nil
}

func transpose2(t *ir.Tensor) *ir.Tensor {
	r, c := t.Shape[0], t.Shape[1]
	out := ir.NewTensor(t.DType, []int{c, r})
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.F[j*r+i] = t.F[i*c+j]
		}
	}
	return out
}

// matchLinear matches a Gemm, or a MatMul and its bias Add, whose weights
// are constant (see the table above).
func matchLinear(g *ir.Graph, n *ir.Node) bool {
	switch n.Op.Kind() {
	case ir.KGemm:
		op := n.Op.(*ir.Gemm)
		if op.Alpha != 1 || op.TransA || len(n.Inputs) < 2 || !denseF32(n.Inputs[1]) {
			return false
		}
		x, w := n.Inputs[0], n.Inputs[1]
		if !op.TransB {
			w = addConst(g, w.Name+".t", transpose2(w.Const))
		}
		ins := []*ir.Value{x, w}
		if len(n.Inputs) == 3 {
			b := n.Inputs[2]
			out := w.Type.Shape[0]
			switch {
			case op.Beta != 1 || !denseF32(b):
				return false
			case b.Type.Shape.Equal(ir.Shape{out}):
			case b.Type.Shape.Equal(ir.Shape{ir.D(1), out}):
				b = addConst(g, b.Name+".row", &ir.Tensor{DType: ir.F32, Shape: []int{out.B}, F: b.Const.F})
			default:
				return false
			}
			ins = append(ins, b)
		}
		return rewrite(g, n, &ir.Linear{}, ins...)
	case ir.KAdd:
		b, mm, ok := operands(n, func(v *ir.Value) bool { return denseF32(v) && v.Type.Shape.Rank() == 1 })
		if !ok {
			return false
		}
		m := def(mm, ir.KMatMul)
		if m == nil || m.Inputs[0].Type.Shape.Rank() < 2 {
			return false
		}
		w := linearWeight(g, m.Inputs[1])
		return w != nil && rewrite(g, n, &ir.Linear{}, m.Inputs[0], w, b)
	case ir.KMatMul:
		if n.Inputs[0].Type.Shape.Rank() < 2 {
			return false
		}
		w := linearWeight(g, n.Inputs[1])
		return w != nil && rewrite(g, n, &ir.Linear{}, n.Inputs[0], w)
	}
	return false
}

// isPerm reports whether n is a Transpose with permutation perm.
func isPerm(n *ir.Node, perm ...int) bool {
	if n == nil || n.Op.Kind() != ir.KTranspose {
		return false
	}
	p := n.Op.(*ir.Transpose).Perm
	if len(p) != len(perm) {
		return false
	}
	for i := range p {
		if p[i] != perm[i] {
			return false
		}
	}
	return true
}

// heads returns x when v is Reshape(x[B, T, D] → [B, T, H, dh]), and H.
func heads(v *ir.Value) (*ir.Value, int, bool) {
	r := def(v, ir.KReshape)
	if r == nil {
		return nil, 0, false
	}
	x, s := r.Inputs[0].Type.Shape, v.Type.Shape
	if x.Rank() != 3 || s.Rank() != 4 || s[0] != x[0] || s[1] != x[1] || !s[2].Static() || !s[3].Static() || x[2] != ir.D(s[2].B*s[3].B) {
		return nil, 0, false
	}
	return r.Inputs[0], s[2].B, true
}

// matchAttention matches at the Reshape that merges the heads back.
func matchAttention(g *ir.Graph, n *ir.Node) bool {
	if n.Op.Kind() != ir.KReshape || n.Outputs[0].Type.Shape.Rank() != 3 {
		return false
	}
	merge := def(n.Inputs[0], ir.KTranspose)
	if !isPerm(merge, 0, 2, 1, 3) {
		return false
	}
	pv := def(merge.Inputs[0], ir.KMatMul)
	if pv == nil {
		return false
	}
	sm := def(pv.Inputs[0], ir.KSoftmax)
	if sm == nil || sm.Op.(*ir.Softmax).K != ir.KSoftmax {
		return false
	}
	if a := sm.Op.(*ir.Softmax).Axis; a != -1 && a != 3 {
		return false
	}
	scores, scale := sm.Inputs[0], 1.0
	causal := false
	if m, ok := causalMasked(scores); ok {
		scores, causal = m, true
	}
	switch d := scores.Def; {
	case d != nil && d.Op.Kind() == ir.KDiv:
		c, ok := scalar(d.Inputs[1])
		if !ok || c == 0 {
			return false
		}
		scores, scale = d.Inputs[0], 1/c
	case d != nil && d.Op.Kind() == ir.KMul:
		c, other, ok := operands(d, func(v *ir.Value) bool { _, ok := scalar(v); return ok })
		if !ok {
			return false
		}
		scale, _ = scalar(c)
		scores = other
	}
	qk := def(scores, ir.KMatMul)
	if qk == nil {
		return false
	}
	if q, k, v, h, ok := packedQKV(g, n, qk.Inputs[0], qk.Inputs[1], pv.Inputs[1]); ok {
		return rewrite(g, n, &ir.Attention{Heads: h, Scale: scale, Causal: causal}, q, k, v)
	}
	qt, kt, vt := def(qk.Inputs[0], ir.KTranspose), def(qk.Inputs[1], ir.KTranspose), def(pv.Inputs[1], ir.KTranspose)
	if !isPerm(qt, 0, 2, 1, 3) || !isPerm(vt, 0, 2, 1, 3) {
		return false
	}
	var kIn *ir.Value
	switch {
	case isPerm(kt, 0, 2, 3, 1):
		kIn = kt.Inputs[0]
	case isPerm(kt, 0, 1, 3, 2) && isPerm(def(kt.Inputs[0], ir.KTranspose), 0, 2, 1, 3):
		kIn = kt.Inputs[0].Def.Inputs[0]
	default:
		return false
	}
	q, hq, ok1 := heads(qt.Inputs[0])
	k, hk, ok2 := heads(kIn)
	v, hv, ok3 := heads(vt.Inputs[0])
	if !ok1 || !ok2 || !ok3 || hq != hk || hq != hv {
		return false
	}
	return rewrite(g, n, &ir.Attention{Heads: hq, Scale: scale, Causal: causal}, q, k, v)
}

// causalMasked returns s when v masks s causally: Where(M, −Inf, s) with
// M true exactly above the diagonal, or Add(s, C) with C −Inf exactly
// there and 0 elsewhere (both constant, square in the last two axes).
func causalMasked(v *ir.Value) (*ir.Value, bool) {
	d := v.Def
	if d == nil {
		return nil, false
	}
	switch d.Op.Kind() {
	case ir.KWhere:
		m, fill, s := d.Inputs[0], d.Inputs[1], d.Inputs[2]
		if f, ok := scalar(fill); !ok || !math.IsInf(f, -1) || !upperMask(m.Const, func(x float64) int {
			return map[bool]int{true: 1, false: 0}[x != 0]
		}) {
			return nil, false
		}
		return s, true
	case ir.KAdd:
		isMask := func(c *ir.Value) bool {
			return c.Const != nil && c.Const.DType.IsFloat() && upperMask(c.Const, func(x float64) int {
				switch {
				case math.IsInf(x, -1):
					return 1
				case x == 0:
					return 0
				}
				return -1
			})
		}
		if c, s, ok := operands(d, isMask); ok {
			_ = c
			return s, true
		}
	}
	return nil, false
}

// upperMask reports whether t (rank ≥ 2, leading dims 1, the last two
// square) has class(x) == 1 exactly above the diagonal and 0 elsewhere.
func upperMask(t *ir.Tensor, class func(x float64) int) bool {
	if t == nil || len(t.Shape) < 2 {
		return false
	}
	r := len(t.Shape)
	n := t.Shape[r-1]
	if t.Shape[r-2] != n || t.Numel() != n*n {
		return false
	}
	for i := range n {
		for j := range n {
			want := 0
			if j > i {
				want = 1
			}
			if class(t.Float(i*n+j)) != want {
				return false
			}
		}
	}
	return true
}

// packedQKV matches the heads of one packed projection: qh, kth and vh
// are Gather(0), Transpose₀₁₃₂(Gather(1)) and Gather(2) (axis 0) of
// Transpose₂₀₃₁₄(Reshape(qkv[B, T, 3D] → [B, T, 3, H, dh])). It adds the
// slices of qkv that the IR's attention reads, just before n.
func packedQKV(g *ir.Graph, n *ir.Node, qh, kth, vh *ir.Value) (q, k, v *ir.Value, h int, ok bool) {
	kt := def(kth, ir.KTranspose)
	if !isPerm(kt, 0, 1, 3, 2) {
		return
	}
	var src *ir.Value
	part := func(x *ir.Value, want int) bool {
		gn := def(x, ir.KGather)
		if gn == nil || gn.Op.(*ir.Gather).Axis != 0 {
			return false
		}
		idx := gn.Inputs[1].Const
		if idx == nil || len(idx.Shape) != 0 || idx.Dense().I[0] != int64(want) {
			return false
		}
		if src != nil && gn.Inputs[0] != src {
			return false
		}
		src = gn.Inputs[0]
		return true
	}
	if !part(qh, 0) || !part(kt.Inputs[0], 1) || !part(vh, 2) {
		return
	}
	tr := def(src, ir.KTranspose)
	if !isPerm(tr, 2, 0, 3, 1, 4) {
		return
	}
	rs := def(tr.Inputs[0], ir.KReshape)
	if rs == nil {
		return
	}
	qkv, s := rs.Inputs[0], tr.Inputs[0].Type.Shape
	x := qkv.Type.Shape
	if x.Rank() != 3 || s.Rank() != 5 || s[0] != x[0] || s[1] != x[1] || s[2] != ir.D(3) || !s[3].Static() || !s[4].Static() {
		return
	}
	h, d := s[3].B, s[3].B*s[4].B
	if x[2] != ir.D(3*d) {
		return
	}
	at := slices.Index(g.Nodes, n)
	if at < 0 {
		return
	}
	var vs [3]*ir.Value
	for i := range vs {
		sl := &ir.Slice{Starts: []int{i * d}, Ends: []int{(i + 1) * d}, Axes: []int{2}, Steps: []int{1}}
		ty, err := ir.Infer(sl, []ir.Type{qkv.Type})
		if err != nil {
			return
		}
		name := ir.BuilderFor(g).Fresh(qkv.Name + [3]string{".q", ".k", ".v"}[i])
		node := &ir.Node{Name: n.Name, Op: sl, Inputs: []*ir.Value{qkv}}
		node.Outputs = []*ir.Value{{Name: name, Type: ty[0], Def: node}}
		g.Nodes = slices.Insert(g.Nodes, at+i, node)
		vs[i] = node.Outputs[0]
	}
	return vs[0], vs[1], vs[2], h, true
}

// scaled strips a division by, or product with, a scalar constant from
// v, returning the factor (1 when there is none).
func scaled(v *ir.Value) (*ir.Value, float64, bool) {
	switch d := v.Def; {
	case d != nil && d.Op.Kind() == ir.KDiv:
		c, ok := scalar(d.Inputs[1])
		if !ok || c == 0 {
			return nil, 0, false
		}
		return d.Inputs[0], 1 / c, true
	case d != nil && d.Op.Kind() == ir.KMul:
		if c, other, ok := operands(d, func(v *ir.Value) bool { _, ok := scalar(v); return ok }); ok {
			f, _ := scalar(c)
			return other, f, true
		}
	}
	return v, 1, true
}

// seqHeads returns x when v is Reshape(x[T, B, D] → [T, B·H, dh]), and H.
func seqHeads(v *ir.Value) (*ir.Value, int, bool) {
	r := def(v, ir.KReshape)
	if r == nil {
		return nil, 0, false
	}
	x, s := r.Inputs[0].Type.Shape, v.Type.Shape
	if x.Rank() != 3 || s.Rank() != 3 || s[0] != x[0] || !s[2].Static() || !x[2].Static() || s[2].B == 0 || x[2].B%s[2].B != 0 {
		return nil, 0, false
	}
	h := x[2].B / s[2].B
	if s[1] != x[1].MulInt(h) {
		return nil, 0, false
	}
	return r.Inputs[0], h, true
}

// matchSeqFirstAttention matches nn.MultiheadAttention's export at the
// Reshape that merges the heads back (see the table above).
func matchSeqFirstAttention(g *ir.Graph, n *ir.Node) bool {
	if n.Op.Kind() != ir.KReshape {
		return false
	}
	merge := def(n.Inputs[0], ir.KTranspose)
	if !isPerm(merge, 1, 0, 2) {
		return false
	}
	pv := def(merge.Inputs[0], ir.KMatMul)
	if pv == nil {
		return false
	}
	sm := def(pv.Inputs[0], ir.KSoftmax)
	if sm == nil || sm.Op.(*ir.Softmax).K != ir.KSoftmax {
		return false
	}
	if a := sm.Op.(*ir.Softmax).Axis; a != -1 && a != 2 {
		return false
	}
	scores, scale, ok := scaled(sm.Inputs[0])
	if !ok {
		return false
	}
	qk := def(scores, ir.KMatMul)
	if qk == nil {
		return false
	}
	qh, qscale, ok := scaled(qk.Inputs[0])
	if !ok {
		return false
	}
	scale *= qscale
	qt, kt, vt := def(qh, ir.KTranspose), def(qk.Inputs[1], ir.KTranspose), def(pv.Inputs[1], ir.KTranspose)
	if !isPerm(qt, 1, 0, 2) || !isPerm(kt, 1, 2, 0) || !isPerm(vt, 1, 0, 2) {
		return false
	}
	q, hq, ok1 := seqHeads(qt.Inputs[0])
	k, hk, ok2 := seqHeads(kt.Inputs[0])
	v, hv, ok3 := seqHeads(vt.Inputs[0])
	if !ok1 || !ok2 || !ok3 || hq != hk || hq != hv {
		return false
	}
	d := q.Type.Shape
	if want, ok := d.NumelDim(); !ok || !n.Outputs[0].Type.Shape.Numel().Equal(ir.Shape{want}.Numel()) {
		return false
	}
	// New nodes before n: q, k, v to [B, T, D], attention, back to [T, B, D].
	at := slices.Index(g.Nodes, n)
	if at < 0 {
		return false
	}
	b := ir.BuilderFor(g)
	var added []*ir.Node
	add := func(op ir.Op, hint string, ins ...*ir.Value) *ir.Value {
		types := make([]ir.Type, len(ins))
		for i, v := range ins {
			types[i] = v.Type
		}
		rt, err := ir.Infer(op, types)
		if err != nil {
			return nil
		}
		node := &ir.Node{Name: n.Name, Op: op, Inputs: ins}
		node.Outputs = []*ir.Value{{Name: b.Fresh(hint), Type: rt[0], Def: node}}
		added = append(added, node)
		return node.Outputs[0]
	}
	swap := func(x *ir.Value, hint string) *ir.Value {
		if x == nil {
			return nil
		}
		return add(&ir.Transpose{Perm: []int{1, 0, 2}}, hint, x)
	}
	qb, kb, vb := swap(q, q.Name+".btd"), swap(k, k.Name+".btd"), swap(v, v.Name+".btd")
	if qb == nil || kb == nil || vb == nil {
		return false
	}
	y := add(&ir.Attention{Heads: hq, Scale: scale}, n.Outputs[0].Name+".attention", qb, kb, vb)
	yt := swap(y, n.Outputs[0].Name+".tbd")
	if yt == nil {
		return false
	}
	g.Nodes = slices.Insert(g.Nodes, at, added...)
	if !rewrite(g, n, &ir.Reshape{Shape: n.Outputs[0].Type.Shape.Clone()}, yt) {
		g.Nodes = slices.Delete(g.Nodes, at, at+len(added))
		return false
	}
	return true
}
