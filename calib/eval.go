package calib

import (
	"fmt"
	"math"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/modelc/modelc/ir"
)

// Run evaluates g (ir.Eval) on every row, Batch rows at a time, and
// returns its first output for all rows. observe, if set, sees every
// node's results of each batch, with the batch's first row lo (it must
// not keep or modify them). label names the run on the progress bar.
func (s *Set) Run(g *ir.Graph, label string, observe func(lo int, n *ir.Node, outs []*ir.Tensor)) (*ir.Tensor, error) {
	var out *ir.Tensor
	cur := 0
	var obs func(n *ir.Node, outs []*ir.Tensor)
	if observe != nil {
		obs = func(n *ir.Node, outs []*ir.Tensor) { observe(cur, n, outs) }
	}
	err := s.batches(g, label, func(lo int) { cur = lo }, obs, func(lo int, _, res []*ir.Tensor) error {
		r := res[0]
		if out == nil {
			out = &ir.Tensor{DType: r.DType, Shape: append([]int{s.Rows}, r.Shape[1:]...)}
		}
		out.F = append(out.F, r.F...)
		out.I = append(out.I, r.I...)
		return nil
	})
	return out, err
}

// Capture evaluates g on every row and calls fn once per batch with the
// batch's first row and the values of vs (graph inputs or node results,
// in vs order; fn may keep them).
func (s *Set) Capture(g *ir.Graph, label string, vs []*ir.Value, fn func(lo int, vals []*ir.Tensor) error) error {
	at := map[*ir.Value][]int{}
	for i, v := range vs {
		at[v] = append(at[v], i)
	}
	vals := make([]*ir.Tensor, len(vs))
	observe := func(n *ir.Node, outs []*ir.Tensor) {
		for j, v := range n.Outputs {
			for _, i := range at[v] {
				vals[i] = clone(outs[j])
			}
		}
	}
	return s.batches(g, label, nil, observe, func(lo int, ins, _ []*ir.Tensor) error {
		for k, v := range g.Inputs {
			for _, i := range at[v] {
				vals[i] = ins[k]
			}
		}
		for i, v := range vals {
			if v == nil {
				return fmt.Errorf("BUG: calib: value %s is not computed by graph %s", vs[i].Name, g.Name)
			}
		}
		err := fn(lo, vals)
		vals = make([]*ir.Tensor, len(vs))
		return err
	})
}

// batches evaluates g on the rows, Batch at a time: start sees each
// batch's first row, observe every node's results, done the batch's
// inputs and g's results.
func (s *Set) batches(g *ir.Graph, label string, start func(lo int), observe func(n *ir.Node, outs []*ir.Tensor), done func(lo int, ins, res []*ir.Tensor) error) error {
	bar := s.bar(label)
	defer bar.Close()
	for lo := 0; lo < s.Rows; lo += s.batch() {
		hi := min(lo+s.batch(), s.Rows)
		ins := make([]*ir.Tensor, len(s.Inputs))
		for i, t := range s.Inputs {
			ins[i] = rowsOf(t, lo, hi)
		}
		if start != nil {
			start(lo)
		}
		res, err := ir.EvalOptions{Observe: observe}.Eval(g, ins...)
		if err != nil {
			return fmt.Errorf("%s: rows %d–%d: %w", label, lo, hi-1, err)
		}
		if r := res[0]; len(r.Shape) == 0 || r.Shape[0] != hi-lo {
			return fmt.Errorf("%s: output %s has shape %v, want its %d rows first", label, g.Outputs[0].Name, r.Shape, hi-lo)
		}
		if err := done(lo, ins, res); err != nil {
			return err
		}
		_ = bar.Add(hi - lo)
	}
	return nil
}

func clone(t *ir.Tensor) *ir.Tensor {
	t = t.Dense()
	c := &ir.Tensor{DType: t.DType, Shape: append([]int(nil), t.Shape...)}
	c.F = append([]float32(nil), t.F...)
	c.I = append([]int64(nil), t.I...)
	return c
}

func (s *Set) bar(label string) *progressbar.ProgressBar {
	if s.Progress == nil {
		return progressbar.DefaultSilent(int64(s.Rows))
	}
	return progressbar.NewOptions(s.Rows,
		progressbar.OptionSetWriter(s.Progress),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// Result is a graph's metric on a set.
type Result struct {
	Metric string
	Value  float64
	// Correct of Rows (top1).
	Correct, Rows int
}

func (r Result) String() string {
	switch r.Metric {
	case Top1:
		return fmt.Sprintf("top-1 %.2f%% (%d/%d)", 100*r.Value, r.Correct, r.Rows)
	case KL:
		return fmt.Sprintf("mean KL %.4g", r.Value)
	}
	return fmt.Sprintf("rel-L2 %.4g", r.Value)
}

// Baseline fixes the float model the metric is measured against: the
// first call evaluates g and keeps its outputs (for kl and rel-l2) and
// metric; later calls return that metric whatever g is. A pipeline's
// lossy passes share one set, so every budget is relative to the model
// before any lossy pass ran.
func (s *Set) Baseline(g *ir.Graph) (Result, error) {
	if s.base != nil {
		return *s.base, nil
	}
	out, err := s.Run(g, "calibration: float model", nil)
	if err != nil {
		return Result{}, err
	}
	r, err := s.score(out, out)
	if err != nil {
		return Result{}, err
	}
	s.refOuts, s.base = out, &r
	return r, nil
}

// Measure evaluates g on every row and scores it (Baseline first).
func (s *Set) Measure(g *ir.Graph, label string) (Result, error) {
	if s.base == nil {
		return Result{}, fmt.Errorf("BUG: calib: Measure before Baseline")
	}
	out, err := s.Run(g, label, nil)
	if err != nil {
		return Result{}, err
	}
	return s.score(out, s.refOuts)
}

// Drop is how far r falls below the baseline: top-1 lost as a fraction,
// or the KL / rel-L2 gained.
func (s *Set) Drop(r Result) float64 {
	if s.base == nil {
		return math.NaN()
	}
	if r.Metric == Top1 {
		return s.base.Value - r.Value
	}
	return r.Value - s.base.Value
}

// score computes the set's metric of out (first outputs, all rows)
// against ref (the float model's).
func (s *Set) score(out, ref *ir.Tensor) (Result, error) {
	if out.F == nil {
		return Result{}, fmt.Errorf("calibration metric %s: the first output is %s, want floats", s.Metric, out.DType)
	}
	r := Result{Metric: s.Metric, Rows: s.Rows}
	switch s.Metric {
	case Top1:
		if len(out.Shape) != 2 {
			return Result{}, fmt.Errorf("calibration metric top1: the first output has shape %v, want [rows, classes]", out.Shape)
		}
		classes := out.Shape[1]
		for i, y := range s.Labels {
			if y >= int64(classes) {
				return Result{}, fmt.Errorf("calibration labels: row %d has class %d, the model has %d classes", i, y, classes)
			}
			if argmax(out.F[i*classes:(i+1)*classes]) == int(y) {
				r.Correct++
			}
		}
		r.Value = float64(r.Correct) / float64(s.Rows)
	case KL:
		r.Value = meanKL(ref.F, out.F, out.Shape[len(out.Shape)-1])
	case RelL2:
		var num, den float64
		for i := range out.F {
			d := float64(out.F[i]) - float64(ref.F[i])
			num += d * d
			den += float64(ref.F[i]) * float64(ref.F[i])
		}
		r.Value = math.Sqrt(num) / math.Max(math.Sqrt(den), 1e-30)
	}
	return r, nil
}

// argmax is the index of the largest value (the first on ties): a row's
// predicted class.
func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// meanKL is the mean over rows of KL(softmax(p) ‖ softmax(q)), rows of
// length c, in float64.
func meanKL(p, q []float32, c int) float64 {
	rows := len(p) / c
	total := 0.0
	for r := range rows {
		lp, lq := logSoftmax(p[r*c:(r+1)*c]), logSoftmax(q[r*c:(r+1)*c])
		kl := 0.0
		for i := range lp {
			kl += math.Exp(lp[i]) * (lp[i] - lq[i])
		}
		total += kl
	}
	return total / float64(rows)
}

func logSoftmax(v []float32) []float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, float64(x))
	}
	sum := 0.0
	for _, x := range v {
		sum += math.Exp(float64(x) - m)
	}
	lse := m + math.Log(sum)
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x) - lse
	}
	return out
}
