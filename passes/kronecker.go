package passes

import (
	"fmt"
	"math"
	"path"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/ir"
)

// kronecker replaces dense weights by short sums of Kronecker products,
// W ≈ Σ_{r<R} A_r ⊗ F_r (docs/algorithms.md §3–4; PHM layers: Zhang et
// al. 2021, PHC convolutions: Grassucci et al.; the approximation: Van
// Loan & Pitsianis 1993).
//
// For each selected linear (W[k, d]) or groups-1 conv2d (W[O, C, kh, kw],
// the Kronecker product on the channel axes, the taps inside F) it
// rearranges W into R(W) ∈ R^{m1·n1 × m2·n2·taps}, whose rank-R truncated
// SVD (gonum's mat.SVD) is the nearest sum of R Kronecker products, and
// takes the smallest R whose relative Frobenius error is within
// max_rel_error and whose layer output error on the calibration rows is
// within max_output_rel_error. The layer becomes a phm_linear or
// phc_conv2d holding the factors (about 1/n of the weights for PHM), when
// that has fewer parameters and at most twice the dense MACs; otherwise
// it stays dense and the report says why. A weight that is exactly such a
// sum (a PHM layer exported with W materialised) comes back at its rank,
// to rounding. With max_metric_drop the rewritten layers are kept, most
// accurate first, as long as the calibration metric stays within it.
//
//	layers: [names or globs]          default: every eligible layer
//	n: 4                              PHM order: A_r n×n, F_r (k/n)×(d/n)
//	shape: [m1, n1, m2, n2]           explicit factor shapes (default balanced)
//	max_rank: R                       upper bound (default n with n, else 16)
//	max_rel_error: 0.05               relative Frobenius error per layer
//	max_output_rel_error: 0.05        layer output rel-L2 on calibration rows
//	max_metric_drop: b, strict        the calibration metric budget
//	execution: auto | factored | materialized
//
// execution: materialized instead writes the selected layers (including
// phm_linear and phc_conv2d layers the model holds factored) as dense
// linear and conv2d layers with the weight Σ A_r ⊗ F_r, the dense
// kernels' variant of the same model; execution: factored makes every
// phm_linear run on its factors (exec: factored), where codegen's cost
// rule would materialise a small one (auto, the default, leaves it the
// choice).
func kronecker(c *Context, o Options) (Stats, error) {
	opt, err := kronOptions(o)
	if err != nil {
		return nil, err
	}
	k := &kronRun{c: c, o: opt, opts: o}
	if err := k.selectLayers(); err != nil {
		return nil, err
	}
	if opt.execution == "materialized" {
		return k.materialize()
	}
	if err := k.decide(); err != nil {
		return nil, err
	}
	if err := k.budget(); err != nil {
		return nil, err
	}
	if c.Test != nil {
		k.original = c.Graph.Clone()
	}
	return k.rewrite()
}

// kronOpts are the kronecker pass's options, checked.
type kronOpts struct {
	layers       []string
	n            int
	shape        []int // [m1, n1, m2, n2] or nil (balanced)
	maxRank      int   // 0: the default
	maxRel       float64
	maxOutRel    float64
	budget       *calib.Budget
	execution    string
	explicitSize bool // n or shape given
}

func kronOptions(o Options) (kronOpts, error) {
	var k kronOpts
	var err error
	if k.layers, err = o.Strings("layers"); err != nil {
		return k, err
	}
	if k.n, err = o.Int("n", 0); err != nil {
		return k, err
	}
	if o.Has("n") && k.n < 2 {
		return k, o.Errorf("n", "want a PHM order of at least 2, got %d", k.n)
	}
	if k.shape, err = o.Ints("shape"); err != nil {
		return k, err
	}
	if o.Has("shape") {
		if len(k.shape) != 4 || slices.Min(k.shape) < 1 {
			return k, o.Errorf("shape", "want [m1, n1, m2, n2] (A_r m1×n1, F_r m2×n2), four positive integers, got %v", k.shape)
		}
		if o.Has("n") {
			return k, o.Errorf("shape", "give n or shape, not both")
		}
	}
	k.explicitSize = o.Has("n") || o.Has("shape")
	if k.maxRank, err = o.Int("max_rank", 0); err != nil {
		return k, err
	}
	if o.Has("max_rank") && k.maxRank < 1 {
		return k, o.Errorf("max_rank", "want at least 1 term, got %d", k.maxRank)
	}
	if k.maxRel, err = o.Float("max_rel_error", 0.05); err != nil {
		return k, err
	}
	if !(k.maxRel >= 0) {
		return k, o.Errorf("max_rel_error", "want a relative error ≥ 0, got %g", k.maxRel)
	}
	if k.maxOutRel, err = o.Float("max_output_rel_error", 0.05); err != nil {
		return k, err
	}
	if !(k.maxOutRel >= 0) {
		return k, o.Errorf("max_output_rel_error", "want a relative error ≥ 0, got %g", k.maxOutRel)
	}
	if k.budget, err = o.Budget(); err != nil {
		return k, err
	}
	if k.execution, err = o.Enum("execution", "auto", "auto", "factored", "materialized"); err != nil {
		return k, err
	}
	if k.execution == "materialized" {
		for _, key := range []string{"n", "shape", "max_rank", "max_rel_error", "max_output_rel_error", "max_metric_drop"} {
			if o.Has(key) {
				return k, o.Errorf(key, "execution: materialized writes factored layers as dense ones; it approximates nothing, so %s does not apply", key)
			}
		}
	}
	return k, nil
}

// kronLayer is one selected layer and what the pass decided for it.
type kronLayer struct {
	node   *ir.Node
	named  bool      // selected by an exact name (its errors are errors)
	w      []float64 // the dense weight, [out][in][taps]
	out    int       // k or O
	in     int       // d or C
	taps   int       // kh·kw, 1 for a linear
	sp     []int     // [kh, kw] for a conv2d, nil for a linear
	sh     ir.Kron   // the factor shapes (R = rank chosen)
	sigma  []float64 // R(W)'s singular values
	a, s   []float32 // the chosen factors
	relErr float64   // ‖W − Ŵ‖_F / ‖W‖_F, from the float32 factors
	outErr float64   // layer output rel-L2 on the calibration rows (NaN: not measured)
	inputs []*ir.Tensor
	ok     bool   // rewrite it
	why    string // the decision, for the report
}

// kronRun holds one kronecker run.
type kronRun struct {
	c      *Context
	o      kronOpts
	opts   Options
	layers []*kronLayer
	set    *calib.Set
	// base and after are the calibration metric before and after; trials
	// the budget search's.
	base, after calib.Result
	trials      []calib.Trial
	noFit       string
	// original is the graph before the rewrite, for the test metric.
	original *ir.Graph
}

// selectLayers finds the layers the options select: by layers: (exact
// names must exist and be eligible; globs must match something), else
// every eligible one.
func (k *kronRun) selectLayers() error {
	g := k.c.Graph
	eligible := func(n *ir.Node) string {
		if k.o.execution == "materialized" {
			if _, ok := ir.KronOf(n); ok {
				return ""
			}
			return "not a phm_linear or phc_conv2d layer"
		}
		return denseEligible(n)
	}
	if len(k.o.layers) == 0 {
		for _, n := range g.Nodes {
			if eligible(n) == "" {
				k.layers = append(k.layers, &kronLayer{node: n})
			}
		}
		if len(k.layers) == 0 && k.o.execution != "materialized" {
			return k.opts.Errorf("", "graph %s has no linear or groups-1 conv2d layer with a constant weight", g.Name)
		}
		return nil
	}
	seen := map[*ir.Node]bool{}
	for _, pat := range k.o.layers {
		if _, err := path.Match(pat, ""); err != nil {
			return k.opts.Errorf("layers", "%q is not a valid glob: %v", pat, err)
		}
		glob := strings.ContainsAny(pat, "*?[")
		matched := 0
		for _, n := range g.Nodes {
			if ok, _ := path.Match(pat, n.Name); !ok || n.Name == "" {
				continue
			}
			why := eligible(n)
			if why != "" {
				if glob {
					continue
				}
				return k.opts.Errorf("layers", "layer %s (%s) does not qualify: %s", n.Name, n.Op.Kind(), why)
			}
			matched++
			if !seen[n] {
				seen[n] = true
				k.layers = append(k.layers, &kronLayer{node: n, named: !glob})
			}
		}
		if matched == 0 {
			if glob {
				return k.opts.Errorf("layers", "%q matches no eligible layer of graph %s", pat, g.Name)
			}
			return k.opts.Errorf("layers", "graph %s has no layer %q", g.Name, pat)
		}
	}
	// Graph order, whatever the order of layers:.
	idx := map[*ir.Node]int{}
	for i, n := range g.Nodes {
		idx[n] = i
	}
	slices.SortFunc(k.layers, func(a, b *kronLayer) int { return idx[a.node] - idx[b.node] })
	return nil
}

// denseEligible says why n cannot be approximated ("" if it can): a
// linear or a groups-1 conv2d whose weight is a dense float constant.
func denseEligible(n *ir.Node) string {
	switch op := n.Op.(type) {
	case *ir.Linear:
		if n.Inputs[1].Type.Shape.Rank() != 2 {
			return "its weight is not 2-D"
		}
	case *ir.Conv2D:
		if op.Groups != 1 {
			return fmt.Sprintf("a grouped convolution (groups %d)", op.Groups)
		}
	default:
		return "not a linear or conv2d layer"
	}
	w := n.Inputs[1]
	if !w.IsConst() || w.Const.Splat || !w.Type.DType.IsFloat() {
		return "its weight is not a dense float constant"
	}
	return ""
}

// decide factorises each layer: shape, SVD, the smallest rank within the
// error budgets, and whether the factored layer is worth it.
func (k *kronRun) decide() error {
	if err := k.captureInputs(); err != nil {
		return err
	}
	for _, l := range k.layers {
		if err := k.decideLayer(l); err != nil {
			return fmt.Errorf("layer %s: %w", l.node.Name, err)
		}
	}
	return nil
}

// captureInputs keeps every layer's input on the calibration rows, for
// the output errors.
func (k *kronRun) captureInputs() error {
	set, err := k.c.Calibration()
	if err != nil {
		return err
	}
	k.set = set
	vs := make([]*ir.Value, len(k.layers))
	for i, l := range k.layers {
		vs[i] = l.node.Inputs[0]
	}
	return set.Capture(k.c.Graph, "kronecker: layer inputs", vs, func(_ int, vals []*ir.Tensor) error {
		for i, v := range vals {
			k.layers[i].inputs = append(k.layers[i].inputs, v)
		}
		return nil
	})
}

func (k *kronRun) decideLayer(l *kronLayer) error {
	n := l.node
	wt := n.Inputs[1].Const
	ws := wt.Shape
	l.out, l.in, l.taps = ws[0], ws[1], 1
	if len(ws) == 4 {
		l.taps, l.sp = ws[2]*ws[3], []int{ws[2], ws[3]}
	}
	l.w = make([]float64, len(wt.F))
	for i, v := range wt.F {
		l.w[i] = float64(v)
	}
	l.outErr = math.NaN()
	sh, why := k.shapeFor(l.out, l.in)
	if why != "" {
		if l.named {
			key := "shape"
			if k.o.n > 0 {
				key = "n"
			}
			return k.opts.Errorf(key, "layer %s [%d, %d]: %s", n.Name, l.out, l.in, why)
		}
		l.why = "dense: " + why
		return nil
	}
	sh.Taps = l.taps
	svd, sigma, err := nearestKron(l.w, sh)
	if err != nil {
		return err
	}
	l.sigma = sigma
	maxR := k.o.maxRank
	if maxR == 0 {
		maxR = 16
		if k.o.n > 0 {
			maxR = k.o.n
		}
	}
	maxR = min(maxR, len(sigma))
	total := 0.0
	for _, s := range sigma {
		total += s * s
	}
	var dense []*ir.Tensor // the layer's output on the calibration rows, without bias
	for r := 1; r <= maxR; r++ {
		tail := 0.0
		for _, s := range sigma[r:] {
			tail += s * s
		}
		if total > 0 && math.Sqrt(tail/total) > k.o.maxRel*(1+1e-9)+1e-12 {
			continue
		}
		sh.R = r
		a64, s64 := kronFactors(svd, sigma, sh)
		a, s := round32(a64), round32(s64)
		relErr := kronRelErr(l.w, a, s, sh)
		if relErr > k.o.maxRel*(1+1e-6)+1e-9 {
			continue // rounding to float32 lost what the spectrum promised
		}
		if dense == nil {
			if dense, err = l.outputs(l.w); err != nil {
				return err
			}
		}
		outErr, err := l.outputError(a, s, sh, dense)
		if err != nil {
			return err
		}
		l.sh, l.a, l.s, l.relErr, l.outErr = sh, a, s, relErr, outErr
		if outErr > k.o.maxOutRel {
			continue
		}
		return k.worth(l)
	}
	measured := l.sh.R == maxR // its output error was measured
	l.sh.R = 0
	tail := 0.0
	for _, s := range sigma[maxR:] {
		tail += s * s
	}
	l.why = fmt.Sprintf("dense: no rank ≤ %d meets the budget (rank %d: Frobenius error %.3g", maxR, maxR, math.Sqrt(tail/max(total, 1e-300)))
	if measured {
		l.why += fmt.Sprintf(", output error %.3g", l.outErr)
	}
	l.why += fmt.Sprintf("; max_rel_error %g, max_output_rel_error %g)", k.o.maxRel, k.o.maxOutRel)
	return nil
}

// worth decides whether a layer whose factors meet the budget is
// rewritten: fewer parameters than dense, and (execution auto) at most
// twice the dense MACs, the factored kernel's cost model: it moves 1/n
// of the weight bytes for about the dense arithmetic (§4).
func (k *kronRun) worth(l *kronLayer) error {
	dp, fp := l.out*l.in*l.taps, l.sh.Params()
	dm, fm := l.out*l.in*l.taps, l.sh.MACs()
	switch {
	case fp >= dp:
		l.why = fmt.Sprintf("dense: rank %d needs %d parameters, not fewer than dense %d", l.sh.R, fp, dp)
	case k.o.execution == "auto" && fm > 2*dm:
		l.why = fmt.Sprintf("dense: rank %d costs %d MACs per row, over twice dense %d (execution: factored forces it)", l.sh.R, fm, dm)
	default:
		l.ok = true
		l.why = "factored"
	}
	return nil
}

// shapeFor picks the factor shapes for a weight [out, in]: from n, from
// shape, or the most balanced divisors (m1·n1 and m2·n2 both ≥ 4); why
// says what is wrong when none fits.
func (k *kronRun) shapeFor(out, in int) (ir.Kron, string) {
	switch {
	case k.o.n > 0:
		n := k.o.n
		if out%n != 0 || in%n != 0 {
			return ir.Kron{}, fmt.Sprintf("n %d does not divide the output %d and input %d sizes", n, out, in)
		}
		return ir.Kron{M1: n, N1: n, M2: out / n, N2: in / n}, ""
	case k.o.shape != nil:
		s := k.o.shape
		if s[0]*s[2] != out || s[1]*s[3] != in {
			return ir.Kron{}, fmt.Sprintf("shape %v gives [%d, %d] (m1·m2, n1·n2)", s, s[0]*s[2], s[1]*s[3])
		}
		return ir.Kron{M1: s[0], N1: s[1], M2: s[2], N2: s[3]}, ""
	}
	m1, n1 := balanced(out), balanced(in)
	if m1*n1 < 4 || (out/m1)*(in/n1) < 4 {
		return ir.Kron{}, fmt.Sprintf("no balanced factor shapes for [%d, %d] (want m1·n1 and m2·n2 ≥ 4; give n or shape)", out, in)
	}
	return ir.Kron{M1: m1, N1: n1, M2: out / m1, N2: in / n1}, ""
}

// balanced is the divisor of x nearest √x from below.
func balanced(x int) int {
	for d := int(math.Sqrt(float64(x))); d > 1; d-- {
		if x%d == 0 {
			return d
		}
	}
	return 1
}

// nearestKron computes the SVD of the rearrangement R(W) ∈
// R^{m1·n1 × m2·n2·taps}, R(W)[i·n1+j][(p·n2+q)·taps+t] =
// W[i·m2+p][j·n2+q][t] (docs/algorithms.md §3.2), and its singular
// values, largest first.
func nearestKron(w []float64, sh ir.Kron) (*mat.SVD, []float64, error) {
	rows, cols := sh.M1*sh.N1, sh.M2*sh.N2*sh.Taps
	r := mat.NewDense(rows, cols, nil)
	in := sh.In() * sh.Taps
	for i := range sh.M1 {
		for j := range sh.N1 {
			row := r.RawRowView(i*sh.N1 + j)
			for p := range sh.M2 {
				src := w[(i*sh.M2+p)*in+j*sh.N2*sh.Taps:][:sh.N2*sh.Taps]
				copy(row[p*sh.N2*sh.Taps:], src)
			}
		}
	}
	var svd mat.SVD
	if !svd.Factorize(r, mat.SVDThin) {
		return nil, nil, fmt.Errorf("the SVD of the %d×%d rearranged weight did not converge", rows, cols)
	}
	return &svd, svd.Values(nil), nil
}

// kronFactors are the rank-sh.R factors from the SVD, in float64:
// A_r = √σ_r·reshape(u_r, m1×n1), F_r = √σ_r·reshape(v_r, m2×n2×taps).
func kronFactors(svd *mat.SVD, sigma []float64, sh ir.Kron) (a, s []float64) {
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	na, ns := sh.M1*sh.N1, sh.M2*sh.N2*sh.Taps
	a, s = make([]float64, sh.R*na), make([]float64, sh.R*ns)
	for r := range sh.R {
		q := math.Sqrt(sigma[r])
		for i := range na {
			a[r*na+i] = q * u.At(i, r)
		}
		for i := range ns {
			s[r*ns+i] = q * v.At(i, r)
		}
	}
	return a, s
}

// round32 rounds factors to float32, once, at the end (§0).
func round32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// kronTensors wraps factors as a[R, m1, n1] and s[R, m2, n2(, kh, kw)].
func kronTensors(a, s []float32, sh ir.Kron, spatial []int) (at, st *ir.Tensor) {
	at = &ir.Tensor{DType: ir.F32, Shape: []int{sh.R, sh.M1, sh.N1}, F: a}
	st = &ir.Tensor{DType: ir.F32, Shape: append([]int{sh.R, sh.M2, sh.N2}, spatial...), F: s}
	return at, st
}

// kronRelErr is ‖W − Σ A_r ⊗ F_r‖_F / ‖W‖_F in float64.
func kronRelErr(w []float64, a, s []float32, sh ir.Kron) float64 {
	at, st := kronTensors(a, s, sh, []int{sh.Taps})
	what := ir.KronSum(at, st)
	var num, den float64
	for i, v := range w {
		d := v - what[i]
		num += d * d
		den += v * v
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// outputs evaluates the layer's product (no bias, no epilogue) with
// weight w on each captured calibration batch.
func (l *kronLayer) outputs(w []float64) ([]*ir.Tensor, error) {
	wt := ir.NewTensor(ir.F32, l.node.Inputs[1].Const.Shape)
	for i, v := range w {
		wt.F[i] = float32(v)
	}
	outs := make([]*ir.Tensor, len(l.inputs))
	for i, x := range l.inputs {
		b := ir.NewBuilder("kronecker-layer")
		xv, err := b.Input("x", ir.TensorType(ir.F32, ir.StaticShape(x.Shape...)))
		if err != nil {
			return nil, err
		}
		wv, err := b.Const("w", wt)
		if err != nil {
			return nil, err
		}
		var op ir.Op = &ir.Linear{}
		if cv, ok := l.node.Op.(*ir.Conv2D); ok {
			op = &ir.Conv2D{Stride: cv.Stride, Pad: cv.Pad, Dilation: cv.Dilation, Groups: 1}
		}
		y, err := b.Add1("y", op, []*ir.Value{xv, wv}, "y")
		if err != nil {
			return nil, err
		}
		b.G.Outputs = []*ir.Value{y}
		res, err := ir.Eval(b.G, x)
		if err != nil {
			return nil, err
		}
		outs[i] = res[0]
	}
	return outs, nil
}

// outputError is ‖x∗(W − Ŵ)‖₂ / ‖x∗W + b‖₂ over the calibration rows,
// dense being x∗W per batch (the product is linear in the weight).
func (l *kronLayer) outputError(a, s []float32, sh ir.Kron, dense []*ir.Tensor) (float64, error) {
	at, st := kronTensors(a, s, sh, []int{sh.Taps})
	what := ir.KronSum(at, st)
	diff := make([]float64, len(l.w))
	for i, v := range l.w {
		diff[i] = v - what[i]
	}
	errs, err := l.outputs(diff)
	if err != nil {
		return 0, err
	}
	var bias *ir.Tensor
	if b := biasOf(l.node); b != nil && b.IsConst() {
		bias = b.Const
	}
	var num, den float64
	for i, d := range dense {
		per := len(d.F) / max(1, d.Shape[0])
		ch := l.out
		for j, v := range d.F {
			y := float64(v)
			if bias != nil {
				// Channel j: the last axis of a linear, axis 1 of NCHW.
				c := j % ch
				if _, conv := l.node.Op.(*ir.Conv2D); conv {
					c = j % per / (per / ch)
				}
				y += bias.Float(c)
			}
			e := float64(errs[i].F[j])
			num += e * e
			den += y * y
		}
	}
	if len(dense) == 0 {
		return math.NaN(), nil
	}
	return math.Sqrt(num / max(den, 1e-30)), nil
}

// budget keeps, with max_metric_drop, the most accurate factored layers
// whose rewrite keeps the calibration metric within it (all of them when
// that fits); the rest stay dense.
func (k *kronRun) budget() error {
	var err error
	if k.base, err = k.set.Baseline(k.c.Graph); err != nil {
		return err
	}
	k.after = k.base
	var cand []*kronLayer
	for _, l := range k.layers {
		if l.ok {
			cand = append(cand, l)
		}
	}
	if len(cand) == 0 {
		return nil
	}
	slices.SortStableFunc(cand, func(a, b *kronLayer) int {
		switch {
		case a.outErr < b.outErr:
			return -1
		case a.outErr > b.outErr:
			return 1
		}
		return 0
	})
	with := func(ls []*kronLayer) (*ir.Graph, error) {
		g := k.c.Graph.Clone()
		byName := map[string]*ir.Node{}
		for _, n := range g.Nodes {
			byName[n.Name] = n
		}
		b := ir.BuilderFor(g)
		for _, l := range ls {
			factor(g, b, byName[l.node.Name], l)
		}
		if err := ir.Verify(g); err != nil {
			return nil, fmt.Errorf("BUG: kronecker: graph after factoring: %w", err)
		}
		return g, nil
	}
	if k.o.budget == nil {
		g, err := with(cand)
		if err != nil {
			return err
		}
		k.after, err = k.set.Measure(g, "kronecker: metric after")
		return err
	}
	best, trials, err := k.set.Search(*k.o.budget, len(cand), func(i int) (*ir.Graph, error) {
		return with(cand[:i+1])
	})
	if err != nil {
		return err
	}
	k.trials = trials
	if best >= 0 {
		k.after = trials[len(trials)-1].Result
	}
	for i, l := range cand {
		if i > best {
			l.ok = false
			l.why = "dense: factoring it too exceeds max_metric_drop"
		}
	}
	if best < 0 {
		last := trials[len(trials)-1]
		k.noFit = fmt.Sprintf("factoring even %s alone (output error %.3g) changes the calibration metric by %.4g (%s), over max_metric_drop %g; every layer stays dense",
			cand[0].node.Name, cand[0].outErr, last.Drop, last.Result, k.o.budget.MaxDrop)
		if err := k.o.budget.NoFit(k.noFit); err != nil {
			return err
		}
		k.c.Warnf("%s", k.noFit)
	}
	return nil
}

// factor rewrites n (a copy of l's node in g) as phm_linear or
// phc_conv2d with l's factors: x, a, s, then n's bias and residual.
func factor(g *ir.Graph, b *ir.Builder, n *ir.Node, l *kronLayer) {
	at, st := kronTensors(l.a, l.s, l.sh, l.sp)
	av := &ir.Value{Name: b.Fresh(n.Name + ".A"), Type: ir.TensorType(ir.F32, ir.StaticShape(at.Shape...)), Const: at}
	sv := &ir.Value{Name: b.Fresh(n.Name + ".F"), Type: ir.TensorType(ir.F32, ir.StaticShape(st.Shape...)), Const: st}
	g.Consts = append(g.Consts, av, sv)
	switch op := n.Op.(type) {
	case *ir.Linear:
		n.Op = &ir.PHMLinear{Epilogue: op.Epilogue}
	case *ir.Conv2D:
		n.Op = &ir.PHCConv2D{Stride: op.Stride, Pad: op.Pad, Dilation: op.Dilation, Epilogue: op.Epilogue}
	}
	n.Inputs = append([]*ir.Value{n.Inputs[0], av, sv}, n.Inputs[2:]...)
}

// rewrite factors the layers the decisions kept, removes the dense
// weights and writes the report.
func (k *kronRun) rewrite() (Stats, error) {
	g := k.c.Graph
	before := graphSize(g)
	b := ir.BuilderFor(g)
	st := Stats{"layers": len(k.layers)}
	for _, l := range k.layers {
		if l.ok {
			factor(g, b, l.node, l)
			st["factored"]++
		}
	}
	if st["factored"] > 0 {
		if _, err := deadCode(k.c, Options{}); err != nil {
			return nil, err
		}
	}
	if k.o.execution == "factored" {
		// Every phm_linear runs on its factors, whatever codegen's cost
		// rule would pick for its size.
		for _, n := range g.Nodes {
			if o, ok := n.Op.(*ir.PHMLinear); ok && o.Exec != ir.ExecFactored {
				o.Exec = ir.ExecFactored
				st["exec-factored"]++
			}
		}
	}
	after := graphSize(g)
	st["params-removed"] = int(before.params - after.params)
	return st, k.report(before, after)
}

// materialize writes the selected phm_linear and phc_conv2d layers as
// dense linear and conv2d layers with W = Σ A_r ⊗ F_r (a scale input
// folded into W's rows): exact, the dense kernels' variant.
func (k *kronRun) materialize() (Stats, error) {
	g := k.c.Graph
	before := graphSize(g)
	b := ir.BuilderFor(g)
	k.c.Reportf("kronecker (docs/algorithms.md §3–4), execution: materialized: factored layers written with dense weights W = Σ A_r ⊗ F_r.\n\n")
	if len(k.layers) == 0 {
		k.c.Reportf("The graph has no phm_linear or phc_conv2d layer: nothing to materialise.\n")
		return Stats{}, nil
	}
	k.c.Reportf("| layer | factors | R | parameters factored → dense |\n| --- | --- | --- | --- |\n")
	for _, l := range k.layers {
		n := l.node
		kr, _ := ir.KronOf(n)
		w64 := ir.KronSum(n.Inputs[1].Const, n.Inputs[2].Const)
		scale, _, _ := ir.KronInputs(n)
		in := kr.In() * kr.Taps
		wt := &ir.Tensor{DType: ir.F32, F: make([]float32, len(w64))}
		for i, v := range w64 {
			if scale != nil {
				v *= scale.Const.Float(i / in)
			}
			wt.F[i] = float32(v)
		}
		rest := n.Inputs[3:]
		if scale != nil {
			rest = rest[1:]
		}
		switch op := n.Op.(type) {
		case *ir.PHMLinear:
			wt.Shape = []int{kr.Out(), kr.In()}
			n.Op = &ir.Linear{Epilogue: op.Epilogue}
		case *ir.PHCConv2D:
			s := n.Inputs[2].Type.Shape
			wt.Shape = []int{kr.Out(), kr.In(), s[3].B, s[4].B}
			n.Op = &ir.Conv2D{Stride: op.Stride, Pad: op.Pad, Dilation: op.Dilation, Groups: 1, Epilogue: op.Epilogue}
		}
		wv := &ir.Value{Name: b.Fresh(n.Name + ".weight"), Type: ir.TensorType(ir.F32, ir.StaticShape(wt.Shape...)), Const: wt}
		g.Consts = append(g.Consts, wv)
		n.Inputs = append([]*ir.Value{n.Inputs[0], wv}, rest...)
		k.c.Reportf("| %s | %d × [%d×%d] ⊗ [%d×%d×%d] | %d | %d → %d |\n", n.Name, kr.R, kr.M1, kr.N1, kr.M2, kr.N2, kr.Taps, kr.R, kr.Params(), len(wt.F))
	}
	if _, err := deadCode(k.c, Options{}); err != nil {
		return nil, err
	}
	after := graphSize(g)
	k.c.Reportf("\nParameters %d → %d.\n", before.params, after.params)
	return Stats{"materialized": len(k.layers), "params-added": int(after.params - before.params)}, nil
}

// report writes the pass's REPORT.md section.
func (k *kronRun) report(before, after size) error {
	c, o := k.c, k.o
	c.Reportf("kronecker (docs/algorithms.md §3–4): ")
	switch {
	case o.n > 0:
		c.Reportf("PHM n %d", o.n)
	case o.shape != nil:
		c.Reportf("factor shapes %v", o.shape)
	default:
		c.Reportf("balanced factor shapes")
	}
	c.Reportf(", max_rel_error %g, max_output_rel_error %g", o.maxRel, o.maxOutRel)
	if o.budget != nil {
		c.Reportf(", max_metric_drop %g", o.budget.MaxDrop)
	}
	c.Reportf(", execution %s. Calibration: %s.\n\n", o.execution, k.set.Source)
	if k.noFit != "" {
		c.Reportf("No layer factored: %s.\n\n", k.noFit)
	}
	c.Reportf("| layer | shape | factors | R | parameters dense → factored | MACs per row dense → factored | Frobenius error | energy kept | output rel-L2 (calibration) | decision |\n")
	c.Reportf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, l := range k.layers {
		shape := fmt.Sprintf("[%d, %d]", l.out, l.in)
		if sp := l.sp; sp != nil {
			shape = fmt.Sprintf("[%d, %d, %d, %d]", l.out, l.in, sp[0], sp[1])
		}
		if l.sh.R == 0 {
			c.Reportf("| %s | %s | — | — | %d | — | — | — | — | %s |\n", l.node.Name, shape, l.out*l.in*l.taps, l.why)
			continue
		}
		total, kept := 0.0, 0.0
		for i, s := range l.sigma {
			total += s * s
			if i < l.sh.R {
				kept += s * s
			}
		}
		c.Reportf("| %s | %s | [%d×%d] ⊗ [%d×%d×%d] | %d | %d → %d (%.3g×) | %d → %d | %.3g | %.6f | %.3g | %s |\n",
			l.node.Name, shape, l.sh.M1, l.sh.N1, l.sh.M2, l.sh.N2, l.sh.Taps, l.sh.R,
			l.out*l.in*l.taps, l.sh.Params(), float64(l.sh.Params())/float64(l.out*l.in*l.taps),
			l.out*l.in*l.taps, l.sh.MACs(), l.relErr, kept/max(total, 1e-300), l.outErr, l.why)
	}
	c.Reportf("\nSingular values of R(W) (first 16):\n\n")
	for _, l := range k.layers {
		if len(l.sigma) == 0 {
			continue
		}
		var parts []string
		for _, s := range l.sigma[:min(16, len(l.sigma))] {
			parts = append(parts, fmt.Sprintf("%.4g", s))
		}
		c.Reportf("- %s: %s\n", l.node.Name, strings.Join(parts, ", "))
	}
	if len(k.trials) > 0 {
		c.Reportf("\nBudget search (calibration metric with the most accurate layers factored):\n\n| layers factored | metric | drop | fits |\n| --- | --- | --- | --- |\n")
		for _, t := range k.trials {
			c.Reportf("| %d | %s | %.4g | %v |\n", t.Setting+1, t.Result, t.Drop, t.Fits)
		}
	}
	c.Reportf("\n| | before | after |\n| --- | --- | --- |\n")
	c.Reportf("| parameters | %d | %d |\n| MACs per sample | %d | %d |\n", before.params, after.params, before.macs.At(1), after.macs.At(1))
	c.Reportf("| calibration metric (%s) | %s | %s |\n", k.set.Metric, k.base, k.after)
	if c.Test != nil {
		test, err := c.Test()
		if err != nil {
			return err
		}
		if test != nil {
			tb, err := test.Baseline(k.original)
			if err != nil {
				return err
			}
			ta, err := test.Measure(c.Graph, "kronecker: test metric after")
			if err != nil {
				return err
			}
			c.Reportf("| test: top-1 (%d labelled rows) | %s | %s |\n", test.Rows, tb, ta)
		}
	}
	return nil
}
