package main

import (
	"fmt"
	"sort"

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

// checkArena bounds the generated package's intermediate memory at its max
// batch (limits.ArenaBytes) before any code is generated: the memory
// plan's lower bound, the most bytes live at one step, computed in float64
// so that no size overflows. The error names the largest buffer's value
// and the layer that makes it.
func checkArena(m *frontend.Model, plan *ir.MemoryPlan, maxBatch int) error {
	type event struct {
		at    int
		bytes float64
	}
	var ev []event
	var largest *ir.Buffer
	for _, b := range plan.Buffers {
		if !b.Arena() {
			continue
		}
		size := float64(b.Bytes.A)*float64(maxBatch) + float64(b.Bytes.B)
		ev = append(ev, event{b.First, size}, event{b.Last + 1, -size})
		if largest == nil || size > float64(largest.Bytes.A)*float64(maxBatch)+float64(largest.Bytes.B) {
			largest = b
		}
	}
	sort.Slice(ev, func(i, j int) bool {
		if ev[i].at != ev[j].at {
			return ev[i].at < ev[j].at
		}
		return ev[i].bytes < ev[j].bytes
	})
	live, peak := 0.0, 0.0
	for _, e := range ev {
		live += e.bytes
		peak = max(peak, live)
	}
	if peak <= limits.ArenaBytes {
		return nil
	}
	v := largest.Values[0]
	return fmt.Errorf("%s: value %q (%s, %s per sample) and the values live with it need at least %s at max batch %d, over the limit of %s for the arena (limits.ArenaBytes); lower --max-batch or the model's sizes",
		m.Where(v.Name), v.Name, ir.FormatType(v.Type), limits.Size(float64(largest.Bytes.A)), limits.Size(peak), maxBatch, limits.Size(limits.ArenaBytes))
}

// checkSampleInputs bounds the seeded inputs modelc run --batch makes as a
// data file is bounded (limits.DataBytes).
func checkSampleInputs(m *frontend.Model, batch int) error {
	total := 0.0
	for _, v := range m.Graph.Inputs {
		n := 8.0
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
