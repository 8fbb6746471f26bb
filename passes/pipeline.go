package passes

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
)

// ErrNotImplemented marks a pass that is designed (in the registry's
// planned list) but not implemented yet; tools that list configurations
// (make zoo-table) show such a configuration as pending.
var ErrNotImplemented = errors.New("not implemented yet")

// Spec is one user pass as model.yaml names it (or one entry of
// exclude_passes, which has no options).
type Spec struct {
	Name    string
	Options map[string]any
	Pos     string // "model.yaml:12:5", for messages
	// OptionPos gives each option's position, for messages about its value.
	OptionPos map[string]string
}

// Pipeline is the ordered list of passes to run.
type Pipeline struct {
	steps []step
	// excluded lists the default passes the model excluded, in registry
	// order, for inspect and REPORT.md.
	excluded []string
}

type step struct {
	pass *Pass
	opts Options
	// byDefault: a default pass the model did not name.
	byDefault bool
}

// Build makes the pipeline for a model's user passes: the fixed phases
// around them, user passes in registry order, default passes (bn-fold)
// included unless exclude names them. Unknown passes, unknown options,
// duplicates, a list that breaks the order, and exclusions that name no
// default pass or a pass also listed are errors at the entry's position.
func Build(user []Spec, exclude ...Spec) (*Pipeline, error) {
	p := &Pipeline{}
	chosen := map[string]Spec{}
	lastIdx, lastName := -1, ""
	for _, s := range user {
		pass, ok := Lookup(s.Name)
		if !ok || pass.Phase != User {
			if slices.Contains(planned, s.Name) {
				return nil, fmt.Errorf("%s: pass %s is %w", s.Pos, s.Name, ErrNotImplemented)
			}
			return nil, fmt.Errorf("%s: unknown pass %q (want one of %s)", s.Pos, s.Name, strings.Join(userPassNames(), ", "))
		}
		if prev, dup := chosen[s.Name]; dup {
			return nil, fmt.Errorf("%s: pass %s is already listed at %s", s.Pos, s.Name, prev.Pos)
		}
		idx := slices.IndexFunc(All, func(q Pass) bool { return q.Name == s.Name })
		if idx < lastIdx {
			return nil, fmt.Errorf("%s: pass %s must come before %s (the pipeline runs %s first)", s.Pos, s.Name, lastName, s.Name)
		}
		for k := range s.Options {
			if !slices.Contains(pass.Options, k) {
				if len(pass.Options) == 0 {
					return nil, fmt.Errorf("%s: pass %s takes no options, got %q", s.Pos, s.Name, k)
				}
				return nil, fmt.Errorf("%s: pass %s has no option %q (want %s)", s.Pos, s.Name, k, strings.Join(pass.Options, ", "))
			}
		}
		chosen[s.Name] = s
		lastIdx, lastName = idx, s.Name
	}
	excluded := map[string]Spec{}
	for _, s := range exclude {
		pass, ok := Lookup(s.Name)
		switch {
		case !ok && !slices.Contains(planned, s.Name):
			return nil, fmt.Errorf("%s: exclude_passes: unknown pass %q (default passes: %s)", s.Pos, s.Name, strings.Join(DefaultPasses(), ", "))
		case !ok || !pass.Default:
			return nil, fmt.Errorf("%s: exclude_passes: %s is not a default pass (only %s run unasked and can be excluded)", s.Pos, s.Name, strings.Join(DefaultPasses(), ", "))
		}
		if prev, dup := excluded[s.Name]; dup {
			return nil, fmt.Errorf("%s: exclude_passes: %s is already excluded at %s", s.Pos, s.Name, prev.Pos)
		}
		if u, both := chosen[s.Name]; both {
			return nil, fmt.Errorf("%s: exclude_passes: %s is also listed in passes at %s", s.Pos, s.Name, u.Pos)
		}
		excluded[s.Name] = s
	}
	for i := range All {
		pass := &All[i]
		s, named := chosen[pass.Name]
		_, off := excluded[pass.Name]
		switch {
		case pass.Phase != User:
			p.steps = append(p.steps, step{pass: pass})
		case named:
			p.steps = append(p.steps, step{pass: pass, opts: NewOptions(s.Options, s.Pos, s.OptionPos)})
		case pass.Default && !off:
			p.steps = append(p.steps, step{pass: pass, byDefault: true})
		case off:
			p.excluded = append(p.excluded, pass.Name)
		}
	}
	return p, nil
}

// DefaultPasses lists the user passes that run unless excluded.
func DefaultPasses() []string {
	var names []string
	for _, p := range All {
		if p.Default {
			names = append(names, p.Name)
		}
	}
	return names
}

// userPassNames lists the implemented user passes in registry order, then
// the planned ones.
func userPassNames() []string {
	var names []string
	for _, p := range All {
		if p.Phase == User {
			names = append(names, p.Name)
		}
	}
	for _, n := range planned {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// Names lists the passes the pipeline runs, in order.
func (p *Pipeline) Names() []string {
	var n []string
	for _, s := range p.steps {
		n = append(n, s.pass.Name)
	}
	return n
}

// Defaults lists the default passes this pipeline runs without the model
// naming them, and those it excluded.
func (p *Pipeline) Defaults() (ran, excluded []string) {
	for _, s := range p.steps {
		if s.byDefault {
			ran = append(ran, s.pass.Name)
		}
	}
	return ran, p.excluded
}

// RunOptions configures a pipeline run.
type RunOptions struct {
	// PrintAfter prints the graph after the named pass, or after every
	// pass for "all", to Out.
	PrintAfter string
	Out        io.Writer
	// VerifyExact evaluates the graph before and after every exact pass on
	// seeded inputs at batch 1 and fails if they differ (by the kernel
	// rule of design.md). Slow on big models; tests use it.
	VerifyExact bool
	// Calib and Test load the model's calibration data and labelled test
	// data for lossy passes (compile.Calibration, compile.TestSet); nil Calib
	// means seeded samples.
	Calib, Test calib.Loader
}

// Result is what a pipeline run produced.
type Result struct {
	Graph *ir.Graph
	Plan  *ir.MemoryPlan
	Log   []Entry
}

// Entry records one pass's run for REPORT.md.
type Entry struct {
	Pass     string
	Stats    Stats
	Duration time.Duration
	// Default: the pass ran because it is a default pass, not named.
	Default bool
	// Report is the pass's markdown section for REPORT.md ("" if none);
	// Warnings what the build prints (a budget no setting met).
	Report   string
	Warnings []string
}

// Run applies the pipeline to g in place.
func (p *Pipeline) Run(g *ir.Graph, o RunOptions) (*Result, error) {
	if o.PrintAfter != "" && o.PrintAfter != "all" && !slices.Contains(p.Names(), o.PrintAfter) {
		return nil, fmt.Errorf("--print-after %s: not a pass of this pipeline (have %s, or all)", o.PrintAfter, strings.Join(p.Names(), ", "))
	}
	if err := ir.Verify(g); err != nil {
		return nil, fmt.Errorf("input graph: %w", err)
	}
	c := &Context{Graph: g, Calib: o.Calib, Test: o.Test}
	res := &Result{Graph: g}
	for _, s := range p.steps {
		var before []*ir.Tensor
		var inputs []*ir.Tensor
		if o.VerifyExact && s.pass.Exact {
			inputs = ir.SampleInputs(g, 1, 1)
			var err error
			if before, err = ir.Eval(g, inputs...); err != nil {
				return nil, fmt.Errorf("before pass %s: %w", s.pass.Name, err)
			}
		}
		start := time.Now()
		c.report.Reset()
		c.warnings = nil
		stats, err := s.pass.Run(c, s.opts)
		if err != nil {
			return nil, wrapPassError(s.pass.Name, err)
		}
		res.Log = append(res.Log, Entry{Pass: s.pass.Name, Stats: stats, Duration: time.Since(start),
			Default: s.byDefault, Report: c.report.String(), Warnings: c.warnings})
		if err := ir.Verify(g); err != nil {
			return nil, fmt.Errorf("BUG: pass %s left an invalid graph: %v\n%s", s.pass.Name, err, g)
		}
		if before != nil {
			after, err := ir.Eval(g, inputs...)
			if err != nil {
				return nil, fmt.Errorf("BUG: after pass %s the graph does not evaluate: %w", s.pass.Name, err)
			}
			for i := range before {
				if before[i].F == nil {
					if !slices.Equal(after[i].Dense().I, before[i].I) {
						return nil, fmt.Errorf("BUG: exact pass %s changed integer output %d", s.pass.Name, i)
					}
					continue
				}
				if err := match.Kernel(after[i].Dense().F, before[i].F); err != nil {
					return nil, fmt.Errorf("BUG: exact pass %s changed output %d: %v", s.pass.Name, i, err)
				}
			}
		}
		if o.PrintAfter == "all" || o.PrintAfter == s.pass.Name {
			fmt.Fprintf(o.Out, "// after %s: %s\n", s.pass.Name, stats)
			if err := ir.Fprint(o.Out, g); err != nil {
				return nil, err
			}
		}
	}
	res.Plan = c.Plan
	return res, nil
}
