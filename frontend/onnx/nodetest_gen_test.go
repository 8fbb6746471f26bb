package onnx_test

import (
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
)

// The node tests through generated code: every test that the importer
// takes is compiled (compile.Compile: the default pipeline, then codegen)
// into a package of its own, all of them in one temporary module
// (internal/harness), with one runner program that imports them all.
// `go vet` checks every package at once, `go build` builds the runner
// once, and the runner runs each test's package on the test's inputs,
// writing its outputs, which are compared here by the node tests' rule
// (compare). A package that does not compile, a kernel that panics and a
// wrong result fail; a node codegen has no kernel for yet is
// "unsupported", like an op the importer does not know.

// genUnsupported are the phrases of codegen's errors for what it does
// not implement yet (as opposed to a bug).
var genUnsupported = regexp.MustCompile(`no kernel for|not supported by (codegen|the generated kernels) yet`)

// genOnly narrows TestNodeTestsGenerated to the tests whose names match
// (every one of them, not one per kind), for working on a few.
var genOnly = flag.String("gen-only", "", "TestNodeTestsGenerated: run only the node tests whose names match this regexp")

// genCase is one node test on its way through codegen.
type genCase struct {
	nt    *nodeTest
	pkg   string // Go package (and folder) name
	graph *ir.Graph
}

func TestNodeTestsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds one generated package per node test")
	}
	tests := loadNodeTests(t)
	mod := harness.TempModule(t, "onnxnode")

	// Generate every package. Without MODELC_ONNX_LONG (make test), one
	// test per kind of model (its op types and whether it is float32)
	// stands for the others, which keeps the run to a few minutes on two
	// cores; make test-long and -update-doc run them all.
	all := longTests() || *updateDoc
	seen := map[string]bool{}
	var cases []*genCase
	for i, nt := range tests {
		key := fmt.Sprint(nt.ops, nt.float32)
		switch {
		case *genOnly != "" && !regexp.MustCompile(*genOnly).MatchString(nt.name):
			continue
		case nt.whole && !all && *genOnly == "":
			continue
		case nt.err != nil || nt.graph == nil:
			nt.gen = result{"not run", "the importer does not take it"}
			continue
		case !all && *genOnly == "" && seen[key]:
			continue
		}
		seen[key] = true
		gc := &genCase{nt: nt, pkg: fmt.Sprintf("t%03d", i)}
		if err := gc.generate(mod); err != nil {
			nt.gen = classifyGen(err)
			continue
		}
		cases = append(cases, gc)
	}

	// Vet every package at once; a package vet rejects (which includes
	// not compiling) fails its test and stays out of the runner.
	if out, err := mod.Go(nil, "vet", "./..."); err != nil {
		bad := vetFailures(string(out))
		if len(bad) == 0 {
			t.Fatalf("%v", err)
		}
		var keep []*genCase
		for _, gc := range cases {
			if msg, ok := bad[gc.pkg]; ok {
				gc.nt.gen = result{"FAIL", "generated code: go vet: " + msg}
				continue
			}
			keep = append(keep, gc)
		}
		cases = keep
	}

	// One runner for every package left.
	var rcs []harness.Case
	inputs := map[string][]*ir.Tensor{}
	for _, gc := range cases {
		rcs = append(rcs, harness.Case{Pkg: gc.pkg, Graph: gc.graph})
		inputs[gc.pkg] = gc.nt.inputs
	}
	runner, err := mod.BuildRunner(rcs, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(t.TempDir(), nil, inputs)
	if err != nil {
		t.Fatal(err)
	}
	for _, gc := range cases {
		gc.nt.gen = gc.check(res[gc.pkg])
	}

	pass, f32, f32pass, ran := 0, 0, 0, 0
	for _, nt := range tests {
		if nt.gen.status == "" {
			continue
		}
		t.Run(nt.name, func(t *testing.T) {
			switch nt.gen.status {
			case "pass":
				pass++
			case "unsupported", "not run":
				t.Logf("%s: %s", nt.gen.status, nt.gen.detail)
			default:
				t.Errorf("%s", nt.gen.detail)
			}
		})
		if nt.gen.status != "not run" {
			ran++
		}
		if nt.float32 {
			f32++
			if nt.gen.status == "pass" {
				f32pass++
			}
		}
	}
	t.Logf("generated code: %d of %d tests pass (%d imported); float32: %d of %d", pass, len(tests), ran, f32pass, f32)
}

// generate compiles gc's graph into the package gc.pkg of mod.
func (gc *genCase) generate(mod *harness.Module) error {
	// The pipeline rewrites the graph in place; give it a copy so the
	// evaluator's graph stays as imported.
	m := &frontend.Model{Name: gc.nt.name, Package: gc.pkg, Graph: gc.nt.graph.Clone()}
	res, err := compile.Compile(m, compile.Options{Command: "modelc (node test " + gc.nt.name + ")", Version: "test"})
	if err != nil {
		return err
	}
	gc.graph = res.Graph
	return mod.Add(gc.pkg, res.Files)
}

// check compares what the runner gave for gc with the stored outputs.
func (gc *genCase) check(r *harness.Result) result {
	if r.Err != nil {
		if genUnsupported.MatchString(r.Err.Error()) {
			return result{"unsupported", "generated code: " + r.Err.Error()}
		}
		return result{"FAIL", "generated code: " + r.Err.Error()}
	}
	got := r.Outputs
	for i := range min(len(got), len(gc.nt.outputs)) {
		want := gc.nt.outputs[i]
		if got[i].Numel() != want.Numel() {
			return result{"FAIL", fmt.Sprintf("generated code: output %d has %d elements, want %d", i, got[i].Numel(), want.Numel())}
		}
		got[i].Shape = want.Shape
	}
	if err := compare(got, gc.nt.outputs, gc.nt.tol()); err != nil {
		return result{"FAIL", "generated code: " + err.Error()}
	}
	return result{"pass", ""}
}

// classifyGen sorts a codegen error: unsupported (not implemented yet)
// or a failure.
func classifyGen(err error) result {
	if genUnsupported.MatchString(err.Error()) {
		return result{"unsupported", "codegen: " + err.Error()}
	}
	return result{"FAIL", "codegen: " + err.Error()}
}

// vetFailures maps each package go vet reported (by its folder name) to
// its first message.
func vetFailures(out string) map[string]string {
	bad := map[string]string{}
	pkg := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "# ") {
			pkg = filepath.Base(strings.TrimSpace(line[2:]))
			continue
		}
		if pkg != "" && strings.TrimSpace(line) != "" && bad[pkg] == "" {
			bad[pkg] = strings.TrimSpace(line)
		}
	}
	return bad
}
