package calib

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// Budget is a lossy pass's accuracy budget, max_metric_drop: the most
// the calibration metric may fall below the float model's, absolute
// (top-1 as a fraction: 0.01 is one point; kl and rel-l2: the most they
// may rise). Every lossy pass applies it the same way: it takes the most
// aggressive setting within the budget; when none fits it leaves the
// graph unchanged and warns (NoFit), or fails if Strict.
type Budget struct {
	MaxDrop float64
	Strict  bool
	// Pos is max_metric_drop's model.yaml position, for messages.
	Pos string
}

// Fits reports whether r is within b of the set's baseline. Top-1 is
// compared in rows, so 0.01 of 100 rows allows exactly one.
func (s *Set) Fits(b Budget, r Result) bool {
	if s.base == nil {
		return false
	}
	if r.Metric == Top1 {
		return float64(s.base.Correct-r.Correct) <= b.MaxDrop*float64(s.Rows)+1e-9
	}
	return s.Drop(r) <= b.MaxDrop
}

// Trial is one setting a budget search measured.
type Trial struct {
	Setting int
	Result  Result
	Drop    float64
	Fits    bool
}

// Search measures a pass's settings from the most aggressive (n−1) down
// to 0 and returns the first that fits b, and every trial it measured;
// -1 when none fits. graph(i) returns setting i's graph, a copy (the
// pass's graph stays as it is until it commits to a setting). Call
// Baseline first.
func (s *Set) Search(b Budget, n int, graph func(i int) (*ir.Graph, error)) (int, []Trial, error) {
	var trials []Trial
	for i := n - 1; i >= 0; i-- {
		g, err := graph(i)
		if err != nil {
			return -1, trials, err
		}
		r, err := s.Measure(g, fmt.Sprintf("calibration: setting %d of %d", i+1, n))
		if err != nil {
			return -1, trials, err
		}
		t := Trial{Setting: i, Result: r, Drop: s.Drop(r), Fits: s.Fits(b, r)}
		trials = append(trials, t)
		if t.Fits {
			return i, trials, nil
		}
	}
	return -1, trials, nil
}

// NoFit is the outcome when no setting fits the budget: with Strict an
// error at max_metric_drop's position; otherwise nil, and the pass
// leaves the graph unchanged, warns with why, and reports it.
func (b Budget) NoFit(why string) error {
	if b.Strict {
		return &BudgetError{Pos: b.Pos, Msg: fmt.Sprintf("max_metric_drop %g: %s (strict: true)", b.MaxDrop, why)}
	}
	return nil
}

// BudgetError is a strict budget that no setting meets.
type BudgetError struct{ Pos, Msg string }

func (e *BudgetError) Error() string {
	if e.Pos == "" {
		return e.Msg
	}
	return e.Pos + ": " + e.Msg
}

// At returns the error's position and message apart, so a caller can
// name the pass between them.
func (e *BudgetError) At() (pos, msg string) { return e.Pos, e.Msg }
