// Package calib is the calibration machinery every lossy pass shares
// (attention-drop now; quantize and kronecker next): it loads model.yaml's
// calibration: data, runs the reference evaluator (ir.Eval, float64
// accumulation, so a pass decides the same on every machine) over it in
// batches with a progress bar, and answers "what is the metric of this
// graph" and "does this setting fit the accuracy budget".
//
// A Set holds the rows. Its metric is top-1 against labels when the data
// has them, otherwise the mean KL divergence (or relative L2 error) of
// the graph's first output against the float model's, the graph the
// first lossy pass received (Baseline fixes it). A pass uses a Set three
// ways:
//
//   - Capture/Run: evaluate a graph batch by batch and look at chosen
//     values or every node's results (scores, activation ranges);
//   - Baseline and Measure: the metric before and after a rewrite;
//   - Budget.Search: the most aggressive of a pass's settings whose
//     metric stays within max_metric_drop of the baseline; when none
//     does, the pass leaves the graph unchanged and warns, or fails with
//     strict: true (Budget.NoFit).
//
// A model without calibration: data (the zoo architectures, which have
// random weights) calibrates on Seeded rows: DefaultSeededRows samples of
// each input's type, N(0, 1) floats and token ids uniform below the
// vocabulary (ir.SampleInputs), seed DefaultSeed. The package knows
// model.yaml only through Files: the compile driver reads the model's
// calibration: and test: into them (compile.Calibration).
package calib

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/modelc/modelc/ir"
)

// Metrics a Set can score a graph by.
const (
	Top1  = "top1"   // fraction of rows whose argmax is the label; higher is better
	KL    = "kl"     // mean KL(float ‖ graph) of the softmax over the last axis; lower is better
	RelL2 = "rel-l2" // ‖graph − float‖₂ / ‖float‖₂ over the first output; lower is better
)

// DefaultSeededRows and DefaultSeed make the calibration rows of a model
// without calibration: data.
const (
	DefaultSeededRows = 8
	DefaultSeed       = 1
)

// DefaultBatch is how many rows one ir.Eval call takes.
const DefaultBatch = 32

// Set is a model's calibration data.
type Set struct {
	// Inputs holds the rows, one batch-major tensor per graph input.
	Inputs []*ir.Tensor
	// Labels has one class per row, or is nil.
	Labels []int64
	Rows   int
	// Metric is Top1, KL or RelL2.
	Metric string
	// Source says where the rows came from, for reports.
	Source string
	// Pos is calibration:'s model.yaml position ("model.yaml:9:14"), or
	// the model file for seeded rows; errors about the data name it.
	Pos string
	// Batch is the rows per evaluation (DefaultBatch if 0).
	Batch int
	// Progress, if set, gets a progress bar per evaluation.
	Progress io.Writer

	base    *Result
	refOuts *ir.Tensor // the float model's first output on all rows (KL, rel-l2)
	// fixed is the batch of a model whose inputs have a static first
	// dimension (an ONNX export without a dynamic batch): it evaluates
	// that many rows at a time. 0: the batch is N.
	fixed int
}

// Loader returns a calibration set when a pass first asks for one.
type Loader func() (*Set, error)

// Once wraps a loader so that it loads once (later calls return the
// same set or error).
func Once(l Loader) Loader {
	var s *Set
	var err error
	done := false
	return func() (*Set, error) {
		if !done {
			done = true
			s, err = l()
		}
		return s, err
	}
}

// Terminal is os.Stderr when it is a terminal, else nil (no progress
// bars in logs, pipes and tests).
func Terminal() io.Writer {
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		return os.Stderr
	}
	return nil
}

// Files names a model's data files as model.yaml's calibration: (or
// test:) does, and how to read them; Load reads them into a Set. The
// compile driver fills it from the model (compile.Calibration).
type Files struct {
	// What is "calibration" or "test", Pos its model.yaml position
	// ("model.yaml:9:14"): errors about the data name both.
	What, Pos string
	// Inputs are .npy/.npz files whose arrays, in order, are the graph's
	// inputs; Labels one array of class ids (optional).
	Inputs, Labels []string
	// Metric is top1, kl or rel-l2 ("": top1 with labels, kl without).
	Metric string
	// Read returns the arrays of a file named relative to the model.
	Read func(rel string) ([]*ir.Tensor, error)
}

// Load reads f's files and checks them against g's inputs.
func Load(g *ir.Graph, f Files) (*Set, error) {
	read := func(files []string) ([]*ir.Tensor, error) {
		var ts []*ir.Tensor
		for _, name := range files {
			t, err := f.Read(name)
			if err != nil {
				if !strings.HasPrefix(err.Error(), name) {
					err = fmt.Errorf("%s: %w", name, err)
				}
				return nil, fmt.Errorf("%s: %s: %w", f.Pos, f.What, err)
			}
			ts = append(ts, t...)
		}
		return ts, nil
	}
	ins, err := read(f.Inputs)
	if err != nil {
		return nil, err
	}
	var labels *ir.Tensor
	if len(f.Labels) > 0 {
		ls, err := read(f.Labels)
		if err != nil {
			return nil, err
		}
		if len(ls) != 1 {
			return nil, fmt.Errorf("%s: %s: labels: want one array of class ids, got %d arrays", f.Pos, f.What, len(ls))
		}
		labels = ls[0]
	}
	s, err := New(g, ins, labels, f.Metric)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", f.Pos, f.What, err)
	}
	s.Pos = f.Pos
	s.Source = fmt.Sprintf("%s: %s (%d rows", f.What, strings.Join(f.Inputs, ", "), s.Rows)
	if labels != nil {
		s.Source += ", labels " + strings.Join(f.Labels, ", ")
	}
	s.Source += ")"
	return s, nil
}

// New makes a set from rows for g's inputs (one tensor each, in g.Inputs
// order, each with the same number of rows and the input's shape
// otherwise) and optional labels (integers, one per row). metric ""
// means top1 with labels, kl without.
func New(g *ir.Graph, inputs []*ir.Tensor, labels *ir.Tensor, metric string) (*Set, error) {
	if len(inputs) != len(g.Inputs) {
		return nil, fmt.Errorf("%d input arrays, the model has %d inputs (%s)", len(inputs), len(g.Inputs), inputNames(g))
	}
	inputs = append([]*ir.Tensor(nil), inputs...)
	rows, fixed := -1, 0
	for i, v := range g.Inputs {
		t := inputs[i]
		if len(t.Shape) == 0 || v.Type.Shape.Rank() == 0 {
			return nil, fmt.Errorf("input %s: a scalar, want %s with rows first", v.Name, ir.FormatType(v.Type))
		}
		if rows < 0 {
			rows = t.Shape[0]
		} else if t.Shape[0] != rows {
			return nil, fmt.Errorf("input %s has %d rows, input %s %d", v.Name, t.Shape[0], g.Inputs[0].Name, rows)
		}
		if rows == 0 {
			return nil, fmt.Errorf("input %s: no rows", v.Name)
		}
		want := v.Type.Shape.At(rows)
		switch d0 := v.Type.Shape[0]; {
		case d0.Static():
			// A fixed batch: rows go in groups of it.
			fixed = d0.B
			want[0] = rows
			if rows%fixed != 0 {
				return nil, fmt.Errorf("input %s: %d rows, want a multiple of its fixed batch %d", v.Name, rows, fixed)
			}
		case d0 != ir.N:
			return nil, fmt.Errorf("input %s: its first dimension %s is not the batch N", v.Name, ir.FormatType(v.Type))
		}
		if !slices.Equal(t.Shape, want) {
			return nil, fmt.Errorf("input %s: shape %v does not fit %s (want %v)", v.Name, t.Shape, ir.FormatType(v.Type), want)
		}
		switch {
		case t.DType == v.Type.DType:
		case !t.DType.IsFloat() && !v.Type.DType.IsFloat():
			// Token ids saved as int32 feed an int64 input.
			inputs[i] = &ir.Tensor{DType: v.Type.DType, Shape: t.Shape, I: t.Dense().I}
		default:
			return nil, fmt.Errorf("input %s: %s data for a %s input", v.Name, t.DType, v.Type.DType)
		}
	}
	s := &Set{Inputs: inputs, Rows: rows, Metric: metric, fixed: fixed}
	if labels != nil {
		if labels.DType.IsFloat() || len(labels.Shape) != 1 {
			return nil, fmt.Errorf("labels: want a 1-D array of integer class ids, got %s%v", labels.DType, labels.Shape)
		}
		if labels.Shape[0] != rows {
			return nil, fmt.Errorf("%d labels for %d input rows", labels.Shape[0], rows)
		}
		s.Labels = labels.Dense().I
		for i, y := range s.Labels {
			if y < 0 {
				return nil, fmt.Errorf("labels: row %d has class %d, want ≥ 0", i, y)
			}
		}
	}
	switch {
	case s.Metric == "" && s.Labels != nil:
		s.Metric = Top1
	case s.Metric == "":
		s.Metric = KL
	case s.Metric == Top1 && s.Labels == nil:
		return nil, fmt.Errorf("metric top1 needs labels")
	case s.Metric != Top1 && s.Metric != KL && s.Metric != RelL2:
		return nil, fmt.Errorf("unknown metric %q (want top1, kl or rel-l2)", s.Metric)
	}
	return s, nil
}

// Seeded makes rows samples of g's input types (ir.SampleInputs with
// seed), without labels: the metric is kl. A model with a fixed batch
// gets one batch of it.
func Seeded(g *ir.Graph, rows int, seed uint64) *Set {
	ins := ir.SampleInputs(g, rows, seed)
	if len(ins) > 0 && len(ins[0].Shape) > 0 {
		rows = ins[0].Shape[0]
	}
	s := &Set{Inputs: ins, Rows: rows, Metric: KL}
	if len(g.Inputs) > 0 && g.Inputs[0].Type.Shape.Rank() > 0 && g.Inputs[0].Type.Shape[0].Static() {
		s.fixed = rows
	}
	s.Source = fmt.Sprintf("seeded samples of the input types (%d rows, seed %d; the model has no calibration: data)", rows, seed)
	return s
}

func inputNames(g *ir.Graph) string {
	var names []string
	for _, v := range g.Inputs {
		names = append(names, v.Name+" "+ir.FormatType(v.Type))
	}
	return strings.Join(names, ", ")
}

// rowsOf returns rows [lo, hi) of a batch-major tensor (a view).
func rowsOf(t *ir.Tensor, lo, hi int) *ir.Tensor {
	t = t.Dense()
	row := t.Numel() / t.Shape[0]
	shape := append([]int{hi - lo}, t.Shape[1:]...)
	out := &ir.Tensor{DType: t.DType, Shape: shape}
	if t.F != nil {
		out.F = t.F[lo*row : hi*row]
	} else {
		out.I = t.I[lo*row : hi*row]
	}
	return out
}

func (s *Set) batch() int {
	if s.fixed > 0 {
		return s.fixed
	}
	if s.Batch > 0 {
		return s.Batch
	}
	return DefaultBatch
}
