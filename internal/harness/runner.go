package harness

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/numerics"
)

// Port is a graph input or output as a generated package's Inputs and
// Outputs structs hold it.
type Port struct {
	Value *ir.Value
	Field string // the struct field (codegen.ExportedName)
	Elem  string // as codegen.PortElem: float32, int64, float64 or uint16
	// PerSample is the elements per sample: the field holds PerSample·n
	// elements at batch n, or exactly PerSample if Static (a shape
	// without the batch N).
	PerSample int
	Static    bool
}

// Ports names g's inputs and outputs as the package generated from g
// does.
func Ports(g *ir.Graph) (ins, outs []Port, err error) {
	taken := map[string]bool{}
	port := func(v *ir.Value) (Port, error) {
		d, ok := v.Type.Shape.NumelDim()
		if !ok || d.A == 0 && d.B < 0 || d.A != 0 && d.B != 0 {
			return Port{}, fmt.Errorf("harness: %s has shape %s, neither batch-major nor static", v.Name, v.Type.Shape)
		}
		p := Port{Value: v, Field: codegen.ExportedName(v.Name, taken), Elem: codegen.PortElem(v.Type.DType), PerSample: d.A}
		if d.A == 0 {
			p.PerSample, p.Static = d.B, true
		}
		return p, nil
	}
	for _, v := range g.Inputs {
		p, err := port(v)
		if err != nil {
			return nil, nil, err
		}
		ins = append(ins, p)
	}
	for _, v := range g.Outputs {
		p, err := port(v)
		if err != nil {
			return nil, nil, err
		}
		outs = append(outs, p)
	}
	return ins, outs, nil
}

// Len is the number of elements p holds at batch n.
func (p Port) Len(n int) int {
	if p.Static {
		return p.PerSample
	}
	return p.PerSample * n
}

// Case is a generated package the runner runs: the folder it has in the
// module and the graph it was generated from (after the pipeline).
type Case struct {
	Pkg   string
	Graph *ir.Graph
}

// Runner is a program built in a Module that imports generated packages
// (its cases) and runs them on inputs written by WriteInputs:
//
//	run DIR                        every case C with a file DIR/C.in: one call, then
//	                               one timed call; writes DIR/C.out (the outputs) and
//	                               DIR/C.ns (the timed call), or DIR/C.err (an error
//	                               or a panic, of that case only); and DIR/tier, the
//	                               kernel tier it ran at
//	bench C IN THREADS SECONDS MB  warm-up, then timed calls for SECONDS (the cache
//	                               flushed by streaming MB MiB before each when MB >
//	                               0); prints one JSON line: peer, version, times_ns,
//	                               cpu_ns (each call's CPU time), cpu_wall (modelc bench)
//	profile C IN THREADS SECONDS   warm-up, then calls for SECONDS with Profile on;
//	                               prints each step's name, mean ns, flops and bytes
//	                               as JSON (modelc bench --layers)
type Runner struct {
	Bin string
	// Emulator, when set, runs Bin: qemu-aarch64-static for a runner
	// built with GOARCH=arm64 in its environment.
	Emulator string
	m        *Module
	cases    map[string]*runnerCase
}

type runnerCase struct {
	Case
	ID        string // the Go identifier of the case in the program
	Ins, Outs []Port
}

// BuildRunner writes the runner program for cases into the module's root
// and builds it with env added to the go command's environment (GOARCH
// cross-compiles) and build tags if any (say "purego").
func (m *Module) BuildRunner(cases []Case, env []string, tags ...string) (*Runner, error) {
	r := &Runner{m: m, cases: map[string]*runnerCase{}}
	var rcs []*runnerCase
	for i, c := range cases {
		ins, outs, err := Ports(c.Graph)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Pkg, err)
		}
		rc := &runnerCase{Case: c, ID: fmt.Sprintf("c%d", i), Ins: ins, Outs: outs}
		r.cases[c.Pkg] = rc
		rcs = append(rcs, rc)
	}
	var src bytes.Buffer
	if err := runnerTemplate.Execute(&src, map[string]any{"Module": m, "Cases": rcs}); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(m.Dir, "runner_main.go"), src.Bytes(), 0o644); err != nil {
		return nil, err
	}
	name := "runner"
	for _, e := range env {
		if arch, ok := strings.CutPrefix(e, "GOARCH="); ok {
			name += "-" + arch
		}
	}
	if len(tags) > 0 {
		name += "-" + strings.Join(tags, "-")
	}
	r.Bin = filepath.Join(m.Dir, name+".bin")
	args := []string{"build", "-o", r.Bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	if _, err := m.Go(env, append(args, ".")...); err != nil {
		return nil, fmt.Errorf("building the generated code: %w", err)
	}
	return r, nil
}

// Batch is the batch that ins hold for the case's inputs: the first
// batch-major input's elements over its per-sample count, 1 if all are
// static.
func (r *Runner) Batch(pkg string, ins []*ir.Tensor) (int, error) {
	c := r.cases[pkg]
	if c == nil {
		return 0, fmt.Errorf("harness: no case %q", pkg)
	}
	if len(ins) != len(c.Ins) {
		return 0, fmt.Errorf("harness: %s: %d inputs, the graph has %d", pkg, len(ins), len(c.Ins))
	}
	for i, p := range c.Ins {
		if !p.Static && p.PerSample > 0 {
			return ins[i].Numel() / p.PerSample, nil
		}
	}
	return 1, nil
}

// WriteInputs writes ins for the case pkg into file, in the runner's
// format: the batch (int64), then each input's elements, float32 or
// int64, little-endian.
func (r *Runner) WriteInputs(file, pkg string, ins []*ir.Tensor) error {
	n, err := r.Batch(pkg, ins)
	if err != nil {
		return err
	}
	c := r.cases[pkg]
	b := binary.LittleEndian.AppendUint64(nil, uint64(n))
	for i, p := range c.Ins {
		t := ins[i].Dense()
		if t.Numel() != p.Len(n) {
			return fmt.Errorf("harness: %s: input %s has %d elements, want %d at batch %d", pkg, p.Value.Name, t.Numel(), p.Len(n), n)
		}
		for j := 0; j < t.Numel(); j++ {
			b = p.put(b, t.Float(j))
		}
	}
	return os.WriteFile(file, b, 0o644)
}

// Result is what one case's run gave: outputs (shaped by the graph at the
// inputs' batch) and the time of the timed call, or the case's error; and
// the kernel tier the runner ran at (runtime.CPUTier).
type Result struct {
	Outputs []*ir.Tensor
	Elapsed time.Duration
	Err     error
	Tier    string
}

// Run runs every case named in inputs (once, then once timed) with env
// added to the environment (GODEBUG, say), in dir, a folder for the
// runner's files. An error is the runner's own (it did not start, or
// crashed outside a case); a case's error or panic, and inputs that do
// not fit its graph, are its Result's Err.
func (r *Runner) Run(dir string, env []string, inputs map[string][]*ir.Tensor) (map[string]*Result, error) {
	batch := map[string]int{}
	res := map[string]*Result{}
	for pkg, ins := range inputs {
		for _, ext := range []string{".in", ".out", ".err", ".ns"} {
			os.Remove(filepath.Join(dir, pkg+ext))
		}
		n, err := r.Batch(pkg, ins)
		if err == nil {
			err = r.WriteInputs(filepath.Join(dir, pkg+".in"), pkg, ins)
		}
		if err != nil {
			res[pkg] = &Result{Err: err}
			continue
		}
		batch[pkg] = n
	}
	cmd := r.command("run", dir)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s the runner: %v\n%s", strings.Join(env, " "), err, out)
	}
	tier, err := os.ReadFile(filepath.Join(dir, "tier"))
	if err != nil {
		return nil, fmt.Errorf("the runner wrote no tier: %v", err)
	}
	for pkg, n := range batch {
		res[pkg] = r.read(dir, pkg, n)
		res[pkg].Tier = string(tier)
		os.Remove(filepath.Join(dir, pkg+".in"))
	}
	return res, nil
}

// read decodes what the runner wrote for the case pkg at batch n.
func (r *Runner) read(dir, pkg string, n int) *Result {
	base := filepath.Join(dir, pkg)
	if msg, err := os.ReadFile(base + ".err"); err == nil {
		return &Result{Err: errors.New(string(msg))}
	}
	data, err := os.ReadFile(base + ".out")
	if err != nil {
		return &Result{Err: fmt.Errorf("no outputs: %v", err)}
	}
	res := &Result{}
	if ns, err := os.ReadFile(base + ".ns"); err == nil {
		var v int64
		fmt.Sscan(string(ns), &v)
		res.Elapsed = time.Duration(v)
	}
	for _, p := range r.cases[pkg].Outs {
		t := ir.NewTensor(p.Value.Type.DType, p.Value.Type.Shape.At(n))
		size := p.size()
		if t.Numel() != p.Len(n) || len(data) < size*t.Numel() {
			return &Result{Err: fmt.Errorf("short output file for %s", p.Value.Name)}
		}
		for j := range t.Numel() {
			p.get(t, j, data[size*j:])
		}
		data = data[size*t.Numel():]
		res.Outputs = append(res.Outputs, t)
	}
	return res
}

// Command is the runner started in a mode other than run (bench,
// profile) for the case pkg, with arguments after the case's name.
func (r *Runner) Command(mode, pkg string, args ...string) *exec.Cmd {
	return r.command(append([]string{mode, pkg}, args...)...)
}

// command runs the runner's binary with args, under its emulator if any.
func (r *Runner) command(args ...string) *exec.Cmd {
	if r.Emulator != "" {
		return exec.Command(r.Emulator, append([]string{r.Bin}, args...)...)
	}
	return exec.Command(r.Bin, args...)
}

// Short is the runner's name for p's element type (its reader's method
// and put function): f32, i64, f64 or u16.
func (p Port) Short() string {
	return map[string]string{"float32": "f32", "int64": "i64", "float64": "f64", "uint16": "u16"}[p.Elem]
}

// size is the bytes of one of p's elements in the runner's files.
func (p Port) size() int {
	return map[string]int{"float32": 4, "int64": 8, "float64": 8, "uint16": 2}[p.Elem]
}

// put appends x as one of p's elements (f16 and bf16 as their bits,
// rounded to nearest even as a generated package's caller would).
func (p Port) put(b []byte, x float64) []byte {
	switch p.Elem {
	case "float32":
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(x)))
	case "float64":
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	case "uint16":
		if p.Value.Type.DType == ir.BF16 {
			return binary.LittleEndian.AppendUint16(b, numerics.F32ToBF16(float32(x)))
		}
		return binary.LittleEndian.AppendUint16(b, numerics.F32ToF16(float32(x)))
	}
	return binary.LittleEndian.AppendUint64(b, uint64(int64(x)))
}

// get sets element j of t from one of p's elements at the start of data.
func (p Port) get(t *ir.Tensor, j int, data []byte) {
	switch p.Elem {
	case "float32":
		t.F[j] = math.Float32frombits(binary.LittleEndian.Uint32(data))
	case "float64":
		t.F[j] = float32(math.Float64frombits(binary.LittleEndian.Uint64(data)))
	case "uint16":
		h := binary.LittleEndian.Uint16(data)
		if p.Value.Type.DType == ir.BF16 {
			t.F[j] = numerics.BF16ToF32(h)
		} else {
			t.F[j] = numerics.F16ToF32(h)
		}
	default:
		t.I[j] = int64(binary.LittleEndian.Uint64(data))
	}
}

// runnerTemplate is the runner program (see Runner).
var runnerTemplate = template.Must(template.New("runner").Parse(`// Code generated by modelc's harness (internal/harness). DO NOT EDIT.

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"syscall"
	"time"

	rt "github.com/modelc/modelc/runtime"
{{range .Cases}}
	{{.ID}} "{{$.Module.Import .Pkg}}"
{{- end}}
)

// instance is one case's model, set up on its inputs.
type instance struct {
	call    func() error
	outputs func() []byte
	profile func([]int64) error
	steps   func() []rt.Step
	n       int
}

type reader struct {
	data []byte
	err  error
}

func (r *reader) f32(n int) []float32 {
	if r.err != nil || len(r.data) < 4*n {
		r.err = fmt.Errorf("short input file")
		return nil
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.data[4*i:]))
	}
	r.data = r.data[4*n:]
	return v
}

func (r *reader) i64(n int) []int64 {
	if r.err != nil || len(r.data) < 8*n {
		r.err = fmt.Errorf("short input file")
		return nil
	}
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(r.data[8*i:]))
	}
	r.data = r.data[8*n:]
	return v
}

func (r *reader) f64(n int) []float64 {
	if r.err != nil || len(r.data) < 8*n {
		r.err = fmt.Errorf("short input file")
		return nil
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(r.data[8*i:]))
	}
	r.data = r.data[8*n:]
	return v
}

func (r *reader) u16(n int) []uint16 {
	if r.err != nil || len(r.data) < 2*n {
		r.err = fmt.Errorf("short input file")
		return nil
	}
	v := make([]uint16, n)
	for i := range v {
		v[i] = binary.LittleEndian.Uint16(r.data[2*i:])
	}
	r.data = r.data[2*n:]
	return v
}

func putf32(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func puti64(b []byte, v []int64) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func putf64(b []byte, v []float64) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func putu16(b []byte, v []uint16) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

var (
	_ = putf32
	_ = puti64
	_ = putf64
	_ = putu16
)

var cases = map[string]func(data []byte) (*instance, error){
{{- range .Cases}}
	{{printf "%q" .Pkg}}: new{{.ID}},
{{- end}}
}
{{range .Cases}}
func new{{.ID}}(data []byte) (*instance, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("short input file")
	}
	n := int(binary.LittleEndian.Uint64(data))
	r := &reader{data: data[8:]}
	_ = r
	in := &{{.ID}}.Inputs{ {{- range .Ins}}{{.Field}}: r.{{.Short}}({{if not .Static}}n*{{end}}{{.PerSample}}), {{end -}} }
	if r.err != nil {
		return nil, r.err
	}
	out := &{{.ID}}.Outputs{ {{- range .Outs}}{{.Field}}: make([]{{.Elem}}, {{if not .Static}}n*{{end}}{{.PerSample}}), {{end -}} }
	m, err := {{.ID}}.New({{.ID}}.WithMaxBatch(max(n, {{.ID}}.DefaultMaxBatch)))
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	return &instance{
		call: func() error { return m.Run(ctx, out, in) },
		outputs: func() []byte {
			var b []byte
{{- range .Outs}}
			b = put{{.Short}}(b, out.{{.Field}})
{{- end}}
			return b
		},
		profile: m.Profile,
		steps:   {{.ID}}.Steps,
		n:       n,
	}, nil
}
{{end}}
func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: runner run DIR | runner bench CASE IN THREADS SECONDS MB | runner profile CASE IN THREADS SECONDS")
		os.Exit(2)
	}
	if os.Args[1] == "run" {
		runAll(os.Args[2])
		return
	}
	newCase := cases[os.Args[2]]
	if newCase == nil || len(os.Args) < 6 {
		fatal(fmt.Errorf("no case %q, or too few arguments", os.Args[2]))
	}
	data, err := os.ReadFile(os.Args[3])
	if err != nil {
		fatal(err)
	}
	c, err := newCase(data)
	if err != nil {
		fatal(err)
	}
	threads, _ := strconv.Atoi(os.Args[4])
	rt.SetThreads(threads)
	seconds, _ := strconv.ParseFloat(os.Args[5], 64)
	switch os.Args[1] {
	case "bench":
		flushMB := 0
		if len(os.Args) > 6 {
			flushMB, _ = strconv.Atoi(os.Args[6])
		}
		bench(c, seconds, flushMB)
	case "profile":
		profile(c, seconds)
	default:
		fatal(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// runAll runs every case with an input file in dir; a case's error or
// panic goes to its .err file.
func runAll(dir string) {
	if err := os.WriteFile(filepath.Join(dir, "tier"), []byte(rt.CPUTier().String()), 0o644); err != nil {
		fatal(err)
	}
	for name, newCase := range cases {
		data, err := os.ReadFile(filepath.Join(dir, name+".in"))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			fatal(err)
		}
		out, ns, err := safely(newCase, data)
		if err != nil {
			os.WriteFile(filepath.Join(dir, name+".err"), []byte(err.Error()), 0o644)
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name+".out"), out, 0o644); err != nil {
			fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".ns"), []byte(strconv.FormatInt(ns, 10)), 0o644); err != nil {
			fatal(err)
		}
	}
}

// safely sets a case up, calls it once, then once timed.
func safely(newCase func([]byte) (*instance, error), data []byte) (out []byte, ns int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	c, err := newCase(data)
	if err != nil {
		return nil, 0, err
	}
	if err := c.call(); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := c.call(); err != nil {
		return nil, 0, err
	}
	ns = time.Since(start).Nanoseconds()
	return c.outputs(), ns, nil
}

func must(err error) {
	if err != nil {
		fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// emulated labels timings taken under user-mode emulation: qemu-user
// runs an arm64 binary on an x86 host, whose /proc/cpuinfo it shows, and
// such timings say nothing of a real core.
func emulated() string {
	if goruntime.GOARCH != "arm64" {
		return ""
	}
	if b, _ := os.ReadFile("/proc/cpuinfo"); bytes.Contains(b, []byte("vendor_id")) {
		return "; emulated: correctness only"
	}
	return ""
}

func bench(c *instance, seconds float64, flushMB int) {
	flush := make([]byte, flushMB<<20)
	var sink byte
	evict := func() {
		for i := 0; i < len(flush); i += 64 {
			flush[i]++
			sink += flush[i]
		}
	}
	for start, i := time.Now(), 0; i < 5 || time.Since(start) < 500*time.Millisecond; i++ {
		must(c.call())
	}
	var times, cpus []int64
	var busy, cpu time.Duration
	for len(times) < 10 || (busy.Seconds() < seconds && len(times) < 5000) {
		if flushMB > 0 {
			evict()
		}
		c0, t0 := cpuTime(), time.Now()
		err := c.call()
		d := time.Since(t0)
		must(err)
		used := cpuTime() - c0
		cpu += used
		cpus = append(cpus, used.Nanoseconds())
		busy += d
		times = append(times, d.Nanoseconds())
	}
	_ = sink
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"peer": "modelc", "version": rt.Version + " (generated, " + rt.CPUTier().String() + " kernels" + emulated() + ")", "times_ns": times,
		"cpu_ns": cpus, "cpu_wall": cpu.Seconds() / busy.Seconds(),
	})
}

func profile(c *instance, seconds float64) {
	for start, i := time.Now(), 0; i < 3 || time.Since(start) < 300*time.Millisecond; i++ {
		must(c.call())
	}
	steps := c.steps()
	times := make([]int64, len(steps))
	must(c.profile(times))
	runs := 0
	for start := time.Now(); runs < 5 || time.Since(start).Seconds() < seconds; runs++ {
		must(c.call())
	}
	type step struct {
		Name         string
		Ns           float64
		Flops, Bytes float64
	}
	var out []step
	for i, s := range steps {
		fl, by := s.At(c.n)
		out = append(out, step{s.Name, float64(times[i]) / float64(runs), fl, by})
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
`))
