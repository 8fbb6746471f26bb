package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"text/template"
	"time"

	sources "github.com/modelc/modelc"
	"github.com/modelc/modelc/autotune"
	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/runtime"
)

// driver is a built program that runs a model's generated package: the
// package, the runtime sources this binary carries and a small main,
// built offline with the Go toolchain in a temporary directory.
type driver struct {
	dir   string // temporary directory; Close removes it
	bin   string
	graph *ir.Graph
}

// buildDriver compiles m through the pipeline and codegen and builds the
// driver for it.
func buildDriver(m *frontend.Model, maxBatch int, t *tuned) (*driver, error) {
	p, err := pipeline(m)
	if err != nil {
		return nil, err
	}
	res, err := p.Run(m.Graph, passes.RunOptions{})
	if err != nil {
		return nil, err
	}
	in := codegen.Input{
		Graph: res.Graph, Plan: res.Plan, Package: m.Package, Command: "modelc (driver)",
		Version: runtime.Version, RuntimeImport: runtimeImport, MaxBatch: maxBatch,
	}
	if t != nil {
		in.Tuning, in.TuningDB = t.choices, t.hash()
	}
	files, err := codegen.Generate(in)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "modelc-driver-*")
	if err != nil {
		return nil, err
	}
	d := &driver{dir: tmp, bin: filepath.Join(tmp, "driver.bin"), graph: res.Graph}
	if err := d.write(files); err != nil {
		d.Close()
		return nil, err
	}
	build := exec.Command("go", "build", "-o", d.bin, ".")
	build.Dir = filepath.Join(tmp, "app")
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		d.Close()
		return nil, fmt.Errorf("building the generated package (is the Go toolchain installed? Offline, golang.org/x/sys must be in the module cache: go mod download golang.org/x/sys): %v\n%s", err, out)
	}
	return d, nil
}

func (d *driver) write(files map[string][]byte) error {
	// The runtime as a module of its own name, from the embedded sources.
	if err := autotune.WriteRuntimeModule(filepath.Join(d.dir, "modelc")); err != nil {
		return err
	}
	app := filepath.Join(d.dir, "app")
	if err := codegen.WriteDir(filepath.Join(app, "model"), files, false); err != nil {
		return err
	}
	gomod := "module modelcapp\n\ngo 1.22\n\nrequire github.com/modelc/modelc v0.0.0\n\nreplace github.com/modelc/modelc => ../modelc\n"
	if err := os.WriteFile(filepath.Join(app, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(app, "go.sum"), sources.GoSum, 0o644); err != nil {
		return err
	}
	var src bytes.Buffer
	if err := driverTemplate.Execute(&src, driverData(d.graph)); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(app, "main.go"), src.Bytes(), 0o644)
}

// Close removes the driver's files.
func (d *driver) Close() { os.RemoveAll(d.dir) }

// writeInputs stores ins as raw little-endian values for the driver.
func (d *driver) writeInputs(ins []*ir.Tensor) (string, error) {
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
	f := filepath.Join(d.dir, "in.bin")
	return f, os.WriteFile(f, raw.Bytes(), 0o644)
}

// run runs the model once on ins (after one warm-up call) and returns its
// outputs and the time of the timed call.
func (d *driver) run(ins []*ir.Tensor) ([]*ir.Tensor, time.Duration, error) {
	inFile, err := d.writeInputs(ins)
	if err != nil {
		return nil, 0, err
	}
	batch := 1
	if len(ins) > 0 && len(ins[0].Shape) > 0 {
		batch = ins[0].Shape[0]
	}
	outFile := filepath.Join(d.dir, "out.bin")
	out, err := exec.Command(d.bin, "run", inFile, outFile, fmt.Sprint(batch)).CombinedOutput()
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
	for _, v := range d.graph.Outputs {
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

// Sample is one engine's timings in one configuration, as the driver and
// the peer scripts print them (one JSON line).
type Sample struct {
	Peer    string  `json:"peer"`
	Version string  `json:"version"`
	TimesNs []int64 `json:"times_ns"`
	// CPUNs is each call's CPU time (the generated package's driver
	// only): with one thread, a call's latency less the time it waited
	// for a core while other processes ran.
	CPUNs   []int64 `json:"cpu_ns,omitempty"`
	CPUWall float64 `json:"cpu_wall"`
}

// runGenerated runs m through its generated package (modelc run --engine
// generated): outputs and the time of one warm call.
func runGenerated(m *frontend.Model, ins []*ir.Tensor) ([]*ir.Tensor, time.Duration, error) {
	batch := 1
	if len(ins) > 0 && len(ins[0].Shape) > 0 {
		batch = ins[0].Shape[0]
	}
	d, err := buildDriver(m, max(batch, 1), nil)
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()
	return d.run(ins)
}

type driverPort struct {
	Field, Elem string
	PerSample   int
	Static      bool // a fixed size, whatever the batch (PerSample elements)
}

func driverData(g *ir.Graph) map[string]any {
	taken := map[string]bool{}
	port := func(v *ir.Value) driverPort {
		d, _ := v.Type.Shape.NumelDim()
		elem := "float32"
		if !v.Type.DType.IsFloat() {
			elem = "int64"
		}
		if d.A == 0 {
			return driverPort{Field: codegen.ExportedName(v.Name, taken), Elem: elem, PerSample: d.B, Static: true}
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

// driverTemplate is the program that runs the generated package. Modes:
//
//	run IN OUT N                      one warm-up call, one timed call; writes outputs; prints ns
//	bench IN - N THREADS SECONDS MB   warm-up, then timed calls for SECONDS; prints a JSON Sample
//	profile IN - N THREADS SECONDS    warm-up, then calls for SECONDS with Profile on; prints
//	                                  each step's mean time, operations and bytes as JSON
var driverTemplate = template.Must(template.New("driver").Parse(`package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"syscall"
	"time"

	model "modelcapp/model"

	rt "github.com/modelc/modelc/runtime"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(os.Args[4])
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
	in := model.Inputs{ {{- range .Ins}}{{.Field}}: {{if eq .Elem "float32"}}f32{{else}}i64{{end}}({{if not .Static}}n * {{end}}{{.PerSample}}), {{end -}} }
	out := model.Outputs{ {{- range .Outs}}{{.Field}}: make([]{{.Elem}}, {{if not .Static}}n*{{end}}{{.PerSample}}), {{end -}} }
	if os.Args[1] == "bench" || os.Args[1] == "profile" {
		threads, _ := strconv.Atoi(os.Args[5])
		rt.SetThreads(threads)
	}
	m, err := model.New(model.WithMaxBatch(max(n, 1)))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	call := func() {
		if err := m.Run(ctx, &out, &in); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if os.Args[1] == "profile" {
		seconds, _ := strconv.ParseFloat(os.Args[6], 64)
		for start, i := time.Now(), 0; i < 3 || time.Since(start) < 300*time.Millisecond; i++ {
			call()
		}
		steps := model.Steps()
		times := make([]int64, len(steps))
		if err := m.Profile(times); err != nil {
			panic(err)
		}
		runs := 0
		for start := time.Now(); runs < 5 || time.Since(start).Seconds() < seconds; runs++ {
			call()
		}
		type step struct {
			Name         string
			Ns           float64
			Flops, Bytes float64
		}
		var out []step
		for i, s := range steps {
			fl, by := s.At(n)
			out = append(out, step{s.Name, float64(times[i]) / float64(runs), fl, by})
		}
		json.NewEncoder(os.Stdout).Encode(out)
		return
	}
	if os.Args[1] == "bench" {
		seconds, _ := strconv.ParseFloat(os.Args[6], 64)
		flushMB, _ := strconv.Atoi(os.Args[7])
		flush := make([]byte, flushMB<<20)
		var sink byte
		evict := func() {
			for i := 0; i < len(flush); i += 64 {
				flush[i]++
				sink += flush[i]
			}
		}
		for start, i := time.Now(), 0; i < 5 || time.Since(start) < 500*time.Millisecond; i++ {
			call()
		}
		var times, cpus []int64
		var busy, cpu time.Duration
		for len(times) < 10 || (busy.Seconds() < seconds && len(times) < 5000) {
			if flushMB > 0 {
				evict()
			}
			c0, t0 := cpuTime(), time.Now()
			call()
			d := time.Since(t0)
			c := cpuTime() - c0
			cpu += c
			cpus = append(cpus, c.Nanoseconds())
			busy += d
			times = append(times, d.Nanoseconds())
		}
		_ = sink
		json.NewEncoder(os.Stdout).Encode(map[string]any{
			"peer": "modelc", "version": rt.Version + " (generated, " + rt.CPUTier().String() + " kernels)", "times_ns": times, "cpu_ns": cpus,
			"cpu_wall": cpu.Seconds() / busy.Seconds(),
		})
		return
	}
	call()
	start := time.Now()
	call()
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
	if err := os.WriteFile(os.Args[3], buf, 0o644); err != nil {
		panic(err)
	}
	fmt.Println(elapsed.Nanoseconds())
}
`))
