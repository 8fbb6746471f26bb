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
	// Run configures the pass pipeline: --print-after, exact-pass checks.
	Run passes.RunOptions

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
// specs, each positioned at file:line:col for messages.
func Specs(file string, ps []frontend.PassSpec) []passes.Spec {
	specs := make([]passes.Spec, len(ps))
	for i, s := range ps {
		pos := fmt.Sprintf("%s:%d:%d", file, s.Line, s.Col)
		if s.Line == 0 {
			pos = "--passes"
		}
		specs[i] = passes.Spec{Name: s.Name, Options: s.Options, Pos: pos}
	}
	return specs
}

// Pipeline builds the pass pipeline the model asks for: the fixed phases
// around its user passes (model.yaml's passes: and any --passes).
func Pipeline(m *frontend.Model) (*passes.Pipeline, error) {
	return passes.Build(Specs(m.File, m.Passes))
}

// Lower runs the model's pass pipeline on its graph (in place).
func Lower(m *frontend.Model, o Options) (*Result, error) {
	p, err := Pipeline(m)
	if err != nil {
		return nil, err
	}
	return lower(p, m, o)
}

func lower(p *passes.Pipeline, m *frontend.Model, o Options) (*Result, error) {
	res, err := p.Run(m.Graph, o.Run)
	if err != nil {
		return nil, err
	}
	return &Result{Graph: res.Graph, Plan: res.Plan, Log: res.Log}, nil
}

// Compile lowers the model and generates its Go package.
func Compile(m *frontend.Model, o Options) (*Result, error) {
	p, err := Pipeline(m)
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
	var log []string
	for _, e := range r.Log {
		log = append(log, e.Pass+"\t"+e.Stats.String())
	}
	in := codegen.Input{
		Graph: r.Graph, Plan: r.Plan, Package: o.Package, Command: o.Command, CommandArgs: o.CommandArgs,
		Version: o.Version, RuntimeImport: RuntimeImport, MaxBatch: o.MaxBatch,
		Test: vec, Log: log, ExternalWeights: o.ExternalWeights,
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
