package main

import (
	"fmt"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/limits"
	"github.com/modelc/modelc/ir"
)

// checkBatch validates a batch flag (--batch, --max-batch): at least 1 and
// at most limits.Batch; zero means unset where unset is allowed.
func checkBatch(flag string, v int, unsetOK bool) error {
	if v == 0 && unsetOK {
		return nil
	}
	if v < 1 || v > limits.Batch {
		return usageError{fmt.Sprintf("%s %d: want a batch from 1 to %d", flag, v, limits.Batch)}
	}
	return nil
}

// checkSampleInputs bounds the seeded inputs modelc run --batch makes as a
// data file is bounded (limits.DataBytes).
func checkSampleInputs(m *frontend.Model, batch int) error {
	total := 0.0
	for _, v := range m.Graph.Inputs {
		n := 4.0 // float32, as the evaluator holds floats
		if !v.Type.DType.IsFloat() {
			n = 8
		}
		for _, d := range v.Type.Shape {
			n *= float64(d.A)*float64(batch) + float64(d.B)
		}
		total += n
	}
	if total > limits.DataBytes {
		return usageError{fmt.Sprintf("--batch %d: the inputs would take %s, over the limit of %s for data (limits.DataBytes)", batch, limits.Size(total), limits.Size(limits.DataBytes))}
	}
	return nil
}

// checkEval bounds the reference evaluator's memory at batch as checkArena
// bounds a generated package's: by a lower bound, the largest step's
// inputs and outputs together, against limits.ArenaBytes.
func checkEval(m *frontend.Model, batch int) error {
	bytes := func(v *ir.Value) float64 {
		n := 4.0
		if !v.Type.DType.IsFloat() {
			n = 8
		}
		for _, d := range v.Type.Shape {
			n *= float64(d.A)*float64(batch) + float64(d.B)
		}
		return n
	}
	for _, n := range m.Graph.Nodes {
		total := 0.0
		for _, v := range append(append([]*ir.Value(nil), n.Inputs...), n.Outputs...) {
			total += bytes(v)
		}
		if total > limits.ArenaBytes {
			v := n.Outputs[0]
			return fmt.Errorf("%s: at batch %d the step computing %q (%s) needs at least %s, over the limit of %s (limits.ArenaBytes); lower the batch",
				m.Where(v.Name), batch, v.Name, ir.FormatType(v.Type), limits.Size(total), limits.Size(limits.ArenaBytes))
		}
	}
	return nil
}
