package passes

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/quant"
)

// quantize rewrites linears and convolutions into integer layers
// (qlinear, qconv2d) with formats chosen on the calibration data
// (docs/algorithms.md §5):
//
//   - weights: per output channel (or per tensor) a word length WL from
//     bits and a fraction length FL (fixed-point: scale 2^−FL) or a
//     max-abs scale (affine), by §5.2's search: the smallest WL whose
//     weight histogram keeps KL(P ‖ Q) ≤ kl_eps and SQNR ≥ min_sqnr_db,
//     the layer's container the widest WL one of its channels needs;
//   - activations: each quantized layer's input gets the smallest WL of
//     bits and a threshold T from its calibration histogram (§5.3: kl,
//     max, percentile or mse), as Q(m, n) with the largest FL covering T
//     or as scale T/qmax; asymmetric: true gives non-negative tensors u8;
//   - the bias is stored in accumulator units, the accumulator is int32
//     when §5.5's headroom A = WL_x + WL_w − 1 + ⌈log2(K+1)⌉ ≤ 32 (and no
//     output channel can exceed it), else int64;
//   - a layer whose result only feeds (through a relu) the next integer
//     layer's quantize requantizes in its epilogue (to that format, relu
//     as the clamp at the zero point); the others dequantize in theirs.
//
// The first and last linear/conv layers stay float unless all_layers,
// and so do the layers keep_float names. With max_metric_drop the pass
// measures each layer quantized alone, ranks them from least to most
// harmful, and quantizes the most of that ranking that keep the
// calibration metric within the budget; the rest stay float and the
// report says so. The report (REPORT.md) gives every layer's formats,
// the weight candidates' D and SQNR, the activation threshold and
// clipped fraction, accumulator width, the output's SQNR and error
// against the float model on the calibration rows, weight bytes, the
// integer share of the MACs and the metric before and after.
func quantize(c *Context, o Options) (Stats, error) {
	opt, err := quantOptions(o)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	q := &quantizer{c: c, o: opt}
	q.layers = findQLayers(g, opt)
	for _, name := range opt.keepFloat {
		if !slices.ContainsFunc(q.layers, func(l *qlayer) bool { return l.node.Name == name }) {
			return nil, o.Errorf("keep_float", "no linear or conv2d layer %q (have %s)", name, layerNames(q.layers))
		}
	}
	b, err := c.baselines(g)
	if err != nil {
		return nil, err
	}
	q.set, q.base, q.test, q.testBase = b.Set, b.Base, b.Test, b.TestBase
	if err := q.ranges(); err != nil {
		return nil, err
	}
	for _, l := range q.layers {
		if l.why == "" {
			q.plan(l)
		}
	}
	if err := q.choose(); err != nil {
		return nil, err
	}
	refs, err := q.captureRefs()
	if err != nil {
		return nil, err
	}
	if err := q.rewrite(g, func(l *qlayer) bool { return l.on }); err != nil {
		return nil, err
	}
	if _, err := deadCode(&Context{Graph: g}, Options{}); err != nil {
		return nil, err
	}
	if err := q.measure(refs); err != nil {
		return nil, err
	}
	if err := q.report(); err != nil {
		return nil, err
	}
	st := Stats{"candidates": len(q.layers)}
	var macs, intMACs int64
	for _, l := range q.layers {
		macs += l.macs
		if l.on {
			intMACs += l.macs
		}
		switch {
		case l.on:
			st["quantized"]++
			if l.acc == 64 {
				st["int64-acc"]++
			}
			if l.fused {
				st["requant-fused"]++
			}
		default:
			st["float"]++
		}
	}
	if macs > 0 {
		st["int-mac-percent"] = int(100 * intMACs / macs)
	}
	return st, nil
}

// quantOpts are quantize's options, checked.
type quantOpts struct {
	scheme     string // fixed-point or affine
	bits       []int  // allowed word lengths, ascending
	perTensor  bool
	method     string // activation range method (calib.Range*)
	percentile float64
	histBins   int
	res        int
	klEps      float64
	minSQNR    float64
	asymmetric bool
	allLayers  bool
	keepFloat  []string
	budget     *calib.Budget
	actBits    int // the activations' WL: the smallest of bits
}

func quantOptions(o Options) (quantOpts, error) {
	var q quantOpts
	var err error
	if q.scheme, err = o.Enum("scheme", "fixed-point", "fixed-point", "affine"); err != nil {
		return q, err
	}
	if q.bits, err = o.Ints("bits"); err != nil {
		return q, err
	}
	if q.bits == nil {
		q.bits = []int{8, 16}
	}
	if len(q.bits) == 0 {
		return q, o.Errorf("bits", "want at least one word length")
	}
	for _, b := range q.bits {
		if b < 2 || b > 16 {
			return q, o.Errorf("bits", "word length %d is outside what the integer kernels support (2…16 bits, in int8 and int16 containers)", b)
		}
	}
	q.bits = slices.Compact(slices.Sorted(slices.Values(q.bits)))
	q.actBits = q.bits[0]
	w, err := o.Enum("weights", "per-channel", "per-channel", "per-tensor")
	if err != nil {
		return q, err
	}
	pc, err := o.Bool("per_channel", true)
	if err != nil {
		return q, err
	}
	if o.Has("per_channel") && o.Has("weights") {
		return q, o.Errorf("per_channel", "give weights: per-channel|per-tensor or per_channel: true|false, not both")
	}
	q.perTensor = w == "per-tensor" || !pc
	if q.method, err = o.Enum("activations", calib.RangeKL, calib.RangeMethods...); err != nil {
		return q, err
	}
	if q.percentile, err = o.Float("percentile", 99.99); err != nil {
		return q, err
	}
	if !(q.percentile > 0 && q.percentile <= 100) {
		return q, o.Errorf("percentile", "want a percentile in (0, 100], got %g", q.percentile)
	}
	if q.histBins, err = o.Int("hist_bins", 2048); err != nil {
		return q, err
	}
	if q.histBins < 16 || q.histBins > 1<<20 {
		return q, o.Errorf("hist_bins", "want 16…1048576 histogram bins, got %d", q.histBins)
	}
	if q.res, err = o.Int("res", 128); err != nil {
		return q, err
	}
	if q.res < 2 || q.res > 1<<16 {
		return q, o.Errorf("res", "want 2…65536 weight histogram bins, got %d", q.res)
	}
	if q.klEps, err = o.Float("kl_eps", 1e-3); err != nil {
		return q, err
	}
	if !(q.klEps >= 0) {
		return q, o.Errorf("kl_eps", "want a KL divergence ≥ 0 (nats), got %g", q.klEps)
	}
	if q.minSQNR, err = o.Float("min_sqnr_db", 30); err != nil {
		return q, err
	}
	if q.asymmetric, err = o.Bool("asymmetric", false); err != nil {
		return q, err
	}
	if q.allLayers, err = o.Bool("all_layers", false); err != nil {
		return q, err
	}
	if q.keepFloat, err = o.Strings("keep_float"); err != nil {
		return q, err
	}
	if q.budget, err = o.Budget(); err != nil {
		return q, err
	}
	return q, nil
}

// qlayer is a linear or conv2d the pass considers, in the float graph.
type qlayer struct {
	idx  int // in the float graph's Nodes
	node *ir.Node
	x    *ir.Value // its float input
	conv *ir.Conv2D
	act  string
	k    int // reduction length per output
	rows int // output channels
	macs int64
	// why is set when the layer stays float.
	why string
	on  bool

	// The plan (set by plan).
	wl     int // weight container's word length
	wdt    ir.DType
	fl     []int     // per row (fixed-point)
	ws     []float32 // per row scales
	wq     *ir.Tensor
	bias   *ir.Tensor // i32, or nil
	cands  []wcand    // per candidate WL: the worst channel's D and SQNR
	wsqnr  float64    // the chosen weights' SQNR over the whole layer
	xfmt   ir.QFormat
	xr     *actRange
	acc    int
	head   int // §5.5's A
	fused  bool
	refOut string // the float graph's value this layer's final result stands for
	outVal string // the rewritten graph's value for it

	// Measured.
	drop                  float64 // quantized alone: the metric's drop
	alone                 calib.Result
	sqnr, maxErr, meanErr float64
}

func (l *qlayer) name() string {
	if l.node.Name != "" {
		return l.node.Name
	}
	return l.node.Outputs[0].Name
}

// findQLayers lists the linear and conv2d nodes in graph order, with why
// each that must stay float does.
func findQLayers(g *ir.Graph, opt quantOpts) []*qlayer {
	var ls []*qlayer
	for i, n := range g.Nodes {
		l := &qlayer{idx: i, node: n, x: n.Inputs[0]}
		var ep ir.Epilogue
		switch op := n.Op.(type) {
		case *ir.Linear:
			ep = op.Epilogue
		case *ir.Conv2D:
			ep = op.Epilogue
			l.conv = op
		default:
			continue
		}
		w := n.Inputs[1]
		l.act = ep.Act
		if m, ok := ir.MACs(n); ok {
			l.macs = int64(m.At(1))
		}
		switch {
		case slices.Contains(opt.keepFloat, n.Name):
			l.why = "keep_float"
		case !w.IsConst():
			l.why = "its weight is computed at run time"
		case len(n.Inputs) > 2 && !n.Inputs[2].IsConst() && !ep.Residual:
			l.why = "its bias is computed at run time"
		case ep.Residual:
			l.why = "its fused residual add has no integer epilogue"
		case ep.Act != "" && ep.Act != "relu":
			l.why = fmt.Sprintf("its fused %s has no integer epilogue", ep.Act)
		case l.x.Type.DType != ir.F32 || w.Type.DType != ir.F32:
			l.why = fmt.Sprintf("it computes in %s, not f32", l.x.Type.DType)
		case l.x.Type.Layout != 0:
			l.why = "its input has a non-default layout"
		}
		if l.why == "" {
			ws := w.Type.Shape.Ints()
			l.rows = ws[0]
			l.k = 1
			for _, d := range ws[1:] {
				l.k *= d
			}
		}
		ls = append(ls, l)
	}
	if !opt.allLayers && len(ls) > 0 {
		if ls[0].why == "" {
			ls[0].why = "first layer (all_layers: false)"
		}
		if last := ls[len(ls)-1]; last.why == "" && len(ls) > 1 {
			last.why = "last layer (all_layers: false)"
		}
	}
	return ls
}

func layerNames(ls []*qlayer) string {
	var names []string
	for _, l := range ls {
		names = append(names, l.name())
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// quantizer holds one quantize run.
type quantizer struct {
	c      *Context
	o      quantOpts
	set    *calib.Set
	layers []*qlayer
	// ranges are the activation ranges of the layers' inputs.
	act    map[*ir.Value]*actRange
	base   calib.Result
	after  calib.Result
	trials []calib.Trial
	noFit  string
	order  []*qlayer // the budget's ranking, least harmful first

	test     *calib.Set
	testBase calib.Result
}

// actRange is one activation tensor's calibration statistics and format.
type actRange struct {
	min, max float64 // of x (max is max|x|)
	hist     *calib.Histogram
	t        float64 // the method's threshold
	clipped  float64 // the fraction of values beyond the format's range
	fmt      ir.QFormat
	top      float64 // the format's largest value
}

// ranges runs the float graph twice over the calibration rows: the
// extremes of every quantizable layer's input, then their |x| histograms
// (calib.Histogram), and derives each input's format.
func (q *quantizer) ranges() error {
	q.act = map[*ir.Value]*actRange{}
	var vs []*ir.Value
	for _, l := range q.layers {
		if l.why == "" && q.act[l.x] == nil {
			q.act[l.x] = &actRange{min: math.Inf(1)}
			vs = append(vs, l.x)
		}
	}
	if len(vs) == 0 {
		return nil
	}
	g := q.c.Graph
	err := q.set.Capture(g, "quantize: activation ranges", vs, func(_ int, vals []*ir.Tensor) error {
		for i, t := range vals {
			r := q.act[vs[i]]
			for _, x := range t.Dense().F {
				a := float64(x)
				if math.IsNaN(a) || math.IsInf(a, 0) {
					continue
				}
				r.min = math.Min(r.min, a)
				r.max = math.Max(r.max, math.Abs(a))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, v := range vs {
		r := q.act[v]
		r.hist = calib.NewHistogram(q.o.histBins, r.max)
		r.hist.DropZeroBin = true
	}
	err = q.set.Capture(g, "quantize: activation histograms", vs, func(_ int, vals []*ir.Tensor) error {
		for i, t := range vals {
			q.act[vs[i]].hist.Add(t.Dense().F)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, v := range vs {
		r := q.act[v]
		unsigned := q.o.asymmetric && r.min >= 0 && q.o.actBits <= 8
		wl := q.o.actBits
		levels := 1 << (wl - 1)
		qmax := float64(levels - 1)
		if unsigned {
			qmax = float64(int(1)<<wl - 1)
			levels = 1 << wl
		}
		if r.t, err = r.hist.Threshold(q.o.method, levels, q.o.percentile); err != nil {
			return err
		}
		r.fmt = actFormat(q.o.scheme, wl, unsigned, r.t, qmax)
		s, _ := r.fmt.Quant().Affine()
		r.top = qmax * s
		r.clipped = r.hist.Clipped(r.top)
	}
	return nil
}

// actFormat is the format of an activation with threshold t: Q(m, n)
// with the largest FL whose range covers t (§5.3 step 4), or the scale
// t/qmax.
func actFormat(scheme string, wl int, unsigned bool, t, qmax float64) ir.QFormat {
	f := ir.QFormat{To: ir.I8}
	switch {
	case unsigned:
		f.To = ir.U8
	case wl > 8:
		f.To = ir.I16
	}
	if scheme == "affine" {
		s := float32(t / qmax)
		if !(t > 0) || s == 0 || math.IsInf(float64(s), 0) {
			s = 1
		}
		f.Scale = float64(s)
		return f
	}
	fl := wl - 1
	if t > 0 {
		fl = int(math.Floor(math.Log2(qmax / t)))
	}
	f.WL, f.FL = wl, min(max(fl, -100), 100)
	return f
}

// wcand is one word length's weight quantization of a layer, every
// channel at its best fraction length (or scale): the KL divergence of
// the whole layer's weight histogram and its SQNR.
type wcand struct {
	wl      int
	d, sqnr float64
	ok      bool
}

// rowQuant is one channel's best quantization at one word length.
type rowQuant struct {
	fl      int
	scale   float32
	d, sqnr float64
}

// plan chooses the layer's weight formats, quantizes its weights and
// bias, and checks the accumulator headroom.
func (q *quantizer) plan(l *qlayer) {
	n := l.node
	w := n.Inputs[1].Const.Dense().F
	rows := l.rows
	if q.o.perTensor {
		rows = 1
	}
	rowLen := len(w) / rows
	// best[i][r]: bits[i]'s quantization of row r.
	best := make([][]rowQuant, len(q.o.bits))
	for i, wl := range q.o.bits {
		best[i] = make([]rowQuant, rows)
		for r := range rows {
			best[i][r] = bestRowQuant(w[r*rowLen:(r+1)*rowLen], wl, q.o.scheme, q.o.res, q.o.minSQNR)
		}
	}
	// The WL test is on the whole layer: every channel at its best FL,
	// pooled.
	for i, wl := range q.o.bits {
		qmax := float64(int(1)<<(wl-1) - 1)
		wq := make([]float64, len(w))
		var sig, noise float64
		for k, v := range w {
			s := float64(best[i][k/rowLen].scale)
			wq[k] = float64(quantWeight(v, s, qmax)) * s
			e := float64(v) - wq[k]
			sig += float64(v) * float64(v)
			noise += e * e
		}
		c := wcand{wl: wl, d: weightKL(w, wq, q.o.res), sqnr: sqnrDB(sig, noise)}
		c.ok = c.d <= q.o.klEps && c.sqnr >= q.o.minSQNR
		l.cands = append(l.cands, c)
	}
	// The smallest WL that passes; the widest when none does.
	chosen := slices.IndexFunc(l.cands, func(c wcand) bool { return c.ok })
	if chosen < 0 {
		chosen = len(l.cands) - 1
	}
	l.wl = q.o.bits[chosen]
	l.wdt = ir.I8
	if l.wl > 8 {
		l.wdt = ir.I16
	}
	qmax := float64(int(1)<<(l.wl-1) - 1)
	l.wq = ir.NewTensor(l.wdt, n.Inputs[1].Const.Shape)
	l.ws = make([]float32, l.rows)
	l.fl = make([]int, l.rows)
	var sig, noise float64
	perRow := len(w) / l.rows
	for j := range l.rows {
		rq := best[chosen][0]
		if !q.o.perTensor {
			rq = best[chosen][j]
		}
		l.ws[j], l.fl[j] = rq.scale, rq.fl
		for k := j * perRow; k < (j+1)*perRow; k++ {
			v := quantWeight(w[k], float64(rq.scale), qmax)
			l.wq.I[k] = v
			d := float64(w[k]) - float64(v)*float64(rq.scale)
			sig += float64(w[k]) * float64(w[k])
			noise += d * d
		}
	}
	l.wsqnr = sqnrDB(sig, noise)

	r := q.act[l.x]
	l.xr, l.xfmt = r, r.fmt
	xt := ir.Type{DType: r.fmt.To, Quant: r.fmt.Quant()}
	sx, zx := xt.Quant.Affine()
	lo, hi := ir.QuantRange(xt)
	xAbs := float64(max(hi-zx, zx-lo))
	if len(n.Inputs) > 2 {
		b := n.Inputs[2].Const.Dense().F
		l.bias = ir.NewTensor(ir.I32, []int{l.rows})
		for j, bv := range b {
			v := math.RoundToEven(float64(bv) / (sx * float64(l.ws[j])))
			if math.Abs(v) > math.MaxInt32 {
				l.why = fmt.Sprintf("output channel %d's bias %g is %.3g in accumulator units, beyond int32", j, bv, v)
				return
			}
			l.bias.I[j] = int64(v)
		}
	}
	// §5.5: A signed bits; an unsigned input needs one more.
	wlx := r.fmt.WL
	if wlx == 0 {
		wlx = 8 * r.fmt.To.Size()
	}
	if r.fmt.To.IsUnsigned() {
		wlx++
	}
	l.head = wlx + l.wl - 1 + int(math.Ceil(math.Log2(float64(l.k+1))))
	l.acc = 32
	if l.head > 32 {
		l.acc = 64
	}
	// The exact bound, bias included: an int32 accumulator must hold it.
	for j := range l.rows {
		s := 0.0
		for _, v := range l.wq.I[j*perRow : (j+1)*perRow] {
			s += math.Abs(float64(v))
		}
		if l.bias != nil {
			s = s*xAbs + math.Abs(float64(l.bias.I[j]))
		} else {
			s *= xAbs
		}
		if s > math.MaxInt32 {
			l.acc = 64
		}
	}
}

// quantWeight is a weight's integer at scale s, rounded half to even and
// saturated to [−qmax, qmax] (the most negative code unused, §5.1).
func quantWeight(w float32, s, qmax float64) int64 {
	return int64(min(max(math.RoundToEven(float64(w)/s), -qmax), qmax))
}

// bestRowQuant is §5.2 for one channel at word length wl: fixed-point
// tries FL = WL − 1 − m0 + δ (δ = 0, 1, 2) and keeps the least KL
// divergence between the res-bin histograms of w and its quantization
// among the FLs with SQNR ≥ minSQNR (the highest SQNR when none has);
// affine takes the max-abs scale. The SQNR floor keeps the search from
// saturating the few large weights a merged kernel depends on (RepVGG's
// centre taps: the histogram, all bulk, barely sees them — the KL prefers
// δ = 2 at 9 dB where δ = 0 gives 30).
func bestRowQuant(w []float32, wl int, scheme string, res int, minSQNR float64) rowQuant {
	qmax := float64(int(1)<<(wl-1) - 1)
	mx := 0.0
	for _, v := range w {
		mx = math.Max(mx, math.Abs(float64(v)))
	}
	eval := func(s float64) (d, sqnr float64) {
		wq := make([]float64, len(w))
		var sig, noise float64
		for i, v := range w {
			wq[i] = float64(quantWeight(v, s, qmax)) * s
			e := float64(v) - wq[i]
			sig += float64(v) * float64(v)
			noise += e * e
		}
		// A histogram needs several values a bin to stand for a
		// distribution: a row of K = 64 weights in 128 bins measures
		// sampling noise, so a short row gets K/4 bins (at least 8).
		return weightKL(w, wq, min(res, max(8, len(w)/4))), sqnrDB(sig, noise)
	}
	if scheme == "affine" {
		s := float32(mx / qmax)
		if mx == 0 || s == 0 {
			s = 1
		}
		d, sq := eval(float64(s))
		return rowQuant{scale: s, d: d, sqnr: sq}
	}
	if mx == 0 {
		return rowQuant{fl: wl - 1, scale: quant.Pow2(-(wl - 1)), sqnr: math.Inf(1)}
	}
	m0 := int(math.Ceil(math.Log2(mx)))
	var b rowQuant
	for delta := range 3 {
		fl := min(max(wl-1-m0+delta, -100), 100)
		s := math.Ldexp(1, -fl)
		if float32(s) == 0 || math.IsInf(float64(float32(s)), 0) {
			continue
		}
		d, sq := eval(s)
		c := rowQuant{fl: fl, scale: float32(s), d: d, sqnr: sq}
		bOK, cOK := b.sqnr >= minSQNR, sq >= minSQNR
		switch {
		case delta == 0, cOK && !bOK, cOK == bOK && cOK && d < b.d, !cOK && !bOK && sq > b.sqnr:
			b = c
		}
	}
	return b
}

// weightKL is KL(P ‖ Q) between res-bin histograms of w and wq over
// [min w, max w] (values of wq outside it count in the end bins).
func weightKL(w []float32, wq []float64, res int) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range w {
		lo = math.Min(lo, float64(v))
		hi = math.Max(hi, float64(v))
	}
	if hi <= lo {
		return 0
	}
	bin := func(v float64) int {
		return min(max(int((v-lo)/(hi-lo)*float64(res)), 0), res-1)
	}
	p := make([]float64, res)
	qh := make([]float64, res)
	for i, v := range w {
		p[bin(float64(v))]++
		qh[bin(wq[i])]++
	}
	return calib.KLDivergence(p, qh)
}

// sqnrDB is 10·log10(signal/noise); +Inf without noise.
func sqnrDB(sig, noise float64) float64 {
	if noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/noise)
}

// choose decides which planned layers become integer: all of them, or
// with max_metric_drop the most of the sensitivity ranking that fit.
func (q *quantizer) choose() error {
	var cands []*qlayer
	for _, l := range q.layers {
		if l.why == "" {
			cands = append(cands, l)
		}
	}
	if q.o.budget == nil || len(cands) == 0 {
		for _, l := range cands {
			l.on = true
		}
		return nil
	}
	// Each layer quantized alone: how much it costs the metric.
	for i, l := range cands {
		g := q.c.Graph.Clone()
		if err := q.rewrite(g, func(m *qlayer) bool { return m == l }); err != nil {
			return err
		}
		r, err := q.set.Measure(g, fmt.Sprintf("quantize: layer %d of %d alone", i+1, len(cands)))
		if err != nil {
			return err
		}
		l.alone, l.drop = r, q.set.Drop(r)
	}
	q.order = slices.Clone(cands)
	slices.SortStableFunc(q.order, func(a, b *qlayer) int {
		switch {
		case a.drop < b.drop:
			return -1
		case a.drop > b.drop:
			return 1
		case a.wsqnr > b.wsqnr:
			return -1
		case a.wsqnr < b.wsqnr:
			return 1
		}
		return 0
	})
	best, trials, err := q.set.Search(*q.o.budget, len(q.order), func(i int) (*ir.Graph, error) {
		g := q.c.Graph.Clone()
		on := q.order[:i+1]
		return g, q.rewrite(g, func(m *qlayer) bool { return slices.Contains(on, m) })
	})
	if err != nil {
		return err
	}
	q.trials = trials
	if best < 0 {
		last := trials[len(trials)-1]
		q.noFit = fmt.Sprintf("quantizing even %s alone (the least harmful layer) changes the calibration metric by %.4g (%s), over max_metric_drop %g; every layer stays float",
			q.order[0].name(), last.Drop, last.Result, q.o.budget.MaxDrop)
		if err := q.o.budget.NoFit(q.noFit); err != nil {
			return err
		}
		q.c.Warnf("%s", q.noFit)
		for _, l := range cands {
			l.why = "over max_metric_drop (no layer fits)"
		}
		return nil
	}
	for _, l := range q.order[:best+1] {
		l.on = true
	}
	for _, l := range q.order[best+1:] {
		l.why = fmt.Sprintf("over max_metric_drop: quantizing it too (alone it costs %.4g) exceeds the budget", l.drop)
	}
	return nil
}

// rewrite replaces the layers on selects, in g (the float graph or a
// clone of it: nodes at the same positions), by quantize → qlinear or
// qconv2d, then fuses each integer layer whose result only reaches the
// next one's quantize (through a relu) into a requantizing epilogue.
func (q *quantizer) rewrite(g *ir.Graph, on func(*qlayer) bool) error {
	at := map[int]*qlayer{}
	for _, l := range q.layers {
		if l.why == "" && on(l) {
			at[l.idx] = l
		}
	}
	old := g.Nodes
	g.Nodes = nil
	b := ir.BuilderFor(g)
	sub := map[*ir.Value]*ir.Value{}
	quantized := map[*ir.Value]*ir.Value{} // float input → its quantize
	var ints []*ir.Node
	for i, n := range old {
		for j, v := range n.Inputs {
			if w, ok := sub[v]; ok {
				n.Inputs[j] = w
			}
		}
		l := at[i]
		if l == nil {
			g.Nodes = append(g.Nodes, n)
			continue
		}
		x := n.Inputs[0]
		xq := quantized[x]
		if xq == nil {
			var err error
			xq, err = b.Add1("", &ir.Quantize{QFormat: l.xfmt}, []*ir.Value{x}, "")
			if err != nil {
				return fmt.Errorf("BUG: quantize: layer %s: %w", l.name(), err)
			}
			xq.Name = b.Fresh(x.Name + ".q")
			quantized[x] = xq
		}
		ins := q.layerConsts(g, b, l)
		ep := ir.QEpilogue{Act: l.act, Acc: l.acc, Out: ir.QFormat{To: ir.F32}}
		var op ir.Op
		if l.conv != nil {
			op = &ir.QConv2D{Stride: l.conv.Stride, Pad: l.conv.Pad, Dilation: l.conv.Dilation, Groups: l.conv.Groups,
				Act: ep.Act, Acc: ep.Acc, QFormat: ep.Out}
		} else {
			op = &ir.QLinear{Act: ep.Act, Acc: ep.Acc, QFormat: ep.Out}
		}
		nn, err := b.Add(n.Name, op, append([]*ir.Value{xq}, ins...))
		if err != nil {
			return fmt.Errorf("BUG: quantize: layer %s: %w", l.name(), err)
		}
		// The result keeps the layer's value name.
		nv := nn.Outputs[0]
		nv.Name = n.Outputs[0].Name
		sub[n.Outputs[0]] = nv
		ints = append(ints, nn)
	}
	for i, v := range g.Outputs {
		if w, ok := sub[v]; ok {
			g.Outputs[i] = w
		}
	}
	q.fuseRequant(g, ints, at)
	if err := ir.Verify(g); err != nil {
		return fmt.Errorf("BUG: quantize: the rewritten graph: %w", err)
	}
	return nil
}

// layerConsts adds a layer's integer weight, scales and bias to g.
func (q *quantizer) layerConsts(g *ir.Graph, b *ir.Builder, l *qlayer) []*ir.Value {
	add := func(hint string, t *ir.Tensor) *ir.Value {
		v := &ir.Value{Name: b.Fresh(hint), Type: ir.TensorType(t.DType, ir.StaticShape(t.Shape...)), Const: t}
		g.Consts = append(g.Consts, v)
		return v
	}
	w := l.node.Inputs[1]
	ws := ir.NewTensor(ir.F32, []int{l.rows})
	copy(ws.F, l.ws)
	ins := []*ir.Value{add(w.Name+".q", l.wq), add(w.Name+".scale", ws)}
	if l.bias != nil {
		ins = append(ins, add(l.node.Inputs[2].Name+".q", l.bias))
	}
	return ins
}

// fuseRequant gives an integer layer whose f32 result has one reader, a
// quantize (or a relu whose one reader is a quantize), that quantize's
// format: its epilogue requantizes (canonically, §5.4) and the relu
// becomes its clamp. Graph outputs are never fused away.
func (q *quantizer) fuseRequant(g *ir.Graph, ints []*ir.Node, at map[int]*qlayer) {
	byNode := map[*ir.Node]*qlayer{}
	for _, l := range at {
		l.fused, l.refOut, l.outVal = false, l.node.Outputs[0].Name, l.node.Outputs[0].Name
	}
	for _, n := range ints {
		for _, l := range at {
			if l.node.Name == n.Name && l.node.Outputs[0].Name == n.Outputs[0].Name {
				byNode[n] = l
			}
		}
	}
	dead := map[*ir.Node]bool{}
	for _, n := range ints {
		users := g.Users()
		y := n.Outputs[0]
		if isOutput(g, y) || len(users[y]) != 1 {
			continue
		}
		next := users[y][0]
		relu := false
		if next.Op.Kind() == ir.KRelu {
			r := next.Outputs[0]
			if isOutput(g, r) || len(users[r]) != 1 {
				continue
			}
			relu, next = true, users[r][0]
		}
		qz, ok := next.Op.(*ir.Quantize)
		if !ok {
			continue
		}
		e, _ := ir.QEpilogueOf(n.Op)
		sx, _ := n.Inputs[0].Type.Quant.Affine()
		sy, _ := qz.Quant().Affine()
		fits := true
		for _, s := range n.Inputs[2].Const.Dense().F {
			if _, err := ir.LayerMultiplier(sx, s, sy); err != nil {
				fits = false
			}
		}
		if !fits {
			continue
		}
		if relu {
			e.Act = "relu"
			dead[users[y][0]] = true
		}
		switch op := n.Op.(type) {
		case *ir.QLinear:
			op.Act, op.QFormat = e.Act, qz.QFormat
		case *ir.QConv2D:
			op.Act, op.QFormat = e.Act, qz.QFormat
		}
		out := next.Outputs[0]
		out.Def = n
		n.Outputs[0] = out
		dead[next] = true
		if l := byNode[n]; l != nil {
			l.fused, l.outVal = true, out.Name
			if relu {
				l.refOut = users[y][0].Outputs[0].Name
			}
		}
	}
	removeNodes(g, dead)
}

// captureRefs evaluates the float graph on the calibration rows and
// keeps, per batch, the results of the layers that become integer (what
// the report compares them with).
func (q *quantizer) captureRefs() (map[int][]*ir.Tensor, error) {
	// The reference values are the layer outputs, or after a fused relu
	// the relu's: find them on a dry rewrite of a clone.
	g := q.c.Graph.Clone()
	if err := q.rewrite(g, func(l *qlayer) bool { return l.on }); err != nil {
		return nil, err
	}
	var vs []*ir.Value
	for _, l := range q.layers {
		if l.on {
			vs = append(vs, q.c.Graph.Lookup(l.refOut))
		}
	}
	refs := map[int][]*ir.Tensor{}
	if len(vs) == 0 {
		return refs, nil
	}
	err := q.set.Capture(q.c.Graph, "quantize: float layer outputs", vs, func(lo int, vals []*ir.Tensor) error {
		refs[lo] = vals
		return nil
	})
	return refs, err
}

// measure compares every integer layer's result (dequantized) with the
// float model's on the calibration rows, and measures the metric after.
func (q *quantizer) measure(refs map[int][]*ir.Tensor) error {
	var on []*qlayer
	var vs []*ir.Value
	g := q.c.Graph
	for _, l := range q.layers {
		if l.on {
			on = append(on, l)
			vs = append(vs, g.Lookup(l.outVal))
		}
	}
	if len(on) > 0 {
		sig := make([]float64, len(on))
		noise := make([]float64, len(on))
		abs := make([]float64, len(on))
		count := make([]int, len(on))
		err := q.set.Capture(g, "quantize: integer layer outputs", vs, func(lo int, vals []*ir.Tensor) error {
			for i, t := range vals {
				ref := refs[lo][i].F
				s, z := vs[i].Type.Quant.Affine()
				t = t.Dense()
				for k, r := range ref {
					var y float64
					if t.F != nil {
						y = float64(t.F[k])
					} else {
						y = float64(quant.Dequantize(int32(t.I[k]), int32(z), float32(s)))
					}
					d := math.Abs(y - float64(r))
					sig[i] += float64(r) * float64(r)
					noise[i] += d * d
					abs[i] += d
					on[i].maxErr = math.Max(on[i].maxErr, d)
				}
				count[i] += len(ref)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, l := range on {
			l.sqnr = sqnrDB(sig[i], noise[i])
			l.meanErr = abs[i] / float64(max(count[i], 1))
		}
	}
	var err error
	q.after, err = q.set.Measure(g, "quantize: metric after")
	return err
}

// report writes the pass's REPORT.md section.
func (q *quantizer) report() error {
	c, o := q.c, q.o
	c.Reportf("quantize (docs/algorithms.md §5): scheme %s, bits %v, weights %s, activations %s (WL %d)",
		o.scheme, o.bits, map[bool]string{false: "per-channel", true: "per-tensor"}[o.perTensor], o.method, o.actBits)
	if o.budget != nil {
		c.Reportf(", max_metric_drop %g", o.budget.MaxDrop)
	}
	c.Reportf(". Calibration: %s. Weight WL: the smallest whose whole-layer histogram has KL ≤ %g nats and SQNR ≥ %g dB (✓).\n\n", q.set.Source, o.klEps, o.minSQNR)
	if q.noFit != "" {
		c.Reportf("No layer quantized: %s.\n\n", q.noFit)
	}
	c.Reportf("| layer | op | weights | input | output | acc (A) | weight D / SQNR per WL | max\\|x\\| / T / clipped | out SQNR | max / mean err | bytes before → after |\n")
	c.Reportf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var bytesBefore, bytesAfter, macs, intMACs, bitMACs int64
	for _, l := range q.layers {
		opName := l.node.Op.Kind().String()
		wb := int64(0)
		if w := l.node.Inputs[1]; w.IsConst() {
			wb = int64(4 * w.Const.Numel())
		}
		if len(l.node.Inputs) > 2 && l.node.Inputs[2].IsConst() {
			wb += int64(4 * l.node.Inputs[2].Const.Numel())
		}
		bytesBefore += wb
		macs += l.macs
		if !l.on {
			bytesAfter += wb
			bitMACs += 32 * l.macs
			c.Reportf("| %s | %s | float | | | | %s | | | | %d |\n", l.name(), opName, q.candText(l), wb)
			continue
		}
		ab := int64(l.wq.Numel()*l.wdt.Size() + 4*l.rows)
		if l.bias != nil {
			ab += int64(4 * l.rows)
		}
		bytesAfter += ab
		intMACs += l.macs
		bitMACs += int64(l.wl) * l.macs
		out := "f32 (dequantized)"
		if l.fused {
			out = fmtQ(q.c.Graph.Lookup(l.outVal).Type) + ", requantized"
			if l.act == "relu" || l.refOut != l.node.Outputs[0].Name {
				out += " + relu"
			}
		}
		c.Reportf("| %s | %s | %s | %s | %s | int%d (A = %d) | %s | %.4g / %.4g / %.2g | %.1f dB | %.3g / %.3g | %d → %d |\n",
			l.name(), "q"+opName, q.weightText(l), fmtQFormat(l.xfmt), out, l.acc, l.head, q.candText(l),
			l.xr.max, l.xr.t, l.xr.clipped, l.sqnr, l.maxErr, l.meanErr, wb, ab)
	}
	c.Reportf("\nLayers left float:\n\n")
	none := true
	for _, l := range q.layers {
		if !l.on {
			c.Reportf("- %s: %s\n", l.name(), l.why)
			none = false
		}
	}
	if none {
		c.Reportf("- none\n")
	}
	if len(q.trials) > 0 {
		c.Reportf("\nBudget: each layer quantized alone, least harmful first:\n\n| rank | layer | metric alone | drop |\n| --- | --- | --- | --- |\n")
		for i, l := range q.order {
			c.Reportf("| %d | %s | %s | %.4g |\n", i+1, l.name(), l.alone, l.drop)
		}
		c.Reportf("\nBudget search (the first k of the ranking quantized):\n\n| k | metric | drop | fits |\n| --- | --- | --- | --- |\n")
		for _, t := range q.trials {
			c.Reportf("| %d | %s | %.4g | %v |\n", t.Setting+1, t.Result, t.Drop, t.Fits)
		}
	}
	share := 0.0
	if macs > 0 {
		share = 100 * float64(intMACs) / float64(macs)
	}
	c.Reportf("\n| | before | after |\n| --- | --- | --- |\n")
	c.Reportf("| linear/conv weight bytes | %d | %d |\n", bytesBefore, bytesAfter)
	c.Reportf("| MACs per sample in integer layers | 0 of %d | %d of %d (%.1f%%) |\n", macs, intMACs, macs, share)
	c.Reportf("| bit-weighted MACs (Σ MACs·WL, AdaPT's cost model) | %d | %d |\n", 32*macs, bitMACs)
	c.Reportf("| calibration metric (%s) | %s | %s |\n", q.set.Metric, q.base, q.after)
	if q.test != nil {
		ta, err := q.test.Measure(c.Graph, "quantize: test metric after")
		if err != nil {
			return err
		}
		c.Reportf("| test: top-1 (%d labelled rows) | %s | %s |\n", q.test.Rows, q.testBase, ta)
	}
	return nil
}

// weightText writes a layer's weight format: the container and the FL
// range (fixed point) or scale range (affine) over its channels.
func (q *quantizer) weightText(l *qlayer) string {
	if q.o.scheme == "affine" {
		lo, hi := slices.Min(l.ws), slices.Max(l.ws)
		return fmt.Sprintf("%s, WL %d, scale %.3g…%.3g, SQNR %.1f dB", l.wdt, l.wl, lo, hi, l.wsqnr)
	}
	lo, hi := slices.Min(l.fl), slices.Max(l.fl)
	fl := fmt.Sprint(lo)
	if hi != lo {
		fl = fmt.Sprintf("%d…%d", lo, hi)
	}
	return fmt.Sprintf("%s, (WL, FL) = (%d, %s), SQNR %.1f dB", l.wdt, l.wl, fl, l.wsqnr)
}

// candText writes every WL candidate's worst-channel D and SQNR.
func (q *quantizer) candText(l *qlayer) string {
	var parts []string
	for _, c := range l.cands {
		mark := ""
		if c.ok {
			mark = " ✓"
		}
		parts = append(parts, fmt.Sprintf("%d: %.2g / %.1f dB%s", c.wl, c.d, c.sqnr, mark))
	}
	return strings.Join(parts, "; ")
}

func fmtQFormat(f ir.QFormat) string {
	return fmtQ(ir.Type{DType: f.To, Quant: f.Quant()})
}

// fmtQ writes a quantized type's format: "i8 Q(m, n) = (WL 8, FL 5)" or
// "u8 S 0.0123 Z 0".
func fmtQ(t ir.Type) string {
	q := t.Quant
	if q.WordLen != 0 {
		return fmt.Sprintf("%s Q(%d, %d) = (WL %d, FL %d)", t.DType, q.WordLen-1-q.FracLen, q.FracLen, q.WordLen, q.FracLen)
	}
	return fmt.Sprintf("%s S %.4g Z %d", t.DType, q.Scale, q.ZeroPoint)
}
