package passes

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/ir"
)

// attentionDrop removes residual sublayers whose output barely changes the
// hidden state (docs/algorithms.md §1; He et al., "What Matters in
// Transformers? Not All Attention is Needed", repository LLM-Drop).
//
// It matches the pre-norm residual regions h_out = h_in + F(Norm(h_in))
// (residual.go; also h_in + F(h_in) where bn-fold folded the norm into
// F's first linear), scores each on the calibration rows by
//
//	Sim = mean over all tokens of cos(h_in, h_out)   Imp = 1 − Sim
//
// (cosine over the hidden axis, summed in float64 in a fixed order: the
// same ranking on every machine) and drops the least important: h_out :=
// h_in, the region's nodes and weights leave the graph. Options:
//
//	target: attn | mlp | block | all   which regions compete (all: attention
//	                                   and MLP regions in one ranking)
//	drop: k                            drop the k highest-Sim candidates
//	threshold: t                       drop every candidate with Imp < t
//	max_metric_drop: b                 drop the most (up to k, or those under
//	                                   t) that keep the calibration metric
//	                                   within b of the float model's
//	mode: discrete | iterative         score once, or re-score after each drop
//	protect: [layers]                  layer indices never dropped
//	strict: true                       fail when no drop fits the budget
//
// Post-norm blocks (norm(h + F(h))) are refused: removing F would keep the
// norm. The pass writes its report (every region's score, what was dropped
// and why, MACs and parameters, the metric before and after on the
// calibration data and on labelled test data, the predicted speed-up) to
// REPORT.md and `modelc inspect`.
func attentionDrop(c *Context, o Options) (Stats, error) {
	opt, err := dropOptions(o)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	regions, post := findRegions(g)
	cands := candidates(regions, opt.target)
	for _, p := range post {
		if opt.target == "all" || opt.target == "block" || p.kind == opt.target {
			return nil, o.Errorf("", "%s is a post-norm residual block (norm(h + F(h))): dropping F would keep the norm, a different approximation; attention-drop takes pre-norm transformers (h + F(norm(h)))", p.label+" "+p.kind)
		}
	}
	if len(cands) == 0 {
		return nil, o.Errorf("", "no pre-norm residual %s in graph %s (want h + F(norm(h)) regions, or h + F(h) with the norm folded into F's first linear)", targetNoun(opt.target), g.Name)
	}
	if opt.drop > len(cands) {
		return nil, o.Errorf("drop", "%d exceeds the %d %s (%s)", opt.drop, len(cands), targetNoun(opt.target), candList(cands))
	}
	for _, p := range opt.protect {
		if p >= len(cands) {
			return nil, o.Errorf("protect", "layer %d: the model has %d %s (layers 0–%d)", p, len(cands), targetNoun(opt.target), len(cands)-1)
		}
	}
	b, err := c.baselines(g)
	if err != nil {
		return nil, err
	}
	d := &dropper{c: c, o: opt, set: b.Set, orig: cands, base: b.Base, test: b.Test, testBase: b.TestBase}
	before := graphSize(g)
	if opt.mode == "iterative" {
		err = d.iterative()
	} else {
		err = d.discrete()
	}
	if err != nil {
		return nil, err
	}
	removed := 0
	if len(d.dropped) > 0 {
		removed = dropRegions(g, d.regionsOf(g, d.dropped))
		if _, err := deadCode(c, Options{}); err != nil {
			return nil, err
		}
	}
	after := graphSize(g)
	if err := d.report(before, after); err != nil {
		return nil, err
	}
	st := Stats{"candidates": len(cands)}
	if len(d.dropped) > 0 {
		st["dropped"] = len(d.dropped)
		st["nodes-removed"] = removed
		st["params-removed"] = int(before.params - after.params)
	}
	return st, nil
}

// dropOpts are attention-drop's options, checked.
type dropOpts struct {
	target, mode string
	drop         int     // 0: not given
	threshold    float64 // 0: not given
	budget       *calib.Budget
	protect      []int
}

func dropOptions(o Options) (dropOpts, error) {
	var d dropOpts
	var err error
	if d.target, err = o.Enum("target", "attn", "attn", "mlp", "block", "all"); err != nil {
		return d, err
	}
	if d.mode, err = o.Enum("mode", "discrete", "discrete", "iterative"); err != nil {
		return d, err
	}
	if d.drop, err = o.Int("drop", 0); err != nil {
		return d, err
	}
	if o.Has("drop") && d.drop < 1 {
		return d, o.Errorf("drop", "want at least 1 region, got %d", d.drop)
	}
	if d.threshold, err = o.Float("threshold", 0); err != nil {
		return d, err
	}
	if o.Has("threshold") && !(d.threshold > 0 && d.threshold <= 2) {
		return d, o.Errorf("threshold", "want an importance 1 − cos in (0, 2], got %g", d.threshold)
	}
	if o.Has("drop") && o.Has("threshold") {
		return d, o.Errorf("threshold", "give drop: k or threshold: t, not both")
	}
	if d.budget, err = o.Budget(); err != nil {
		return d, err
	}
	if d.drop == 0 && !o.Has("threshold") && d.budget == nil {
		return d, o.Errorf("", "say how much to drop: drop: k (regions), threshold: t (importance 1 − cos), or max_metric_drop: b (the most that keep the metric within b)")
	}
	if d.protect, err = o.Ints("protect"); err != nil {
		return d, err
	}
	for _, p := range d.protect {
		if p < 0 {
			return d, o.Errorf("protect", "layer indices are ≥ 0, got %d", p)
		}
	}
	return d, nil
}

// candidate is a region, or for target block an attention region and the
// MLP region after it, that the pass may drop.
type candidate struct {
	kind  string // attn, mlp or block
	layer int
	label string
	ids   []string // its regions' ids
}

func (c candidate) name() string {
	if c.label == "" {
		return fmt.Sprintf("%s %d", c.kind, c.layer)
	}
	return fmt.Sprintf("%s %s", c.label, c.kind)
}

// candidates lists the regions (or blocks) target competes over, in graph
// order.
func candidates(regions []*region, target string) []candidate {
	var out []candidate
	for i, r := range regions {
		switch {
		case target == "block":
			if r.kind != "attn" || i+1 >= len(regions) || regions[i+1].kind != "mlp" || regions[i+1].in != r.out {
				continue
			}
			out = append(out, candidate{kind: "block", label: r.label, ids: []string{r.id, regions[i+1].id}})
		case target == "all" || r.kind == target:
			out = append(out, candidate{kind: r.kind, label: r.label, ids: []string{r.id}})
		}
	}
	layers := map[string]int{}
	for i := range out {
		out[i].layer = layers[out[i].kind]
		layers[out[i].kind]++
	}
	return out
}

func targetNoun(target string) string {
	return map[string]string{"attn": "attention regions", "mlp": "MLP regions", "block": "blocks (attention then MLP)", "all": "attention and MLP regions"}[target]
}

func candList(cs []candidate) string {
	var names []string
	for _, c := range cs {
		names = append(names, c.name())
	}
	return strings.Join(names, ", ")
}

// dropper holds one attention-drop run.
type dropper struct {
	c    *Context
	o    dropOpts
	set  *calib.Set
	orig []candidate // on the unmodified graph
	// scores are the one-shot (discrete) or per-round (iterative) Sims of
	// orig's candidates; dropped their indices in drop order, why the
	// reason for each decision.
	scores  [][]float64
	dropped []int
	why     map[int]string
	trials  []calib.Trial
	noFit   string
	// base and after are the calibration metric before and after (after
	// from the budget search, when it measured it).
	base  calib.Result
	after *calib.Result
	// test is the labelled test data (nil: none), testBase its metric
	// before.
	test     *calib.Set
	testBase calib.Result
	// tokens is how many hidden states each Sim averages.
	tokens int
}

// regionsOf returns the regions in g of the candidates idx.
func (d *dropper) regionsOf(g *ir.Graph, idx []int) []*region {
	byID := map[string]*region{}
	regions, _ := findRegions(g)
	for _, r := range regions {
		byID[r.id] = r
	}
	var out []*region
	for _, i := range idx {
		for _, id := range d.orig[i].ids {
			out = append(out, byID[id])
		}
	}
	return out
}

// ranking orders candidates by Sim, highest first (lowest importance),
// ties to the lower layer; protected and already dropped ones are left
// out.
func (d *dropper) ranking(sims []float64, skip map[int]bool) []int {
	var idx []int
	for i := range d.orig {
		if !skip[i] && !slices.Contains(d.o.protect, d.orig[i].layer) && !math.IsNaN(sims[i]) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case sims[a] > sims[b]:
			return -1
		case sims[a] < sims[b]:
			return 1
		}
		return d.orig[a].layer - d.orig[b].layer
	})
	return idx
}

// discrete scores once and drops the top of the ranking: k of them, those
// under the threshold, or the most of either that fit the budget.
func (d *dropper) discrete() error {
	sims, err := d.score(d.c.Graph, "attention-drop: scoring")
	if err != nil {
		return err
	}
	d.scores = [][]float64{sims}
	d.why = map[int]string{}
	rank := d.ranking(sims, nil)
	pick, reason := d.limit(rank, sims)
	if d.o.budget == nil {
		d.dropped = pick
		for _, i := range pick {
			d.why[i] = reason
		}
		return nil
	}
	// The most of pick (a prefix of the ranking) within the budget.
	best, trials, err := d.set.Search(*d.o.budget, len(pick), func(i int) (*ir.Graph, error) {
		return d.withDropped(pick[:i+1])
	})
	if err != nil {
		return err
	}
	d.trials = trials
	if best < 0 {
		return d.noFitting(pick, trials)
	}
	d.dropped = pick[:best+1]
	r := trials[len(trials)-1].Result
	d.after = &r
	for _, i := range d.dropped {
		d.why[i] = reason + ", within max_metric_drop"
	}
	for _, i := range pick[best+1:] {
		d.why[i] = "kept: dropping it too exceeds max_metric_drop"
	}
	return nil
}

// iterative drops one candidate at a time, re-scoring the graph with the
// earlier drops applied, until the count, the threshold or the budget
// stops it.
func (d *dropper) iterative() error {
	d.why = map[int]string{}
	gone := map[int]bool{}
	for round := 1; ; round++ {
		if d.o.drop > 0 && len(d.dropped) == d.o.drop {
			return nil
		}
		g, err := d.withDropped(d.dropped)
		if err != nil {
			return err
		}
		sims, err := d.score(g, fmt.Sprintf("attention-drop: scoring, round %d", round))
		if err != nil {
			return err
		}
		d.scores = append(d.scores, sims)
		rank := d.ranking(sims, gone)
		if len(rank) == 0 {
			return nil
		}
		next := rank[0]
		if d.o.threshold > 0 && 1-sims[next] >= d.o.threshold {
			return nil
		}
		reason := fmt.Sprintf("round %d: highest Sim of the remaining", round)
		if d.o.budget != nil {
			try, err := d.withDropped(append(slices.Clone(d.dropped), next))
			if err != nil {
				return err
			}
			r, err := d.set.Measure(try, fmt.Sprintf("attention-drop: round %d, metric", round))
			if err != nil {
				return err
			}
			t := calib.Trial{Setting: len(d.dropped), Result: r, Drop: d.set.Drop(r), Fits: d.set.Fits(*d.o.budget, r)}
			d.trials = append(d.trials, t)
			if !t.Fits {
				if len(d.dropped) == 0 {
					return d.noFitting([]int{next}, d.trials)
				}
				d.why[next] = fmt.Sprintf("round %d: kept, dropping it exceeds max_metric_drop", round)
				return nil
			}
			d.after = &r
			reason += ", within max_metric_drop"
		}
		d.dropped = append(d.dropped, next)
		gone[next] = true
		d.why[next] = reason
	}
}

// limit is the part of the ranking the count or threshold allows, and
// why.
func (d *dropper) limit(rank []int, sims []float64) ([]int, string) {
	switch {
	case d.o.drop > 0:
		return rank[:min(d.o.drop, len(rank))], fmt.Sprintf("among the %d highest Sim", d.o.drop)
	case d.o.threshold > 0:
		n := 0
		for n < len(rank) && 1-sims[rank[n]] < d.o.threshold {
			n++
		}
		return rank[:n], fmt.Sprintf("importance below %g", d.o.threshold)
	}
	return rank, "highest Sim"
}

// noFitting leaves the graph unchanged: no drop keeps the metric within
// the budget (an error with strict).
func (d *dropper) noFitting(pick []int, trials []calib.Trial) error {
	d.dropped = nil
	if len(pick) == 0 {
		d.noFit = "nothing to drop"
		return nil
	}
	last := trials[len(trials)-1]
	d.noFit = fmt.Sprintf("dropping even %s alone changes the calibration metric by %.4g (%s), over max_metric_drop %g; the graph is unchanged",
		d.orig[pick[0]].name(), last.Drop, last.Result, d.o.budget.MaxDrop)
	if err := d.o.budget.NoFit(d.noFit); err != nil {
		return err
	}
	d.c.Warnf("%s", d.noFit)
	for _, i := range pick {
		d.why[i] = "kept: over max_metric_drop"
	}
	return nil
}

// withDropped is a copy of the pass's graph with candidates idx dropped.
func (d *dropper) withDropped(idx []int) (*ir.Graph, error) {
	g := d.c.Graph.Clone()
	dropRegions(g, d.regionsOf(g, idx))
	if err := ir.Verify(g); err != nil {
		return nil, fmt.Errorf("BUG: attention-drop: graph after dropping: %w", err)
	}
	return g, nil
}

// score computes every original candidate's Sim on g (NaN for those
// already dropped from it).
func (d *dropper) score(g *ir.Graph, label string) ([]float64, error) {
	byID := map[string]*region{}
	regions, _ := findRegions(g)
	for _, r := range regions {
		byID[r.id] = r
	}
	type pair struct{ x, y int }
	var vs []*ir.Value
	at := map[*ir.Value]int{}
	val := func(v *ir.Value) int {
		if i, ok := at[v]; ok {
			return i
		}
		at[v] = len(vs)
		vs = append(vs, v)
		return len(vs) - 1
	}
	pairs := make([]*pair, len(d.orig))
	for i, cd := range d.orig {
		first, last := byID[cd.ids[0]], byID[cd.ids[len(cd.ids)-1]]
		if first == nil || last == nil {
			continue
		}
		pairs[i] = &pair{val(first.in), val(last.out)}
	}
	sum := make([]float64, len(d.orig))
	tokens := 0
	err := d.set.Capture(g, label, vs, func(_ int, vals []*ir.Tensor) error {
		n := 0
		for i, p := range pairs {
			if p == nil {
				continue
			}
			s, t := cosSum(vals[p.x], vals[p.y])
			sum[i] += s
			n = t
		}
		tokens += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.tokens = tokens
	sims := make([]float64, len(d.orig))
	for i, p := range pairs {
		sims[i] = math.NaN()
		if p != nil {
			sims[i] = sum[i] / float64(tokens)
		}
	}
	return sims, nil
}

// cosSum sums cos(x_t, y_t) over the tokens t of two [..., D] tensors
// (the hidden axis last), in float64, and counts the tokens. A token
// whose x or y is zero counts 1 if both are, else 0.
func cosSum(x, y *ir.Tensor) (float64, int) {
	dim := x.Shape[len(x.Shape)-1]
	n := len(x.F) / dim
	total := 0.0
	for t := range n {
		var xy, xx, yy float64
		for j := t * dim; j < (t+1)*dim; j++ {
			a, b := float64(x.F[j]), float64(y.F[j])
			xy += a * b
			xx += a * a
			yy += b * b
		}
		switch {
		case xx > 0 && yy > 0:
			total += xy / math.Sqrt(xx*yy)
		case xx == 0 && yy == 0:
			total++
		}
	}
	return total, n
}

// size is a graph's dense parameters and MACs per sample.
type size struct {
	params int64
	macs   ir.Dim
}

func graphSize(g *ir.Graph) size {
	var s size
	for _, v := range g.Consts {
		if !v.Const.Splat {
			s.params += int64(v.Const.Numel())
		}
	}
	for _, n := range g.Nodes {
		if m, ok := ir.MACs(n); ok {
			s.macs = s.macs.Add(m)
		}
	}
	return s
}

// report writes the pass's REPORT.md section.
func (d *dropper) report(before, after size) error {
	c := d.c
	o := d.o
	c.Reportf("attention-drop (docs/algorithms.md §1): target %s, mode %s", o.target, o.mode)
	switch {
	case o.drop > 0:
		c.Reportf(", drop %d", o.drop)
	case o.threshold > 0:
		c.Reportf(", threshold %g", o.threshold)
	}
	if o.budget != nil {
		c.Reportf(", max_metric_drop %g", o.budget.MaxDrop)
	}
	c.Reportf(". Calibration: %s; Sim averages %d tokens' hidden states.\n\n", d.set.Source, d.tokens)
	if d.noFit != "" {
		c.Reportf("No region dropped: %s.\n\n", d.noFit)
	}
	rank := map[int]int{}
	for r, i := range d.ranking(d.scores[0], nil) {
		rank[i] = r + 1
	}
	c.Reportf("| region | layer | Sim (cos) | Imp = 1 − Sim | rank | dropped | why |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for i, cd := range d.orig {
		sim := d.scores[0][i]
		dropped := "no"
		if slices.Contains(d.dropped, i) {
			dropped = "yes"
		}
		why := d.why[i]
		if why == "" && slices.Contains(o.protect, cd.layer) {
			why = "protected"
		}
		r := "—"
		if rank[i] > 0 {
			r = fmt.Sprint(rank[i])
		}
		c.Reportf("| %s | %d | %.6f | %.6f | %s | %s | %s |\n", cd.name(), cd.layer, sim, 1-sim, r, dropped, why)
	}
	if len(d.scores) > 1 {
		c.Reportf("\nIterative mode: Sim re-scored after each drop (rounds 2–%d):\n\n", len(d.scores))
		for r, sims := range d.scores[1:] {
			var parts []string
			for i, s := range sims {
				if !math.IsNaN(s) {
					parts = append(parts, fmt.Sprintf("%s %.6f", d.orig[i].name(), s))
				}
			}
			c.Reportf("- round %d: %s\n", r+2, strings.Join(parts, ", "))
		}
	}
	if len(d.trials) > 0 {
		c.Reportf("\nBudget search (calibration metric of each setting tried):\n\n| regions dropped | metric | drop | fits |\n| --- | --- | --- | --- |\n")
		for _, t := range d.trials {
			c.Reportf("| %d | %s | %.4g | %v |\n", t.Setting+1, t.Result, t.Drop, t.Fits)
		}
	}
	m1, m0 := after.macs.At(1), before.macs.At(1)
	c.Reportf("\n| | before | after |\n| --- | --- | --- |\n")
	c.Reportf("| parameters | %d | %d |\n| MACs per sample | %d | %d |\n", before.params, after.params, m0, m1)
	afterCal := d.base
	var err error
	if len(d.dropped) > 0 {
		if d.after != nil {
			afterCal = *d.after
		} else if afterCal, err = d.set.Measure(c.Graph, "attention-drop: metric after"); err != nil {
			return err
		}
	}
	c.Reportf("| calibration metric (%s) | %s | %s |\n", d.set.Metric, d.base, afterCal)
	if d.test != nil {
		ta := d.testBase
		if len(d.dropped) > 0 {
			if ta, err = d.test.Measure(c.Graph, "attention-drop: test metric after"); err != nil {
				return err
			}
		}
		c.Reportf("| test: top-1 (%d labelled rows) | %s | %s |\n", d.test.Rows, d.testBase, ta)
	}
	if m1 > 0 {
		c.Reportf("\nPredicted speed-up (MAC model, ir.MACs: linears, convolutions, attention's QKᵀ and PV): %.2f×.\n", float64(m0)/float64(m1))
	}
	return nil
}
