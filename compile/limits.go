package compile

import (
	"fmt"
	"sort"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/limits"
	"github.com/modelc/modelc/ir"
)

// CheckArena bounds the generated package's intermediate memory at its max
// batch (limits.ArenaBytes) before any code is generated: the memory
// plan's lower bound, the most bytes live at one step, computed in float64
// so that no size overflows. The error names the largest buffer's value
// and the layer that makes it.
func CheckArena(m *frontend.Model, plan *ir.MemoryPlan, maxBatch int) error {
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
		b = codegen.HeldBuffer(b) // as the generated package sizes it
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

// CheckConsts bounds the constants a generated package holds after the
// passes (limits.ConstBytes): weights.bin's arrays and the splats New
// fills, 4 bytes per float element and 8 per integer, as generated code
// holds them. The frontends bound the weights a model file brings; this
// bound also counts what they cannot see: a ConstantOfShape is a few
// bytes of ONNX and 2²⁸ elements at New.
func CheckConsts(m *frontend.Model, g *ir.Graph) error {
	total := 0.0
	for _, v := range g.Consts {
		n := 4.0
		if !v.Type.DType.IsFloat() {
			n = 8
		}
		for _, d := range v.Const.Shape {
			n *= float64(d)
		}
		if total += n; total > limits.ConstBytes {
			return fmt.Errorf("%s: constant %q (%s) brings the package's constants to %s, over the limit of %s (limits.ConstBytes)",
				m.Where(v.Name), v.Name, ir.FormatType(v.Type), limits.Size(total), limits.Size(limits.ConstBytes))
		}
	}
	return nil
}
