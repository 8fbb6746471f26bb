package onnx_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
)

// The node tests through generated code: every test that the importer
// takes is compiled (default pipeline, then codegen) into a package of
// its own, all of them inside one folder of this module
// (out/test-gen/onnx-node-*), with one runner program that imports them
// all. `go vet` checks every package at once, `go build` builds the
// runner once, and the runner runs each test's package on the test's
// inputs, writing its outputs, which are compared here by the node
// tests' rule (compare). A package that does not compile, a kernel that
// panics and a wrong result fail; a node codegen has no kernel for yet is
// "unsupported", like an op the importer does not know.

// genUnsupported are the phrases of codegen's errors for what it does
// not implement yet (as opposed to a bug).
var genUnsupported = regexp.MustCompile(`no kernel for|not supported by (codegen|the generated kernels) yet`)

// genCase is one node test on its way through codegen.
type genCase struct {
	nt    *nodeTest
	pkg   string // Go package (and folder) name
	graph *ir.Graph
	ins   []genPort
	outs  []genPort
}

// genPort is an input or output as the runner passes it.
type genPort struct {
	Field string
	Elem  string // float32 or int64
	Len   int
}

func TestNodeTestsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds one generated package per node test")
	}
	tests := loadNodeTests(t)
	root, err := filepath.Abs(filepath.Join("..", "..", "out", "test-gen"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	work, err := os.MkdirTemp(root, "onnx-node-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })

	// Generate every package.
	pipe, err := passes.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	var cases []*genCase
	for i, nt := range tests {
		switch {
		case nt.whole && !longTests() && !*updateDoc:
			continue
		case nt.err != nil || nt.graph == nil:
			nt.gen = result{"not run", "the importer does not take it"}
			continue
		}
		gc := &genCase{nt: nt, pkg: fmt.Sprintf("t%03d", i)}
		if err := gc.generate(pipe, filepath.Join(work, gc.pkg)); err != nil {
			nt.gen = classifyGen(err)
			continue
		}
		cases = append(cases, gc)
	}

	// Vet every package at once; a package vet rejects (which includes
	// not compiling) fails its test and stays out of the runner.
	vet := exec.Command("go", "vet", "./...")
	vet.Dir = work
	out, err := vet.CombinedOutput()
	if err != nil {
		bad := vetFailures(string(out))
		if len(bad) == 0 {
			t.Fatalf("go vet: %v\n%s", err, out)
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
	type runnerCase struct {
		Pkg       string
		Ins, Outs []genPort
	}
	var rcs []runnerCase
	for _, gc := range cases {
		rcs = append(rcs, runnerCase{gc.pkg, gc.ins, gc.outs})
	}
	var src bytes.Buffer
	if err := runnerTemplate.Execute(&src, map[string]any{"Work": filepath.Base(work), "Cases": rcs}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "main.go"), src.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, gc := range cases {
		var raw bytes.Buffer
		for _, in := range gc.nt.inputs {
			writeRaw(&raw, in)
		}
		if err := os.WriteFile(filepath.Join(work, gc.pkg+".in"), raw.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(work, "runner.bin")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = work
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the runner: %v\n%s", err, out)
	}
	run := exec.Command(bin, work)
	run.Dir = work
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("the runner: %v\n%s", err, out)
	}
	for _, gc := range cases {
		gc.nt.gen = gc.check(work)
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

// generate compiles gc's graph into the package in dir.
func (gc *genCase) generate(pipe *passes.Pipeline, dir string) error {
	// The pipeline rewrites the graph in place; give it a copy so the
	// evaluator's graph stays as imported.
	res, err := pipe.Run(cloneGraph(gc.nt.graph), passes.RunOptions{})
	if err != nil {
		return err
	}
	files, err := codegen.Generate(codegen.Input{
		Graph: res.Graph, Plan: res.Plan, Package: gc.pkg, Command: "modelc (node test " + gc.nt.name + ")",
		Version: "test", RuntimeImport: "github.com/modelc/modelc/runtime",
	})
	if err != nil {
		return err
	}
	gc.graph = res.Graph
	taken := map[string]bool{}
	for i, v := range res.Graph.Inputs {
		gc.ins = append(gc.ins, genPort{codegen.ExportedName(v.Name, taken), elemOf(v), gc.nt.inputs[i].Numel()})
	}
	for i, v := range res.Graph.Outputs {
		gc.outs = append(gc.outs, genPort{codegen.ExportedName(v.Name, taken), elemOf(v), gc.nt.outputs[i].Numel()})
	}
	return codegen.WriteDir(dir, files, false)
}

func elemOf(v *ir.Value) string {
	if v.Type.DType.IsFloat() {
		return "float32"
	}
	return "int64"
}

// check reads what the runner wrote for gc and compares it with the
// stored outputs.
func (gc *genCase) check(work string) result {
	if msg, err := os.ReadFile(filepath.Join(work, gc.pkg+".err")); err == nil {
		if genUnsupported.Match(msg) {
			return result{"unsupported", "generated code: " + string(msg)}
		}
		return result{"FAIL", "generated code: " + string(msg)}
	}
	data, err := os.ReadFile(filepath.Join(work, gc.pkg+".out"))
	if err != nil {
		return result{"FAIL", "generated code: no outputs: " + err.Error()}
	}
	var got []*ir.Tensor
	for i, v := range gc.graph.Outputs {
		want := gc.nt.outputs[i]
		tt := ir.NewTensor(v.Type.DType, want.Shape)
		if need := tt.Numel() * max(4*len(tt.F), 8*len(tt.I)) / max(tt.Numel(), 1); len(data) < need {
			return result{"FAIL", "generated code: short output file"}
		}
		for j := range tt.F {
			tt.F[j] = math.Float32frombits(binary.LittleEndian.Uint32(data))
			data = data[4:]
		}
		for j := range tt.I {
			tt.I[j] = int64(binary.LittleEndian.Uint64(data))
			data = data[8:]
		}
		got = append(got, tt)
	}
	if err := compare(got, gc.nt.outputs, gc.nt.tol()); err != nil {
		return result{"FAIL", "generated code: " + err.Error()}
	}
	return result{"pass", ""}
}

// cloneGraph copies g's values, nodes and ops (constant data is shared:
// passes make new constants rather than change one).
func cloneGraph(g *ir.Graph) *ir.Graph {
	c := &ir.Graph{Name: g.Name}
	vals := map[*ir.Value]*ir.Value{}
	cp := func(v *ir.Value) *ir.Value {
		if v == nil {
			return nil
		}
		if w, ok := vals[v]; ok {
			return w
		}
		w := &ir.Value{Name: v.Name, Type: v.Type, Const: v.Const}
		w.Type.Shape = v.Type.Shape.Clone()
		vals[v] = w
		return w
	}
	for _, v := range g.Inputs {
		c.Inputs = append(c.Inputs, cp(v))
	}
	for _, v := range g.Consts {
		c.Consts = append(c.Consts, cp(v))
	}
	for _, n := range g.Nodes {
		m := &ir.Node{Name: n.Name, Op: cloneOp(n.Op)}
		for _, v := range n.Inputs {
			m.Inputs = append(m.Inputs, cp(v))
		}
		for _, v := range n.Outputs {
			w := cp(v)
			w.Def = m
			m.Outputs = append(m.Outputs, w)
		}
		c.Nodes = append(c.Nodes, m)
	}
	for _, v := range g.Outputs {
		c.Outputs = append(c.Outputs, cp(v))
	}
	return c
}

// cloneOp copies the struct behind a pointer op (value ops are copies).
func cloneOp(op ir.Op) ir.Op {
	rv := reflect.ValueOf(op)
	if rv.Kind() != reflect.Pointer {
		return op
	}
	c := reflect.New(rv.Elem().Type())
	c.Elem().Set(rv.Elem())
	return c.Interface().(ir.Op)
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

func writeRaw(w *bytes.Buffer, t *ir.Tensor) {
	t = t.Dense()
	for i := 0; i < t.Numel(); i++ {
		if t.DType.IsFloat() {
			binary.Write(w, binary.LittleEndian, math.Float32bits(float32(t.Float(i))))
		} else {
			binary.Write(w, binary.LittleEndian, int64(t.Float(i)))
		}
	}
}

// runnerTemplate is the program that runs every generated package on its
// test's inputs (DIR/tNNN.in) and writes its outputs (DIR/tNNN.out) or
// its error (DIR/tNNN.err); a panic is an error of that test only.
var runnerTemplate = template.Must(template.New("runner").Parse(`// Code generated by the node-test harness (frontend/onnx). DO NOT EDIT.

package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
{{range .Cases}}
	"github.com/modelc/modelc/out/test-gen/{{$.Work}}/{{.Pkg}}"
{{- end}}
)

type reader struct{ data []byte }

func (r *reader) f32(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.data[4*i:]))
	}
	r.data = r.data[4*n:]
	return v
}

func (r *reader) i64(n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(r.data[8*i:]))
	}
	r.data = r.data[8*n:]
	return v
}

func putF32(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func putI64(b []byte, v []int64) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

var _ = putI64
var _ = putF32

func main() {
	dir := os.Args[1]
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join(dir, c.name+".in"))
		if err != nil {
			panic(err)
		}
		out, err := safely(c.run, data)
		if err != nil {
			os.WriteFile(filepath.Join(dir, c.name+".err"), []byte(err.Error()), 0o644)
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, c.name+".out"), out, 0o644); err != nil {
			panic(err)
		}
	}
}

func safely(run func([]byte) ([]byte, error), data []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return run(data)
}

var cases = []struct {
	name string
	run  func([]byte) ([]byte, error)
}{
{{- range .Cases}}
	{"{{.Pkg}}", run{{.Pkg}}},
{{- end}}
}
{{range .Cases}}
func run{{.Pkg}}(data []byte) ([]byte, error) {
	r := &reader{data}
	_ = r
	in := {{.Pkg}}.Inputs{ {{- range .Ins}}{{.Field}}: r.{{if eq .Elem "float32"}}f32{{else}}i64{{end}}({{.Len}}), {{end -}} }
	out := {{.Pkg}}.Outputs{ {{- range .Outs}}{{.Field}}: make([]{{.Elem}}, {{.Len}}), {{end -}} }
	m, err := {{.Pkg}}.New()
	if err != nil {
		return nil, err
	}
	if err := m.Run(context.Background(), &out, &in); err != nil {
		return nil, err
	}
	var b []byte
{{- range .Outs}}
	b = put{{if eq .Elem "float32"}}F32{{else}}I64{{end}}(b, out.{{.Field}})
{{- end}}
	return b, nil
}
{{end}}`))
