// Package compile is modelc's compile driver: the one place where a loaded
// model goes through the pass pipeline (passes) and code generation
// (codegen). The CLI (cmd/modelc: build, run --engine generated, bench,
// inspect), make zoo-table and every test suite that builds generated
// packages call it, so they all compile a model the same way.
//
// The pipeline rewrites the model's graph in place: compile a model once,
// or load it afresh (or give Compile a copy) to compile it again.
package compile

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/runtime"
)

// RuntimeImport is the import path of the runtime that generated packages
// import (its own module, github.com/modelc/modelc/runtime).
const RuntimeImport = "github.com/modelc/modelc/runtime"

// Options configures Lower and Compile. The zero value compiles the model
// with its own passes into the package its model.yaml names.
type Options struct {
	// Run configures the pass pipeline: --print-after, exact-pass checks;
	// its calibration and test data default to the model's
	// (Calibration, TestSet).
	Run passes.RunOptions
	// Pipeline is the pipeline to run instead of the model's own (modelc
	// bench --variant).
	Pipeline *passes.Pipeline

	// Package is the generated package's name (default: the model's).
	Package string
	// Command is the generated package's //go:generate line, written as
	// a comment's text; CommandArgs gives it as arguments, quoted for go
	// generate (default: modelc build FILE -o ., FILE the model's file
	// name, which may hold anything).
	Command     string
	CommandArgs []string
	// Version is the modelc version recorded in file headers (default:
	// runtime.Version).
	Version string
	// MaxBatch is the package's DefaultMaxBatch (default 32).
	MaxBatch int
	// TestVectors embeds the model's test vectors (model.yaml's test:)
	// with the package's model_test.go; Test gives vectors instead.
	TestVectors bool
	Test        *codegen.Vectors
	// ExternalWeights leaves weights.bin out of the package's binary (no
	// go:embed): New then needs WithWeightsFile (modelc build
	// --external-weights).
	ExternalWeights bool
}

// Result is a compiled model: the graph after the pipeline, its memory
// plan, what each pass did, and the generated package's files by name
// (nil from Lower).
type Result struct {
	Graph *ir.Graph
	Plan  *ir.MemoryPlan
	Log   []passes.Entry
	Files map[string][]byte
}

// Specs turns a model's pass list (model.yaml's passes:, a configuration's
// passes, or --passes, whose entries have no line) into the pipeline's
// specs, each (and each option) positioned at file:line:col for messages.
func Specs(file string, ps []frontend.PassSpec) []passes.Spec { return specs(file, ps, "--passes") }

// ExcludeSpecs is Specs for exclude_passes: (or --exclude-passes).
func ExcludeSpecs(file string, ps []frontend.PassSpec) []passes.Spec {
	return specs(file, ps, "--exclude-passes")
}

func specs(file string, ps []frontend.PassSpec, flag string) []passes.Spec {
	specs := make([]passes.Spec, len(ps))
	for i, s := range ps {
		pos := fmt.Sprintf("%s:%d:%d", file, s.Line, s.Col)
		if s.Line == 0 {
			pos = flag
		}
		var optPos map[string]string
		for k, lc := range s.OptionPos {
			if optPos == nil {
				optPos = map[string]string{}
			}
			optPos[k] = fmt.Sprintf("%s:%d:%d", file, lc[0], lc[1])
		}
		specs[i] = passes.Spec{Name: s.Name, Options: s.Options, Pos: pos, OptionPos: optPos}
	}
	return specs
}

// Pipeline builds the pass pipeline the model asks for: the fixed phases
// around its user passes (model.yaml's passes: and any --passes) and the
// default passes it does not exclude (exclude_passes:, --exclude-passes).
func Pipeline(m *frontend.Model) (*passes.Pipeline, error) {
	return passes.Build(Specs(m.File, m.Passes), ExcludeSpecs(m.File, m.ExcludePasses)...)
}

func (o Options) pipeline(m *frontend.Model) (*passes.Pipeline, error) {
	if o.Pipeline != nil {
		return o.Pipeline, nil
	}
	return Pipeline(m)
}

// Lower runs the model's pass pipeline on its graph (in place).
func Lower(m *frontend.Model, o Options) (*Result, error) {
	p, err := o.pipeline(m)
	if err != nil {
		return nil, err
	}
	return lower(p, m, o)
}

func lower(p *passes.Pipeline, m *frontend.Model, o Options) (*Result, error) {
	if o.Run.Calib == nil {
		o.Run.Calib = Calibration(m)
	}
	if o.Run.Test == nil {
		o.Run.Test = func() (*calib.Set, error) { return TestSet(m) }
	}
	res, err := p.Run(m.Graph, o.Run)
	if err != nil {
		return nil, err
	}
	return &Result{Graph: res.Graph, Plan: res.Plan, Log: res.Log}, nil
}

// Warnings lists what the passes warned about (a budget no setting met),
// each naming its pass, for the CLI to print.
func (r *Result) Warnings() []string {
	var ws []string
	for _, e := range r.Log {
		for _, w := range e.Warnings {
			ws = append(ws, "pass "+e.Pass+": "+w)
		}
	}
	return ws
}

// Compile lowers the model and generates its Go package.
func Compile(m *frontend.Model, o Options) (*Result, error) {
	p, err := o.pipeline(m)
	if err != nil {
		return nil, err
	}
	vec := o.Test
	if vec == nil && o.TestVectors && m.Test != nil {
		// Read before the pipeline: the test data is checked against
		// the graph as the frontend made it.
		ins, outs, err := m.TestData()
		if err != nil {
			return nil, err
		}
		vec = &codegen.Vectors{Inputs: ins, Outputs: outs, Rtol: m.Test.Rtol}
	}
	r, err := lower(p, m, o)
	if err != nil {
		return nil, err
	}
	maxBatch := o.MaxBatch
	if maxBatch < 1 {
		maxBatch = 32 // codegen's default
	}
	if err := CheckArena(m, r.Plan, maxBatch); err != nil {
		return nil, err
	}
	if err := CheckConsts(m, r.Graph); err != nil {
		return nil, err
	}
	if vec != nil && lossy(r.Log) {
		// A lossy pass changed what the model computes: the package is
		// checked against the compiled graph on the same inputs.
		if vec, err = compiledVectors(r.Graph, vec); err != nil {
			return nil, err
		}
	}
	var log, notes []string
	for _, e := range r.Log {
		name := e.Pass
		if e.Default {
			name += " (default)"
		}
		log = append(log, name+"\t"+e.Stats.String())
		if e.Report != "" || len(e.Warnings) > 0 {
			var sb strings.Builder
			fmt.Fprintf(&sb, "### %s\n\n", e.Pass)
			for _, w := range e.Warnings {
				fmt.Fprintf(&sb, "**Warning:** %s\n\n", w)
			}
			sb.WriteString(e.Report)
			notes = append(notes, sb.String())
		}
	}
	in := codegen.Input{
		Graph: r.Graph, Plan: r.Plan, Package: o.Package, Command: o.Command, CommandArgs: o.CommandArgs,
		Version: o.Version, RuntimeImport: RuntimeImport, MaxBatch: o.MaxBatch,
		Test: vec, Log: log, ExternalWeights: o.ExternalWeights, PassReports: notes,
	}
	if in.Package == "" {
		in.Package = m.Package
	}
	if in.Command == "" && in.CommandArgs == nil {
		in.CommandArgs = []string{"modelc", "build", filepath.Base(m.File), "-o", "."}
	}
	if in.Version == "" {
		in.Version = runtime.Version
	}
	if r.Files, err = codegen.Generate(in); err != nil {
		if m.File != "" {
			return nil, fmt.Errorf("%s: %w", m.File, err)
		}
		return nil, err
	}
	return r, nil
}

// lossy reports whether a pass that changes results (not Exact) ran.
func lossy(log []passes.Entry) bool {
	for _, e := range log {
		if p, ok := passes.Lookup(e.Pass); ok && !p.Exact {
			return true
		}
	}
	return false
}

// compiledVectors replaces v's expected outputs by the compiled graph's
// (ir.Eval) on v's inputs.
func compiledVectors(g *ir.Graph, v *codegen.Vectors) (*codegen.Vectors, error) {
	outs, err := ir.Eval(g, v.Inputs...)
	if err != nil {
		return nil, fmt.Errorf("test vectors of the compiled graph: %w", err)
	}
	return &codegen.Vectors{Inputs: v.Inputs, Outputs: outs, Rtol: v.Rtol}, nil
}
