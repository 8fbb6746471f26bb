package autotune

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/modelc/modelc/autotune/db"
	"github.com/modelc/modelc/ir"
)

// Task is one kernel to tune at one batch: the kernel, the rows it sees
// (the model's batch times the rows per sample) and the layers that run
// it.
type Task struct {
	Kernel Kernel
	Batch  int // the model's batch
	Rows   int // rows the kernel computes at that batch
	Layers []string
}

// Bucket is the database's batch bucket of the task: that of its rows.
func (t Task) Bucket() string { return db.Bucket(t.Rows) }

func (t Task) String() string {
	return fmt.Sprintf("%s %s batch %d (%d rows; %s)", t.Kernel.Family(), t.Kernel.Shape(), t.Batch, t.Rows, strings.Join(t.Layers, ", "))
}

// KernelTier maps a machine's runtime tier to the tier of the kernels its
// generated packages run.
func KernelTier(machineTier string) string {
	switch machineTier {
	case "avx512", "vnni":
		return "avx512"
	case "avx2":
		return "avx2"
	case "neon", "dotprod":
		return "neon"
	}
	return "generic"
}

// Tasks lists the kernels of a compiled graph that have a variant space,
// one task per distinct kernel, shape and batch bucket, the one with the
// most FLOPs first; untuned names the nodes whose kernels have none yet
// (they keep codegen's defaults), by op.
func Tasks(g *ir.Graph, tier string, batches []int) (tasks []Task, untuned map[string][]string) {
	untuned = map[string][]string{}
	byKey := map[string]int{}
	for _, n := range g.Nodes {
		if n.Op.Kind() != ir.KLinear {
			if tunable(n.Op.Kind()) {
				untuned[n.Op.Kind().String()] = append(untuned[n.Op.Kind().String()], n.Name)
			}
			continue
		}
		x, w := n.Inputs[0].Type.Shape, n.Inputs[1].Type.Shape
		rows, ok := x[:x.Rank()-1].NumelDim()
		if w.Rank() != 2 || !w.Static() || !ok {
			untuned["linear"] = append(untuned["linear"], n.Name)
			continue
		}
		l := Linear{N: w[0].B, K: w[1].B, Tier: tier}
		for _, b := range batches {
			t := Task{Kernel: l, Batch: b, Rows: rows.At(b)}
			key := l.Family() + " " + l.Shape() + " " + t.Bucket()
			if i, ok := byKey[key]; ok {
				tasks[i].Layers = append(tasks[i].Layers, n.Name)
				continue
			}
			byKey[key] = len(tasks)
			t.Layers = []string{n.Name}
			tasks = append(tasks, t)
		}
	}
	sort.SliceStable(tasks, func(i, j int) bool {
		return tasks[i].Kernel.FLOPs(tasks[i].Rows)*float64(len(tasks[i].Layers)) > tasks[j].Kernel.FLOPs(tasks[j].Rows)*float64(len(tasks[j].Layers))
	})
	return tasks, untuned
}

// tunable reports whether nodes of kind k run a kernel a tuner could
// choose variants of (the others are data movement and element-wise
// loops with nothing to choose).
func tunable(k ir.Kind) bool {
	switch k {
	case ir.KGemm, ir.KConv2D, ir.KConvTranspose2D, ir.KAttention, ir.KLayerNorm, ir.KBatchNorm:
		return true
	}
	return false
}

// Options configure Tune.
type Options struct {
	Runner *Runner // started (Runner.Start)
	// DB is the database file (default: the target machine's,
	// db.DefaultPath); it must be the target machine's.
	DB string
	// Budget is the time Tune may take (default 5 minutes).
	Budget time.Duration
	// BatchSize is how many variants one harness holds (default 16).
	BatchSize int
	Seed      uint64
	// Progress, when set, shows a progress bar there.
	Progress io.Writer
	// Log, when set, receives a line per event worth a user's notice.
	Log func(format string, args ...any)
}

// Result is what Tune did for one task.
type Result struct {
	Task     Task
	Strategy string // "exhaustive" or "model-guided"
	Space    int    // variants in the space
	Measured int    // variants measured (with earlier runs')
	Failed   int
	Default  db.Record // the default variant's record (zero when not measured)
	Best     db.Record // the fastest usable record
	Done     bool      // the strategy has nothing more to measure
}

// Gain is the default's time over the best's (1 when either is missing).
func (r Result) Gain() float64 {
	if r.Default.MedianNs > 0 && r.Best.MedianNs > 0 {
		return r.Default.MedianNs / r.Best.MedianNs
	}
	return 1
}

// Tune measures the tasks' variants within opts.Budget, writing every
// batch of measurements to the database as it completes, so that an
// interruption (ctx cancelled: Ctrl-C) keeps what was measured and a
// rerun resumes: variants already in the database are not measured
// again. The search ranks variants by the 10th percentile of their
// samples (other processes only ever slow a sample down, so the fast tail
// is the kernel's own speed; tinygrad's BEAM takes the minimum for the
// same reason); the choice a build makes is Choices' noise rule. It
// returns one result per task and ctx's error if it was cancelled.
func Tune(ctx context.Context, tasks []Task, opts Options) ([]Result, *db.DB, error) {
	r := opts.Runner
	if r == nil || r.probe == nil {
		return nil, nil, errors.New("autotune: Tune needs a started Runner")
	}
	if opts.Budget <= 0 {
		opts.Budget = 5 * time.Minute
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 16
	}
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			opts.Log(format, args...)
		}
	}
	machine := r.probe.Machine
	path := opts.DB
	if path == "" {
		p, err := db.DefaultPath(machine)
		if err != nil {
			return nil, nil, err
		}
		path = p
	}
	d, err := db.Open(path, db.Options{Machine: machine})
	if err != nil {
		return nil, nil, err
	}
	for _, p := range d.ProblemLines() {
		logf("%s", p)
	}
	start := time.Now()
	deadline := start.Add(opts.Budget)
	var bar *progressbar.ProgressBar
	if opts.Progress != nil {
		bar = progressbar.NewOptions(len(tasks), progressbar.OptionSetWriter(opts.Progress),
			progressbar.OptionSetWidth(20), progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(false),
			progressbar.OptionFullWidth(), progressbar.OptionSetElapsedTime(false),
			progressbar.OptionClearOnFinish())
		defer bar.Finish()
	}
	results := make([]Result, len(tasks))
	for ti, t := range tasks {
		k := t.Kernel
		sp := k.Space()
		res := &results[ti]
		res.Task, res.Space = t, sp.Size()
		strat := Choose(sp, k.Default(), opts.Seed+uint64(ti))
		res.Strategy = "model-guided"
		if _, ok := strat.(*Exhaustive); ok {
			res.Strategy = "exhaustive"
		}
		// Resume: what earlier runs measured.
		for _, rec := range d.Find(k.Family(), k.Shape(), t.Bucket()) {
			if p, err := sp.Parse(rec.Variant); err == nil {
				strat.Tell(p, rec.P10Ns, rec.Status != db.StatusOK)
			}
		}
		// This task's share of the time left: an equal part of what the
		// tasks after it have not used, less the final confirmation.
		share := time.Until(deadline) / time.Duration(len(tasks)-ti)
		taskEnd := time.Now().Add(share * 4 / 5)
		measuredNow := 0
		for {
			if err := ctx.Err(); err != nil {
				res.summarise(d, k, t)
				return results, d, err
			}
			if time.Now().After(taskEnd) {
				break
			}
			vs := strat.Next(opts.BatchSize)
			if len(vs) == 0 {
				res.Done = true
				break
			}
			recs, err := r.Measure(ctx, k, t.Rows, vs)
			if err != nil {
				if ctx.Err() != nil {
					res.summarise(d, k, t)
					return results, d, ctx.Err()
				}
				return results, d, fmt.Errorf("tuning %s: %w", t, err)
			}
			for i, rec := range recs {
				strat.Tell(vs[i], rec.P10Ns, rec.Status != db.StatusOK)
			}
			measuredNow += len(recs)
			if d, err = db.Update(path, machine, recs); err != nil {
				return results, d, err
			}
			res.summarise(d, k, t)
			if bar != nil {
				bar.Describe(progressLine(ti, len(tasks), res, time.Until(deadline)))
			}
		}
		res.summarise(d, k, t)
		// Confirm: the default and the fastest few, again, in one harness
		// and interleaved, so that the choice between them is not drift
		// between batches measured minutes apart.
		// (Not when a rerun found the task done: it was confirmed then.)
		if vs := confirmSet(d, k, t, 3); measuredNow > 0 && len(vs) > 1 && ctx.Err() == nil {
			cr := *r
			cr.Rounds = 2 * max(r.Rounds, 5)
			recs, err := cr.Measure(ctx, k, t.Rows, vs)
			if err != nil {
				if ctx.Err() != nil {
					return results, d, ctx.Err()
				}
				return results, d, fmt.Errorf("tuning %s: %w", t, err)
			}
			if d, err = db.Update(path, machine, recs); err != nil {
				return results, d, err
			}
			res.summarise(d, k, t)
		}
		if bar != nil {
			bar.Describe(progressLine(ti, len(tasks), res, time.Until(deadline)))
			bar.Add(1)
		} else {
			logf("kernel %d of %d: %s", ti+1, len(tasks), progressLine(ti, len(tasks), res, time.Until(deadline)))
		}
	}
	return results, d, nil
}

// confirmSet returns the default and the n fastest usable variants of a
// task measured so far (by their 10th percentiles, as the search ranks).
func confirmSet(d *db.DB, k Kernel, t Task, n int) []Point {
	sp := k.Space()
	def := k.Default()
	out := []Point{def}
	var ok []db.Record
	for _, rec := range d.Find(k.Family(), k.Shape(), t.Bucket()) {
		if rec.Usable() && rec.Variant != sp.Name(def) {
			ok = append(ok, rec)
		}
	}
	slices.SortFunc(ok, func(a, b db.Record) int { return cmp.Compare(a.P10Ns, b.P10Ns) })
	for _, rec := range ok[:min(n, len(ok))] {
		if p, err := sp.Parse(rec.Variant); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// progressLine is the progress bar's description: the kernel, the best so
// far against the default, and the time left.
func progressLine(i, n int, r *Result, left time.Duration) string {
	best := "no variant yet"
	if r.Best.MedianNs > 0 {
		best = fmt.Sprintf("best %s %.2f× default", r.Best.Variant, r.Gain())
	}
	return fmt.Sprintf("%s %s b%s %d/%d measured, %s, %v left", r.Task.Kernel.Family(), r.Task.Kernel.Shape(), r.Task.Bucket(),
		r.Measured, r.Space, best, max(0, left).Round(time.Second))
}

// summarise fills r's counts and best from the database.
func (r *Result) summarise(d *db.DB, k Kernel, t Task) {
	recs := d.Find(k.Family(), k.Shape(), t.Bucket())
	r.Measured, r.Failed = len(recs), 0
	def := k.Space().Name(k.Default())
	for _, rec := range recs {
		if rec.Status != db.StatusOK {
			r.Failed++
		}
		if rec.Variant == def {
			r.Default = rec
		}
	}
	r.Best, _ = d.Best(k.Family(), k.Shape(), t.Bucket())
}

// Summary renders results as a markdown table.
func Summary(results []Result) string {
	var b strings.Builder
	b.WriteString("| kernel | shape | batch (rows) | layers | strategy | measured | failed | default | best | variant | gain |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range results {
		if r.Task.Kernel == nil {
			continue
		}
		us := func(rec db.Record) string {
			if rec.MedianNs <= 0 {
				return "–"
			}
			return fmt.Sprintf("%.1f µs", rec.MedianNs/1e3)
		}
		layers := r.Task.Layers
		if len(layers) > 3 {
			layers = append(slices.Clone(layers[:3]), fmt.Sprintf("+%d", len(r.Task.Layers)-3))
		}
		fmt.Fprintf(&b, "| %s | %s | %d (%d) | %s | %s | %d of %d | %d | %s | %s | %s | %.2f× |\n",
			r.Task.Kernel.Family(), r.Task.Kernel.Shape(), r.Task.Batch, r.Task.Rows, strings.Join(layers, ", "), r.Strategy,
			r.Measured, r.Space, r.Failed, us(r.Default), us(r.Best), r.Best.Variant, r.Gain())
	}
	return b.String()
}
