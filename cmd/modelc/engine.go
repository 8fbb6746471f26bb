package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	sources "github.com/modelc/modelc"
	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/runtime"
)

// runGenerated runs m through its generated package: it generates the
// package, writes the runtime sources this binary carries and a small
// driver beside it, builds them offline with the Go toolchain and runs
// the driver on ins. It returns the outputs and the time of the Run call
// inside the driver (neither build nor start-up).
func runGenerated(m *frontend.Model, ins []*ir.Tensor) ([]*ir.Tensor, time.Duration, error) {
	p, err := pipeline(m)
	if err != nil {
		return nil, 0, err
	}
	res, err := p.Run(m.Graph, passes.RunOptions{})
	if err != nil {
		return nil, 0, err
	}
	files, err := codegen.Generate(codegen.Input{
		Graph: res.Graph, Plan: res.Plan, Package: m.Package, Command: "modelc run --engine generated",
		Version: runtime.Version, RuntimeImport: runtimeImport, MaxBatch: 32,
	})
	if err != nil {
		return nil, 0, err
	}
	tmp, err := os.MkdirTemp("", "modelc-run-*")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(tmp)

	// The runtime as a module of its own name, from the embedded sources.
	rtDir := filepath.Join(tmp, "modelc")
	err = fs.WalkDir(sources.RuntimeSources, "runtime", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") {
			return err
		}
		data, err := fs.ReadFile(sources.RuntimeSources, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(rtDir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return nil, 0, err
	}
	if err := os.WriteFile(filepath.Join(rtDir, "go.mod"), []byte("module github.com/modelc/modelc\n\ngo 1.22\n"), 0o644); err != nil {
		return nil, 0, err
	}
	// The app: the generated package and a driver.
	app := filepath.Join(tmp, "app")
	if err := codegen.WriteDir(filepath.Join(app, "model"), files, false); err != nil {
		return nil, 0, err
	}
	gomod := "module modelcapp\n\ngo 1.22\n\nrequire github.com/modelc/modelc v0.0.0\n\nreplace github.com/modelc/modelc => ../modelc\n"
	if err := os.WriteFile(filepath.Join(app, "go.mod"), []byte(gomod), 0o644); err != nil {
		return nil, 0, err
	}
	var driver bytes.Buffer
	if err := driverTemplate.Execute(&driver, driverData(m.Graph)); err != nil {
		return nil, 0, err
	}
	if err := os.WriteFile(filepath.Join(app, "main.go"), driver.Bytes(), 0o644); err != nil {
		return nil, 0, err
	}
	// Inputs as raw little-endian values, in graph order.
	var raw bytes.Buffer
	for _, t := range ins {
		for i := 0; i < t.Numel(); i++ {
			if t.DType.IsFloat() {
				binary.Write(&raw, binary.LittleEndian, math.Float32bits(float32(t.Float(i))))
			} else {
				binary.Write(&raw, binary.LittleEndian, int64(t.Float(i)))
			}
		}
	}
	inFile, outFile := filepath.Join(tmp, "in.bin"), filepath.Join(tmp, "out.bin")
	if err := os.WriteFile(inFile, raw.Bytes(), 0o644); err != nil {
		return nil, 0, err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(tmp, "app.bin"), ".")
	build.Dir = app
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, 0, fmt.Errorf("building the generated package (is the Go toolchain installed?): %v\n%s", err, out)
	}
	batch := 1
	if len(ins) > 0 && len(ins[0].Shape) > 0 {
		batch = ins[0].Shape[0]
	}
	run := exec.Command(filepath.Join(tmp, "app.bin"), inFile, outFile, fmt.Sprint(batch))
	out, err := run.CombinedOutput()
	if err != nil {
		return nil, 0, fmt.Errorf("running the generated package: %v\n%s", err, out)
	}
	var ns int64
	if _, err := fmt.Sscanf(string(out), "%d", &ns); err != nil {
		return nil, 0, fmt.Errorf("driver printed %q", out)
	}
	data, err := os.ReadFile(outFile)
	if err != nil {
		return nil, 0, err
	}
	var outs []*ir.Tensor
	off := 0
	for _, v := range m.Graph.Outputs {
		t := ir.NewTensor(v.Type.DType, v.Type.Shape.At(batch))
		for i := range t.F {
			t.F[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
			off += 4
		}
		for i := range t.I {
			t.I[i] = int64(binary.LittleEndian.Uint64(data[off:]))
			off += 8
		}
		outs = append(outs, t)
	}
	return outs, time.Duration(ns), nil
}

type driverPort struct {
	Field, Elem string
	PerSample   int
}

func driverData(g *ir.Graph) map[string]any {
	taken := map[string]bool{}
	port := func(v *ir.Value) driverPort {
		d, _ := v.Type.Shape.NumelDim()
		elem := "float32"
		if !v.Type.DType.IsFloat() {
			elem = "int64"
		}
		return driverPort{Field: codegen.ExportedName(v.Name, taken), Elem: elem, PerSample: d.A}
	}
	var ins, outs []driverPort
	for _, v := range g.Inputs {
		ins = append(ins, port(v))
	}
	for _, v := range g.Outputs {
		outs = append(outs, port(v))
	}
	return map[string]any{"Ins": ins, "Outs": outs}
}

// driverTemplate is the app that runs the generated package: it reads
// raw inputs, runs once to warm up, times a second run, writes outputs.
var driverTemplate = template.Must(template.New("driver").Parse(`package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	model "modelcapp/model"
)

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(os.Args[3])
	off := 0
	f32 := func(k int) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
			off += 4
		}
		return v
	}
	i64 := func(k int) []int64 {
		v := make([]int64, k)
		for i := range v {
			v[i] = int64(binary.LittleEndian.Uint64(data[off:]))
			off += 8
		}
		return v
	}
	_, _ = f32, i64
	in := model.Inputs{ {{- range .Ins}}{{.Field}}: {{if eq .Elem "float32"}}f32{{else}}i64{{end}}(n * {{.PerSample}}), {{end -}} }
	out := model.Outputs{ {{- range .Outs}}{{.Field}}: make([]{{.Elem}}, n*{{.PerSample}}), {{end -}} }
	m, err := model.New(model.WithMaxBatch(max(n, 1)))
	if err != nil {
		panic(err)
	}
	if err := m.Run(context.Background(), &out, &in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	start := time.Now()
	if err := m.Run(context.Background(), &out, &in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	elapsed := time.Since(start)
	var buf []byte
{{- range .Outs}}
	for _, v := range out.{{.Field}} {
		{{- if eq .Elem "float32"}}
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		{{- else}}
		buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
		{{- end}}
	}
{{- end}}
	if err := os.WriteFile(os.Args[2], buf, 0o644); err != nil {
		panic(err)
	}
	fmt.Println(elapsed.Nanoseconds())
}
`))
