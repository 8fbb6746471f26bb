package ir

import (
	"fmt"
	"slices"
	"strings"
)

// MemoryPlan says where each intermediate value lives. Values that are
// views of another value's bytes (reshape and flatten of row-major data)
// share its buffer; graph inputs and outputs are the caller's memory;
// everything else gets a buffer in one arena. Sizes are affine in the
// batch N, so the generated New lays the arena out for its max batch with
// runtime's planner, from the lifetimes recorded here.
type MemoryPlan struct {
	Buffers []*Buffer
	// Of maps every non-constant value to its buffer.
	Of map[*Value]*Buffer
	// Steps is the number of nodes; lifetimes index them.
	Steps int
}

// Buffer is one region of memory and the values stored in it.
type Buffer struct {
	Values      []*Value // the defining value first, then its views
	Bytes       Dim      // size, affine in N
	First, Last int      // steps during which it is live (inclusive)
	Input       bool     // a graph input: caller's memory
	Output      bool     // holds a graph output: caller's memory
}

// Arena reports whether the buffer lives in the model's arena.
func (b *Buffer) Arena() bool { return !b.Input && !b.Output }

// PeakBytes is the lower bound on the arena at batch n: the largest sum
// of arena buffers live at one step. It sweeps the buffers' start and end
// events in order, O(b log b) for b buffers, so a plan of many thousand
// steps costs no more than its sort.
func (p *MemoryPlan) PeakBytes(n int) int {
	type event struct{ at, delta int }
	var ev []event
	for _, b := range p.Buffers {
		if b.Arena() {
			size := b.Bytes.At(n)
			ev = append(ev, event{b.First, size}, event{b.Last + 1, -size})
		}
	}
	// At one step, releases first: a buffer ending at step s-1 and one
	// starting at s are never live together.
	slices.SortFunc(ev, func(x, y event) int {
		if x.at != y.at {
			return x.at - y.at
		}
		return x.delta - y.delta
	})
	live, peak := 0, 0
	for _, e := range ev {
		live += e.delta
		peak = max(peak, live)
	}
	return peak
}

// String prints the plan, one buffer a line, for reports and tests.
func (p *MemoryPlan) String() string {
	var sb strings.Builder
	for i, b := range p.Buffers {
		where := "arena"
		switch {
		case b.Input:
			where = "input"
		case b.Output:
			where = "output"
		}
		names := make([]string, len(b.Values))
		for j, v := range b.Values {
			names[j] = "%" + v.Name
		}
		fmt.Fprintf(&sb, "buf%-3d %-6s %10s bytes  steps %d..%d  %s\n", i, where, b.Bytes, b.First, b.Last, strings.Join(names, " "))
	}
	return sb.String()
}
