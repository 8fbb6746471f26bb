package passes

import (
	"fmt"
	"sort"
	"strings"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/ir"
)

// Phase places a pass in the pipeline.
type Phase int

const (
	// Prepare passes always run first: they put the graph in canonical form.
	Prepare Phase = iota
	// User passes run when model.yaml names them, or, for a Default pass,
	// unless it excludes them.
	User
	// Lower passes always run last: they prepare the graph for codegen.
	Lower
)

// Pass is one row of the registry.
type Pass struct {
	Name    string // kebab-case; shared by model.yaml, --print-after and REPORT.md
	Summary string
	Phase   Phase
	// Exact passes preserve the graph's results up to float rounding; the
	// pipeline can check it by evaluating before and after (VerifyExact).
	Exact bool
	// Default user passes run in every build unless model.yaml's
	// exclude_passes (or --exclude-passes) names them. Only exact passes
	// may be defaults: a build must not lose accuracy unasked.
	Default bool
	// Options lists the option names the pass accepts from model.yaml.
	Options []string
	Run     func(c *Context, opts Options) (Stats, error)
}

// Context is what a pass works on.
type Context struct {
	Graph *ir.Graph
	// Plan is set by memory-plan.
	Plan *ir.MemoryPlan
	// Calib loads the calibration data lossy passes measure on; nil means
	// seeded samples of the graph's inputs (see Calibration).
	Calib calib.Loader
	// Test loads labelled held-out data (model.yaml's test: with labels)
	// that lossy passes report their metric on; nil or a nil set: none.
	Test calib.Loader

	set      *calib.Set
	report   strings.Builder
	warnings []string
}

// Calibration returns the pipeline's calibration set, loading it on first
// use; every pass of a run shares it (and so its float baseline).
func (c *Context) Calibration() (*calib.Set, error) {
	if c.set != nil {
		return c.set, nil
	}
	var err error
	if c.Calib != nil {
		c.set, err = c.Calib()
	} else {
		c.set = calib.Seeded(c.Graph, calib.DefaultSeededRows, calib.DefaultSeed)
	}
	return c.set, err
}

// Baselines are what a lossy pass measures against: the calibration set
// and the float model's metric on it, and the labelled test set (nil
// without one) with its metric.
type Baselines struct {
	Set      *calib.Set
	Base     calib.Result
	Test     *calib.Set
	TestBase calib.Result
}

// baselines loads the calibration and test sets and measures g on them
// (calib.Set.Baseline: the first lossy pass of a pipeline fixes them).
func (c *Context) baselines(g *ir.Graph) (Baselines, error) {
	var b Baselines
	var err error
	if b.Set, err = c.Calibration(); err != nil {
		return b, err
	}
	if b.Base, err = b.Set.Baseline(g); err != nil {
		return b, err
	}
	if c.Test != nil {
		if b.Test, err = c.Test(); err != nil {
			return b, err
		}
		if b.Test != nil {
			if b.TestBase, err = b.Test.Baseline(g); err != nil {
				return b, err
			}
		}
	}
	return b, nil
}

// Reportf appends markdown to the running pass's section of REPORT.md.
func (c *Context) Reportf(format string, args ...any) {
	fmt.Fprintf(&c.report, format, args...)
}

// Warnf records a warning the build prints and REPORT.md keeps.
func (c *Context) Warnf(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// Stats counts what a pass did, for REPORT.md ("folded": 3, ...).
type Stats map[string]int

func (s Stats) String() string {
	if len(s) == 0 {
		return "no changes"
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, s[k])
	}
	return strings.Join(parts, ", ")
}

// replaceUses makes every reader of old read nv instead.
func replaceUses(g *ir.Graph, old, nv *ir.Value) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = nv
			}
		}
	}
	for i, v := range g.Outputs {
		if v == old {
			g.Outputs[i] = nv
		}
	}
}

func isOutput(g *ir.Graph, v *ir.Value) bool {
	for _, o := range g.Outputs {
		if o == v {
			return true
		}
	}
	return false
}

// removeNodes drops the marked nodes, keeping the order of the rest.
func removeNodes(g *ir.Graph, dead map[*ir.Node]bool) {
	if len(dead) == 0 {
		return
	}
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if !dead[n] {
			kept = append(kept, n)
		}
	}
	for i := len(kept); i < len(g.Nodes); i++ {
		g.Nodes[i] = nil
	}
	g.Nodes = kept
}
