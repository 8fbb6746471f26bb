package onnx_test

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/modelc/modelc/frontend/onnx"
	"github.com/modelc/modelc/frontend/onnx/onnxpb"
	"github.com/modelc/modelc/internal/onnxdata"
	"github.com/modelc/modelc/ir"
)

// The ONNX node tests (the backend conformance data of
// internal/onnxdata, read in-process from its archive) run through the reference evaluator here and through generated
// code in nodetest_gen_test.go, at their own tolerance: |got − want| ≤
// atol + rtol·|want| with rtol 1e-3, atol 1e-7, NaN equal to NaN, any
// loosening recorded per test in loosened. A test passes, or fails with
// an error that says "unsupported"; anything else fails the Go test.
// The five whole models (test_light_*) run only with MODELC_ONNX_LONG=1
// (make test-long).

var updateDoc = flag.Bool("update-doc", false, "rewrite docs/onnx-node-tests.md from the node tests' results")

const (
	defaultRtol = 1e-3
	defaultAtol = 1e-7
)

// tolerance is a per-test loosening of the default rule, with its reason.
type tolerance struct {
	rtol, atol float64
	why        string
}

// loosened lists every test that runs at other than rtol 1e-3, atol 1e-7.
var loosened = map[string]tolerance{
	// Upstream's data/real/test_densenet121/data.json.
	"test_light_densenet121": {2e-3, 1e-7, "upstream's own rtol for this model"},
}

// backendData opens the conformance archive (internal/onnxdata).
func backendData(t testing.TB) fs.FS {
	fsys, err := onnxdata.FS()
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

func longTests() bool { return os.Getenv("MODELC_ONNX_LONG") == "1" }

// nodeTest is one test folder, loaded and imported.
type nodeTest struct {
	name    string
	ops     string // op types in the model
	opset   int
	float32 bool // inputs f32 (or i64 shapes/indices) and outputs f32
	whole   bool // a whole model (test_light_*)

	graph   *ir.Graph
	inputs  []*ir.Tensor // for graph.Inputs, bound ones left out
	outputs []*ir.Tensor
	bound   []string // inputs bound at import time
	err     error    // loading or importing

	eval, gen result // outcomes, once run
}

func (nt *nodeTest) tol() tolerance {
	if l, ok := loosened[nt.name]; ok {
		return l
	}
	return tolerance{defaultRtol, defaultAtol, ""}
}

// listNodeTests lists the tests the suite runs: those named in
// testdata/node-tests.txt (the curated set that used to live in
// ../shared/testdata/onnx-node), each found in the archive.
func listNodeTests(t testing.TB, fsys fs.FS) []onnxdata.Test {
	all, err := onnxdata.Tests(fsys)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]onnxdata.Test{}
	for _, tc := range all {
		byName[tc.Name] = tc
	}
	list, err := os.ReadFile(filepath.Join("testdata", "node-tests.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var tests []onnxdata.Test
	for _, name := range strings.Fields(string(list)) {
		tc, ok := byName[name]
		if !ok {
			t.Fatalf("testdata/node-tests.txt: %s is not in the archive", name)
		}
		tests = append(tests, tc)
	}
	sort.Slice(tests, func(i, j int) bool { return tests[i].Name < tests[j].Name })
	if len(tests) == 0 {
		t.Fatal("testdata/node-tests.txt names no test")
	}
	return tests
}

func readPBs(fsys fs.FS, dir, prefix string) ([]*ir.Tensor, []int32, error) {
	var ts []*ir.Tensor
	var dts []int32
	for i := 0; ; i++ {
		data, err := fs.ReadFile(fsys, path.Join(dir, fmt.Sprintf("%s_%d.pb", prefix, i)))
		if errors.Is(err, os.ErrNotExist) {
			return ts, dts, nil
		}
		if err != nil {
			return nil, nil, err
		}
		dts = append(dts, pbDType(data))
		t, err := onnx.DecodeTensor(data)
		if err != nil {
			return nil, dts, fmt.Errorf("%s_%d.pb: %w", prefix, i, err)
		}
		ts = append(ts, t)
	}
}

// pbDType reads a TensorProto's data_type even when it is unsupported.
func pbDType(data []byte) int32 {
	var tp onnxpb.TensorProto
	if err := protoUnmarshal(data, &tp); err != nil {
		return 0
	}
	return tp.GetDataType()
}

func loadNodeTest(fsys fs.FS, tc onnxdata.Test) *nodeTest {
	nt := &nodeTest{name: tc.Name, whole: tc.Suite == "light"}
	data, err := fs.ReadFile(fsys, path.Join(tc.Dir(), "model.onnx"))
	if err != nil {
		nt.err = err
		return nt
	}
	m, err := onnx.Decode(data)
	if err != nil {
		nt.err = err
		return nt
	}
	for _, o := range m.OpsetImport {
		if o.GetDomain() == "" {
			nt.opset = int(o.GetVersion())
		}
	}
	ops := map[string]bool{}
	for _, n := range m.Graph.Node {
		ops[n.GetOpType()] = true
	}
	for op := range ops {
		nt.ops += op + " "
	}
	nt.ops = strings.Join(sortedWords(nt.ops), ", ")
	set := path.Join(tc.Dir(), "test_data_set_0")
	ins, inDT, err1 := readPBs(fsys, set, "input")
	outs, outDT, err2 := readPBs(fsys, set, "output")
	nt.float32 = true
	for _, d := range inDT {
		nt.float32 = nt.float32 && (d == int32(onnxpb.TensorProto_FLOAT) || d == int32(onnxpb.TensorProto_INT64))
	}
	for _, d := range outDT {
		nt.float32 = nt.float32 && d == int32(onnxpb.TensorProto_FLOAT)
	}
	if err := errors.Join(err1, err2); err != nil {
		nt.err = err
		return nt
	}
	nt.outputs = outs
	// Runtime inputs: graph.input entries that are not initializers.
	inits := map[string]bool{}
	for _, t := range m.Graph.Initializer {
		inits[t.GetName()] = true
	}
	var runtime []string
	for _, in := range m.Graph.Input {
		if !inits[in.GetName()] {
			runtime = append(runtime, in.GetName())
		}
	}
	if len(runtime) != len(ins) {
		nt.err = fmt.Errorf("%d runtime inputs, %d input_N.pb files", len(runtime), len(ins))
		return nt
	}
	byName := map[string]*ir.Tensor{}
	for i, n := range runtime {
		byName[n] = ins[i]
	}
	// Import; inputs the IR needs at import time (a Reshape's shape fed as
	// an input, Clip bounds) are bound to their test values, one by one.
	bind := map[string]*ir.Tensor{}
	for {
		g, err := onnx.Import(m, onnx.Options{Name: tc.Name, Bind: bind})
		var need *onnx.NeedsValueError
		if errors.As(err, &need) && bind[need.Input] == nil && byName[need.Input] != nil {
			bind[need.Input] = byName[need.Input]
			nt.bound = append(nt.bound, need.Input)
			continue
		}
		if err != nil {
			nt.err = err
			return nt
		}
		nt.graph = g
		break
	}
	for _, v := range nt.graph.Inputs {
		nt.inputs = append(nt.inputs, byName[v.Name])
	}
	return nt
}

var (
	loadOnce sync.Once
	loaded   []*nodeTest
)

// loadNodeTests loads every test once per process (whole models only
// with MODELC_ONNX_LONG=1).
func loadNodeTests(t testing.TB) []*nodeTest {
	loadOnce.Do(func() {
		fsys := backendData(t)
		for _, tc := range listNodeTests(t, fsys) {
			if tc.Suite == "light" && !longTests() && !*updateDoc {
				loaded = append(loaded, &nodeTest{name: tc.Name, whole: true, float32: true})
				continue
			}
			loaded = append(loaded, loadNodeTest(fsys, tc))
		}
	})
	return loaded
}

func protoUnmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }

func sortedWords(s string) []string {
	w := strings.Fields(s)
	sort.Strings(w)
	return w
}

// compare applies the node tests' rule to every output.
func compare(got, want []*ir.Tensor, tol tolerance) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d outputs, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i].Dense(), want[i]
		if g.DType != w.DType {
			return fmt.Errorf("output %d: dtype %s, want %s", i, g.DType, w.DType)
		}
		if !equalShape(g.Shape, w.Shape) {
			return fmt.Errorf("output %d: shape %v, want %v", i, g.Shape, w.Shape)
		}
		bad, worst, at := 0, 0.0, -1
		for j := 0; j < w.Numel(); j++ {
			a, b := g.Float(j), w.Float(j)
			if math.IsNaN(a) && math.IsNaN(b) || a == b {
				continue
			}
			if d := math.Abs(a - b); !(d <= tol.atol+tol.rtol*math.Abs(b)) {
				bad++
				if ex := d / (tol.atol + tol.rtol*math.Abs(b)); !(ex <= worst) {
					worst, at = ex, j
				}
			}
		}
		if bad > 0 {
			return fmt.Errorf("output %d: %d of %d elements out of tolerance (rtol %g, atol %g); worst at %d: got %g, want %g", i, bad, w.Numel(), tol.rtol, tol.atol, at, g.Float(at), w.Float(at))
		}
	}
	return nil
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// result is one test's outcome on one engine.
type result struct {
	status string // "pass", "unsupported", "FAIL", "skipped"
	detail string
}

func classify(err error) result {
	if err == nil {
		return result{"pass", ""}
	}
	if errors.Is(err, onnx.ErrUnsupported) {
		return result{"unsupported", err.Error()}
	}
	return result{"FAIL", err.Error()}
}

func evalNodeTest(nt *nodeTest) result {
	if nt.err != nil {
		return classify(nt.err)
	}
	got, err := ir.Eval(nt.graph, nt.inputs...)
	if err != nil {
		return result{"FAIL", "evaluator: " + err.Error()}
	}
	if err := compare(got, nt.outputs, nt.tol()); err != nil {
		return result{"FAIL", err.Error()}
	}
	return result{"pass", ""}
}

// TestNodeTests runs every node test through the reference evaluator.
func TestNodeTests(t *testing.T) {
	tests := loadNodeTests(t)
	pass, f32, f32pass := 0, 0, 0
	for _, nt := range tests {
		t.Run(nt.name, func(t *testing.T) {
			if nt.whole && !longTests() && !*updateDoc {
				t.Skip("whole model: MODELC_ONNX_LONG=1 (make test-long)")
			}
			r := evalNodeTest(nt)
			nt.eval = r
			switch r.status {
			case "pass":
				pass++
			case "unsupported":
				t.Logf("unsupported: %s", r.detail)
			default:
				t.Errorf("%s", r.detail)
			}
		})
		if nt.float32 && nt.eval.status != "" {
			f32++
			if nt.eval.status == "pass" {
				f32pass++
			}
		}
	}
	t.Logf("evaluator: %d of %d tests pass; float32: %d of %d (%.1f%%)", pass, len(tests), f32pass, f32, 100*float64(f32pass)/float64(max(f32, 1)))
	if f32 > 0 && float64(f32pass) < 0.85*float64(f32) {
		t.Errorf("only %d of %d float32 node tests pass through the evaluator, want ≥ 85%%", f32pass, f32)
	}
	if *updateDoc {
		if err := writeDoc(filepath.Join("..", "..", "docs", "onnx-node-tests.md"), tests); err != nil {
			t.Fatal(err)
		}
	}
}

// writeDoc writes the table of every node test's result, through the
// evaluator and through generated code (TestNodeTestsGenerated, which
// runs first: -run 'TestNodeTests' takes both).
func writeDoc(file string, tests []*nodeTest) error {
	for _, nt := range tests {
		if nt.gen.status == "" {
			return fmt.Errorf("-update-doc: %s has no generated-code result: run -run 'TestNodeTests' (both tests), without -short", nt.name)
		}
	}
	var sb strings.Builder
	count := func(f func(nt *nodeTest) bool) int {
		n := 0
		for _, nt := range tests {
			if f(nt) {
				n++
			}
		}
		return n
	}
	f32 := count(func(nt *nodeTest) bool { return nt.float32 })
	f32pass := count(func(nt *nodeTest) bool { return nt.float32 && nt.eval.status == "pass" })
	pass := count(func(nt *nodeTest) bool { return nt.eval.status == "pass" })
	unsup := count(func(nt *nodeTest) bool { return nt.eval.status == "unsupported" })
	gpass := count(func(nt *nodeTest) bool { return nt.gen.status == "pass" })
	gunsup := count(func(nt *nodeTest) bool { return nt.gen.status == "unsupported" })
	gf32pass := count(func(nt *nodeTest) bool { return nt.float32 && nt.gen.status == "pass" })
	fmt.Fprintf(&sb, `# ONNX node tests

Generated by `+"`MODELC_ONNX_LONG=1 go test ./frontend/onnx -run 'TestNodeTests' -update-doc`"+` (the variable adds the
whole models); do not edit.

Every test named in `+"`frontend/onnx/testdata/node-tests.txt`"+`, read from the ONNX backend
conformance archive `+"`internal/onnxdata/backend.tar.xz`"+` (ONNX commit 6be0677f, see
`+"`internal/onnxdata/README.md`"+`), imported by `+"`frontend/onnx`"+` and run through the reference evaluator (`+"`ir.Eval`"+`),
compared with the stored outputs by the tests' own rule: |got − want| ≤ atol + rtol·|want|,
rtol 1e-3, atol 1e-7, NaN equal to NaN, shapes and element types equal. Loosened
tolerances are listed per test. A test that does not pass fails with an explicit
"unsupported" error naming the node, op type and opset; any other failure fails
`+"`go test`"+`. The whole models (test_light_*) run in `+"`make test-long`"+`.

"Bound" names inputs that feed something the IR needs at import time (a Reshape's
shape, Clip bounds, split sizes) and that the test feeds at run time: the harness
imports the model with those inputs bound to the test's values (onnx.Options.Bind).

**Evaluator: %d of %d tests pass, %d unsupported. Float32 tests (inputs float32, or
int64 shapes/indices, outputs float32): %d of %d pass (%.1f%%).**

The "generated" column runs the same tests through generated code: each imported test
goes through the default pipeline and codegen into a Go package of its own, all of them in
one folder (vetted with one `+"`go vet`"+`, run by one program that imports them all;
`+"`nodetest_gen_test.go`"+`), compared by the same rule. "not run" marks a test the
importer does not take; "unsupported" one whose graph codegen has no kernel for yet.

**Generated code: %d of %d tests pass, %d unsupported. Float32 tests: %d of %d pass (%.1f%%).**

| test | ops | opset | float32 | evaluator | generated | notes |
| --- | --- | ---: | :---: | --- | --- | --- |
`, pass, len(tests), unsup, f32pass, f32, 100*float64(f32pass)/float64(max(f32, 1)),
		gpass, len(tests), gunsup, gf32pass, f32, 100*float64(gf32pass)/float64(max(f32, 1)))
	for _, nt := range tests {
		f := ""
		if nt.float32 {
			f = "yes"
		}
		res := nt.eval.status
		if nt.eval.detail != "" {
			res += ": " + docReason(nt.eval.detail)
		}
		gres := nt.gen.status
		if nt.gen.status != "pass" && nt.gen.status != "not run" && nt.gen.detail != "" {
			gres += ": " + docReason(nt.gen.detail)
		}
		var notes []string
		if len(nt.bound) > 0 {
			notes = append(notes, "bound: "+strings.Join(nt.bound, ", "))
		}
		if l, ok := loosened[nt.name]; ok {
			notes = append(notes, fmt.Sprintf("rtol %g, atol %g (%s)", l.rtol, l.atol, l.why))
		}
		if nt.whole {
			notes = append(notes, "whole model")
		}
		fmt.Fprintf(&sb, "| %s | %s | %d | %s | %s | %s | %s |\n", nt.name, nt.ops, nt.opset, f, res, gres, strings.Join(notes, "; "))
	}
	return os.WriteFile(file, []byte(sb.String()), 0o644)
}

// docReason shortens an error for the table: the list of supported op
// types is long and the same everywhere.
func docReason(s string) string {
	if i := strings.Index(s, "unsupported op type "); i >= 0 {
		if j := strings.Index(s[i:], " (supported: "); j >= 0 {
			s = s[:i+j] + " (see the op table in frontend/onnx/optable.go)"
		}
	}
	return strings.ReplaceAll(s, "|", "\\|")
}
