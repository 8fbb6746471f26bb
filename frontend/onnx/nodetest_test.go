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
	suite   string // the archive's folder: node, pytorch-converted, …
	scope   string // "" in scope, else the out-of-scope family (scopeOf)
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

// listNodeTests lists every test of the archive.
func listNodeTests(t testing.TB, fsys fs.FS) []onnxdata.Test {
	tests, err := onnxdata.Tests(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) == 0 {
		t.Fatal("the conformance archive holds no test")
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
	nt := &nodeTest{name: tc.Name, suite: tc.Suite, whole: tc.Suite == "light"}
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
	nt.scope = scopeOf(tc.Name, m)
	for _, o := range m.OpsetImport {
		if o.GetDomain() == "" {
			nt.opset = int(o.GetVersion())
		}
	}
	nt.ops = strings.Join(modelOps(m), ", ")
	set := path.Join(tc.Dir(), "test_data_set_0")
	ins, inDT, inErr := readPBs(fsys, set, "input")
	outs, outDT, outErr := readPBs(fsys, set, "output")
	nt.float32 = true
	for _, d := range inDT {
		nt.float32 = nt.float32 && (d == int32(onnxpb.TensorProto_FLOAT) || d == int32(onnxpb.TensorProto_INT64))
	}
	for _, d := range outDT {
		nt.float32 = nt.float32 && d == int32(onnxpb.TensorProto_FLOAT)
	}
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
	byName := map[string]*ir.Tensor{}
	if inErr == nil && len(runtime) == len(ins) {
		for i, n := range runtime {
			byName[n] = ins[i]
		}
	}
	// Import; inputs the IR needs at import time (a Reshape's shape fed as
	// an input, Clip bounds) are bound to their test values, one by one.
	// Import errors come first: an out-of-scope model's data may not be
	// tensors at all.
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
	if err := errors.Join(inErr, outErr); err != nil {
		nt.err = err
		return nt
	}
	if len(runtime) != len(ins) {
		nt.err = fmt.Errorf("%d runtime inputs, %d input_N.pb files", len(runtime), len(ins))
		return nt
	}
	nt.outputs = outs
	for _, v := range nt.graph.Inputs {
		nt.inputs = append(nt.inputs, byName[v.Name])
	}
	return nt
}

// modelOps lists the op types of a model's graph, its subgraphs and its
// functions, sorted, with their domain when it is not the default one.
func modelOps(m *onnxpb.ModelProto) []string {
	seen := map[string]bool{}
	var walk func(nodes []*onnxpb.NodeProto)
	walk = func(nodes []*onnxpb.NodeProto) {
		for _, n := range nodes {
			op := n.GetOpType()
			if d := n.GetDomain(); d != "" && d != "ai.onnx" {
				op = d + ":" + op
			}
			seen[op] = true
			for _, a := range n.Attribute {
				if a.G != nil {
					walk(a.G.Node)
				}
				for _, g := range a.Graphs {
					walk(g.Node)
				}
			}
		}
	}
	walk(m.Graph.Node)
	for _, f := range m.Functions {
		walk(f.Node)
	}
	var ops []string
	for op := range seen {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// scopeOf says why a test is out of scope ("" when it is in scope),
// mechanically: what onnx.ModelOutOfScope finds in the model, a float8,
// float4, int4 or int2 type in the test's name, or a training-mode variant
// of an inference op (the name says "training").
func scopeOf(name string, m *onnxpb.ModelProto) string {
	if f, ok := onnx.ModelOutOfScope(m); ok {
		return f.Name
	}
	if onnx.LowBitName(name) {
		return onnx.FamilyLowBits.Name
	}
	if strings.Contains(name, "training") {
		return onnx.FamilyTraining.Name
	}
	return ""
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
				loaded = append(loaded, &nodeTest{name: tc.Name, suite: tc.Suite, whole: true, float32: true})
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

// minInScopeNodePass is the share of in-scope node/ tests that must pass
// through the evaluator (a ratchet: raise it as ops land).
const minInScopeNodePass = 0.90

// tally counts one engine's results over a set of tests.
type tally struct{ pass, unsup, total int }

func (t tally) String() string {
	return fmt.Sprintf("%d of %d pass (%.1f%%), %d unsupported", t.pass, t.total, 100*float64(t.pass)/float64(max(t.total, 1)), t.unsup)
}

// tallies counts results by group: "node" and the other suites in scope,
// "out of scope", and "all".
func tallies(tests []*nodeTest, res func(nt *nodeTest) result) map[string]*tally {
	m := map[string]*tally{}
	add := func(k string, r result) {
		if m[k] == nil {
			m[k] = &tally{}
		}
		m[k].total++
		switch r.status {
		case "pass":
			m[k].pass++
		case "unsupported", "not run":
			m[k].unsup++
		}
	}
	for _, nt := range tests {
		r := res(nt)
		if r.status == "" || r.status == "skipped" {
			continue
		}
		add("all", r)
		if nt.scope != "" {
			add("out of scope", r)
			continue
		}
		add(nt.suite, r)
	}
	return m
}

// TestNodeTests runs every test of the conformance archive through the
// reference evaluator. An in-scope test passes or fails with an
// "unsupported" error; an out-of-scope one fails with one (saying why)
// unless it passes anyway; anything else fails.
func TestNodeTests(t *testing.T) {
	tests := loadNodeTests(t)
	for _, nt := range tests {
		t.Run(nt.name, func(t *testing.T) {
			if nt.whole && !longTests() && !*updateDoc {
				nt.eval = result{"skipped", ""}
				t.Skip("whole model: MODELC_ONNX_LONG=1 (make test-long)")
			}
			r := evalNodeTest(nt)
			nt.eval = r
			switch {
			case r.status == "pass":
			case r.status == "unsupported" && nt.scope != "" && !strings.Contains(r.detail, "out of scope"):
				t.Errorf("out of scope (%s), but the error does not say so: %s", nt.scope, r.detail)
			case r.status == "unsupported":
				t.Logf("unsupported: %s", r.detail)
			default:
				t.Errorf("%s", r.detail)
			}
		})
	}
	tl := tallies(tests, func(nt *nodeTest) result { return nt.eval })
	for _, k := range []string{"node", "pytorch-converted", "pytorch-operator", "simple", "light", "out of scope", "all"} {
		if tl[k] != nil {
			t.Logf("evaluator, %s: %s", k, tl[k])
		}
	}
	inScope := 0
	for _, nt := range tests {
		inScope += btoi(nt.suite == "node" && nt.scope == "")
	}
	// (The share is checked when every in-scope node test ran: -run may pick some.)
	if n := tl["node"]; n != nil && n.total == inScope && float64(n.pass) < minInScopeNodePass*float64(n.total) {
		t.Errorf("only %d of %d in-scope node tests pass through the evaluator, want ≥ %.0f%%", n.pass, n.total, 100*minInScopeNodePass)
	}
	if *updateDoc {
		if err := writeScopeList(tests); err != nil {
			t.Fatal(err)
		}
		if err := writeDoc(filepath.Join("..", "..", "docs", "onnx-node-tests.md"), tests); err != nil {
			t.Fatal(err)
		}
	}
}

const scopeList = "testdata/in-scope.txt"

// writeScopeList writes the in-scope tests' names, one a line.
func writeScopeList(tests []*nodeTest) error {
	var sb strings.Builder
	sb.WriteString("# The conformance tests in scope (frontend/onnx/scope.go, scopeOf in nodetest_test.go); written by -update-doc.\n")
	for _, nt := range tests {
		if nt.scope == "" {
			fmt.Fprintf(&sb, "%s/%s\n", nt.suite, nt.name)
		}
	}
	return os.WriteFile(scopeList, []byte(sb.String()), 0o644)
}

// TestInScopeList checks that testdata/in-scope.txt is what scopeOf
// gives for the archive (-update-doc rewrites it).
func TestInScopeList(t *testing.T) {
	tests := loadNodeTests(t)
	data, err := os.ReadFile(scopeList)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			listed[l] = true
		}
	}
	n := 0
	for _, nt := range tests { // the whole models, loaded or not, are in scope
		key := nt.suite + "/" + nt.name
		if (nt.scope == "") != listed[key] {
			t.Errorf("%s: in scope is %v, %s says %v (run -update-doc)", key, nt.scope == "", scopeList, listed[key])
		}
		n += btoi(nt.scope == "")
	}
	if n != len(listed) {
		t.Errorf("%s lists %d tests, the archive has %d in scope", scopeList, len(listed), n)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeDoc writes the table of every test's result, through the
// evaluator and through generated code (TestNodeTestsGenerated, which
// runs first: -run 'TestNodeTests' takes both).
func writeDoc(file string, tests []*nodeTest) error {
	for _, nt := range tests {
		if nt.gen.status == "" {
			return fmt.Errorf("-update-doc: %s has no generated-code result: run -run 'TestNodeTests' (both tests), without -short", nt.name)
		}
	}
	ev := tallies(tests, func(nt *nodeTest) result { return nt.eval })
	gen := tallies(tests, func(nt *nodeTest) result { return nt.gen })
	var sb strings.Builder
	fmt.Fprintf(&sb, `# ONNX conformance tests

Generated by `+"`MODELC_ONNX_LONG=1 go test ./frontend/onnx -run 'TestNodeTests' -update-doc`"+` (the variable adds the
whole models); do not edit.

Every test of ONNX's backend test data (`+"`internal/onnxdata/backend.tar.xz`"+`, ONNX commit 6be0677f, see
`+"`internal/onnxdata/README.md`"+`): `+"`node/`"+` (one operator each), `+"`pytorch-converted/`"+`,
`+"`pytorch-operator/`"+`, `+"`simple/`"+` and the five whole models of `+"`light/`"+`. Each is imported by
`+"`frontend/onnx`"+` and run through the reference evaluator (`+"`ir.Eval`"+`) on the test's own inputs, the
way `+"`modelc run --engine reference`"+` runs a model, and compared with the stored outputs by the tests'
own rule: |got − want| ≤ atol + rtol·|want|, rtol 1e-3, atol 1e-7, NaN equal to NaN, shapes and element
types equal. Loosened tolerances are listed per test. A test that does not pass fails with an explicit
"unsupported" error naming the node, op type and opset; any other failure fails `+"`go test`"+`.

**Scope.** A test is out of scope, mechanically (`+"`scopeOf`"+` in `+"`frontend/onnx/nodetest_test.go`"+`), when its
model uses an op of an out-of-scope family below anywhere (graph, subgraphs, functions), when a graph input
or output is not a tensor or is a tensor of strings or of a float8/float4/int4/int2 type, when its name
names such a type, or when it is a training-mode variant (its name says "training"). The in-scope list is
`+"`frontend/onnx/testdata/in-scope.txt`"+`. The importer refuses every out-of-scope construct with an
"unsupported … out of scope (family): why" error:

| family | what | why |
| --- | --- | --- |
`)
	table := onnx.OutOfScopeTable()
	var fams []onnx.Family
	for f := range table {
		fams = append(fams, f)
	}
	sort.Slice(fams, func(i, j int) bool { return fams[i].Name < fams[j].Name })
	for _, f := range fams {
		fmt.Fprintf(&sb, "| %s | %s | %s |\n", f.Name, strings.Join(table[f], ", "), f.Why)
	}
	fmt.Fprintf(&sb, `
"Bound" names inputs that feed something the IR needs at import time (a Reshape's shape, Clip
bounds, split sizes, axes, pads) and that the test feeds at run time: the harness imports the model
with those inputs bound to the test's values (`+"`onnx.Options.Bind`"+`).

| tests | evaluator | generated code |
| --- | --- | --- |
`)
	for _, k := range []string{"node", "pytorch-converted", "pytorch-operator", "simple", "light", "out of scope", "all"} {
		label := k + "/ in scope"
		switch k {
		case "out of scope":
			label = "out of scope (every suite)"
		case "all":
			label = "**all**"
		}
		if ev[k] == nil {
			continue
		}
		g := gen[k]
		if g == nil {
			g = &tally{}
		}
		fmt.Fprintf(&sb, "| %s | %s | %s |\n", label, ev[k], g)
	}
	fmt.Fprintf(&sb, `
The "generated" column runs the same tests through generated code: each imported test goes through
the default pipeline and codegen into a Go package of its own, all of them in one folder (vetted
with one `+"`go vet`"+`, run by one program that imports them all; `+"`nodetest_gen_test.go`"+`), compared
by the same rule. "not run" marks a test the importer does not take; "unsupported" one whose graph
codegen has no kernel for yet.

| test | suite | scope | ops | opset | evaluator | generated | notes |
| --- | --- | --- | --- | ---: | --- | --- | --- |
`)
	for _, nt := range tests {
		scope := "in"
		if nt.scope != "" {
			scope = "out: " + nt.scope
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
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %d | %s | %s | %s |\n", nt.name, nt.suite, scope, nt.ops, nt.opset, res, gres, strings.Join(notes, "; "))
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
