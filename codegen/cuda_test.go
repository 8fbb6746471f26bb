package codegen_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/codegen/ptx"
	"github.com/modelc/modelc/codegen/ptx/ptxvm"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime"
	"github.com/modelc/modelc/zoo"
)

// cudaCompile compiles m with the CUDA back end for batches up to 4.
func cudaCompile(t *testing.T, m *frontend.Model, o codegen.CUDAOptions) *compile.Result {
	t.Helper()
	return cudaCompileBatch(t, m, 4, o)
}

func cudaCompileBatch(t *testing.T, m *frontend.Model, maxBatch int, o codegen.CUDAOptions) *compile.Result {
	t.Helper()
	res, err := compile.Compile(m, compile.Options{Command: "modelc build model.yaml --target cuda", Version: "test", MaxBatch: maxBatch, CUDA: &o})
	require.NoError(t, err)
	require.NotNil(t, res.CUDA)
	return res
}

// samples are the first n samples of each test tensor (dimension 0 is
// the batch).
func samples(ts []*ir.Tensor, n int) []*ir.Tensor {
	var r []*ir.Tensor
	for _, t := range ts {
		c := *t
		c.Shape = append([]int{n}, t.Shape[1:]...)
		per := t.Numel() / t.Shape[0]
		if c.F != nil {
			c.F = t.F[:n*per]
		}
		if c.I != nil {
			c.I = t.I[:n*per]
		}
		r = append(r, &c)
	}
	return r
}

func tensorBytes(t *ir.Tensor) []byte {
	if t.DType.IsFloat() {
		b := make([]byte, 4*len(t.F))
		for i, f := range t.F {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
		}
		return b
	}
	b := make([]byte, 8*len(t.I))
	for i, v := range t.I {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return b
}

// runDevice runs a compiled model's device program on d for the inputs
// (in the graph's input order) and returns its float outputs.
func runDevice(t *testing.T, res *compile.Result, d runtime.Device, ins []*ir.Tensor) [][]float32 {
	t.Helper()
	ex, p, err := loadProgram(res.CUDA, d)
	require.NoError(t, err)
	defer func() { require.NoError(t, ex.Close()) }()
	inb, outb, err := portBuffers(res, p, ins)
	require.NoError(t, err)
	require.NoError(t, ex.Run(ins[0].Shape[0], inb, outb))
	return decodeF32(outb)
}

// loadProgram loads a compiled model's device program on d.
func loadProgram(cp *codegen.CUDAProgram, d runtime.Device) (runtime.Executor, *runtime.DeviceProgram, error) {
	splat := make([]byte, 4*len(cp.Splat))
	for i, f := range cp.Splat {
		binary.LittleEndian.PutUint32(splat[4*i:], math.Float32bits(f))
	}
	p := *cp.Program
	ex, err := d.Load(&p, runtime.DeviceBinding{Weights: cp.Weights, Splat: splat})
	return ex, &p, err
}

// portBuffers are the inputs' bytes (in the program's port order) and
// room for the outputs at the inputs' batch.
func portBuffers(res *compile.Result, p *runtime.DeviceProgram, ins []*ir.Tensor) (inb, outb [][]byte, err error) {
	n := ins[0].Shape[0]
	byName := map[string]*ir.Tensor{}
	for i, v := range res.Graph.Inputs {
		byName[v.Name] = ins[i]
	}
	for _, q := range p.Inputs {
		x, ok := byName[q.Name]
		if !ok {
			return nil, nil, fmt.Errorf("no input %s", q.Name)
		}
		inb = append(inb, tensorBytes(x))
	}
	for _, q := range p.Outputs {
		outb = append(outb, make([]byte, q.Bytes(n)))
	}
	return inb, outb, nil
}

func decodeF32(bs [][]byte) [][]float32 {
	var outs [][]float32
	for _, b := range bs {
		f := make([]float32, len(b)/4)
		for i := range f {
			f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		outs = append(outs, f)
	}
	return outs
}

// TestCUDAZoo compiles every zoo model with the CUDA back end and has
// ptxas assemble its module for sm_80 and sm_90 (no spills); with
// MODELC_LONG=1 (make test-long, minutes) it also runs the whole device
// program in the PTX interpreter (the executor a GPU runs, over ptxvm) on
// the first two test samples, checking each output against the reference
// evaluator on the same inputs by design.md's GPU rule (rtol 1e-3).
func TestCUDAZoo(t *testing.T) {
	for _, name := range zoo.Names() {
		t.Run(name, func(t *testing.T) {
			m, err := frontend.LoadNamed(zoo.FS(), name)
			require.NoError(t, err)
			start := time.Now()
			res := cudaCompile(t, m, codegen.CUDAOptions{})
			t.Logf("compiled in %v", time.Since(start))
			require.Contains(t, string(res.Files["REPORT.md"]), "## CUDA")
			assembleProgram(t, res.CUDA)
			if os.Getenv("MODELC_LONG") == "" {
				return // the interpreter's whole-model runs are make test-long's (TestCUDATiny is make test's)
			}
			tins, _, err := m.TestData()
			require.NoError(t, err)
			ins := samples(tins, 2)
			want, err := ir.Eval(m.Graph, ins...)
			require.NoError(t, err)
			// The interpreter runs the smallest default tile (the package's
			// own tiles are ptx's tests' business): a 128×128 tile at batch 2
			// interprets 256 threads for 2 rows.
			small := ptx.DefaultTiles[len(ptx.DefaultTiles)-1]
			res = cudaCompile(t, m, codegen.CUDAOptions{Tile: &small})
			start = time.Now()
			got := runDevice(t, res, ptxvm.Device{}, ins)
			t.Logf("interpreted in %v", time.Since(start))
			require.Len(t, got, len(want))
			for i, w := range want {
				rep, err := match.Outputs(got[i], w.F, w.Shape[len(w.Shape)-1], 1e-3)
				require.NoError(t, err, "output %d", i)
				t.Logf("output %d: max error %.3g of the tolerance", i, rep.MaxErr)
			}
		})
	}
}

// assembleProgram has ptxas assemble a program's module for every target
// and checks no kernel spills.
func assembleProgram(t *testing.T, cp *codegen.CUDAProgram) {
	t.Helper()
	p, err := ptx.FindPtxas()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: with CI=true the PTX assembly tests must run (make tools fetches ptxas)", err)
		}
		t.Logf("not assembled: %v", err)
		return
	}
	for _, target := range ptx.Targets {
		res, err := ptx.Assemble(p, []byte(cp.Program.PTX[target]), target)
		require.NoError(t, err, target)
		require.NotEmpty(t, res)
		for name, r := range res {
			require.Zero(t, r.SpillStores+r.SpillLoads, "%s spills on %s: %+v", name, target, r)
		}
	}
}

// tinyModels exercise every PTX family the lowering emits at sizes the
// interpreter runs in seconds: an embedding, attention, layernorm,
// fused linear epilogues and softmax; NHWC convolutions with batchnorm
// folded, a strided slice, a pad, a residual, global average pooling.
var tinyModels = map[string]string{
	"decoder": `name: tiny-decoder
inputs: [{name: tokens, shape: [N, 8], dtype: i64}]
init: {seed: 3}
graph:
  - embedding: {name: tok, vocab: 16, dim: 32, out: t}
  - param: {name: pos, shape: [1, 8, 32]}
  - add: {in: [t, pos], out: h}
  - layernorm: {name: ln1}
  - attention: {name: attn, heads: 2, causal: true, out: a}
  - add: {in: [h, a], out: h2}
  - layernorm: {name: ln2}
  - linear: {name: fc1, features: 48}
  - gelu:
  - linear: {name: fc2, features: 32, out: m}
  - add: {in: [h2, m]}
  - linear: {name: head, features: 16}
  - softmax: {axis: -1}
`,
	"convnet": `name: tiny-convnet
inputs: [{name: image, shape: [N, 3, 8, 8], dtype: f32}]
init: {seed: 4}
graph:
  - conv2d: {name: conv, filters: 8, kernel: 3, pad: 1, bias: false}
  - batchnorm: {name: bn}
  - relu: {out: x}
  - conv2d: {name: conv1, filters: 16, kernel: 3, stride: 2, pad: 1}
  - relu:
  - conv2d: {name: conv2, filters: 16, kernel: 3, pad: 1, out: y}
  - slice: {in: x, starts: [0, 0], ends: [1000000, 1000000], axes: [2, 3], steps: [2, 2]}
  - pad: {pads: [0, 4, 0, 0, 0, 4, 0, 0], out: s}
  - add: {in: [y, s]}
  - relu:
  - global_avgpool:
  - flatten: {axis: 1}
  - linear: {name: fc, features: 10}
`,
}

// TestCUDATiny runs each tiny model's device program in the interpreter
// at batch 3 (forward, and with each block's threads in reverse, which a
// missing barrier would change) against the reference evaluator.
func TestCUDATiny(t *testing.T) {
	for name, src := range tinyModels {
		t.Run(name, func(t *testing.T) {
			m, err := frontend.LoadFS(fstest.MapFS{"model.yaml": {Data: []byte(src)}}, "model.yaml")
			require.NoError(t, err)
			res := cudaCompile(t, m, codegen.CUDAOptions{})
			assembleProgram(t, res.CUDA)
			r := rand.New(rand.NewPCG(1, 2))
			var ins []*ir.Tensor
			for _, v := range m.Graph.Inputs {
				shape := []int{3}
				for _, d := range v.Type.Shape[1:] {
					shape = append(shape, d.B)
				}
				x := &ir.Tensor{DType: v.Type.DType, Shape: shape}
				n := x.Numel()
				if v.Type.DType == ir.I64 {
					for range n {
						x.I = append(x.I, int64(r.IntN(16)))
					}
				} else {
					for range n {
						x.F = append(x.F, float32(r.NormFloat64()))
					}
				}
				ins = append(ins, x)
			}
			want, err := ir.Eval(m.Graph, ins...)
			require.NoError(t, err)
			for _, reverse := range []bool{false, true} {
				got := runDevice(t, res, ptxvm.Device{Options: ptxvm.Options{Reverse: reverse}}, ins)
				for i, w := range want {
					rep, err := match.Outputs(got[i], w.F, w.Shape[len(w.Shape)-1], 1e-3)
					require.NoError(t, err, "output %d (reverse %v)", i, reverse)
					t.Logf("output %d: max error %.3g of the tolerance", i, rep.MaxErr)
				}
			}
		})
	}
}

// fallbackModel has a maxpool, which has no PTX generator: --cuda-fallback
// cpu runs it on the host between the device's steps.
const fallbackModel = `name: tiny-pool
package: tinypool
inputs: [{name: image, shape: [N, 3, 8, 8], dtype: f32}]
init: {seed: 5}
graph:
  - conv2d: {name: conv, filters: 8, kernel: 3, pad: 1}
  - relu:
  - maxpool: {kernel: 2}
  - flatten: {axis: 1}
  - linear: {name: fc, features: 10, out: logits}
`

// TestCUDAPackage generates a CUDA package whose maxpool runs on the host
// (--cuda-fallback cpu), vets it, and runs, in its own module: a test
// that compares New(WithDevice(ptxvm.Device{})) (the generated cuda.go,
// the executor, the host step, in the interpreter) with the CPU Model;
// an application with CGO_ENABLED=0 using only the CPU path, which must
// be static and link no purego; and one that asks for
// WithDevice(cuda.Device(0)), which without a driver must fail at New
// with an error saying so.
func TestCUDAPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	m, err := frontend.LoadFS(fstest.MapFS{"model.yaml": {Data: []byte(fallbackModel)}}, "model.yaml")
	require.NoError(t, err)
	_, err = compile.Compile(m, compile.Options{CUDA: &codegen.CUDAOptions{}})
	require.ErrorContains(t, err, "--target cuda: step 2: maxpool") // step 1 the conv, NHWC into the pool (no relayout)
	require.ErrorContains(t, err, "maxpool has no PTX generator (build with --cuda-fallback cpu to run it on the CPU)")
	res, err := compile.Compile(m, compile.Options{Command: "modelc build model.yaml --target cuda --cuda-fallback cpu", Version: "test",
		CUDA: &codegen.CUDAOptions{Fallback: true}})
	require.NoError(t, err)
	require.Contains(t, string(res.Files["REPORT.md"]), "| **CPU** (maxpool has no PTX generator) |")
	mod := module(t, m.Package, res.Files)
	fmtOut, err := exec.Command("gofmt", "-l", mod.PkgDir(m.Package)).CombinedOutput()
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(string(fmtOut)))

	// The CPU path of a CUDA package: static, no purego.
	staticBinary(t, mod, m.Package)

	// A package with int64 inputs (token ids) and every step on the device.
	dm, err := frontend.LoadFS(fstest.MapFS{"model.yaml": {Data: []byte(tinyModels["decoder"])}}, "model.yaml")
	require.NoError(t, err)
	dres, err := compile.Compile(dm, compile.Options{Package: "tinydecoder", Version: "test", CUDA: &codegen.CUDAOptions{}})
	require.NoError(t, err)
	require.Contains(t, string(dres.Files["cuda.go"]), "d.ins[0] = i64Bytes(in.Tokens)")
	mod.MustAdd(t, "tinydecoder", dres.Files)
	mod.MustGo(t, nil, "vet", "./tinydecoder")

	// The module also requires this checkout's modelc (for ptxvm) and
	// runtime/cuda.
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	goMod, err := os.ReadFile(filepath.Join(mod.Dir, "go.mod"))
	require.NoError(t, err)
	for _, dep := range []struct{ path, dir string }{{"github.com/modelc/modelc", root}, {"github.com/modelc/modelc/runtime/cuda", filepath.Join(root, "runtime", "cuda")}} {
		goMod = append(goMod, []byte("\nrequire "+dep.path+" v0.0.0\n\nreplace "+dep.path+" => "+dep.dir+"\n")...)
	}
	require.NoError(t, os.WriteFile(filepath.Join(mod.Dir, "go.mod"), goMod, 0o644))
	f, err := os.OpenFile(filepath.Join(mod.Dir, "go.sum"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	for _, sums := range []string{"go.sum", "runtime/cuda/go.sum"} {
		sum, err := os.ReadFile(filepath.Join(root, sums))
		require.NoError(t, err)
		_, err = f.Write(sum)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())

	// WithDevice(cuda.Device(0)) without a driver: New's error.
	if _, err := os.Stat("/proc/driver/nvidia/version"); err != nil {
		app := "package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/modelc/modelc/runtime/cuda\"\n\n\tm \"" + mod.Import(m.Package) +
			"\"\n)\n\nfunc main() {\n\t_, err := m.New(m.WithDevice(cuda.Device(0)))\n\tfmt.Println(err)\n}\n"
		require.NoError(t, os.MkdirAll(mod.PkgDir("gpuapp"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(mod.PkgDir("gpuapp"), "main.go"), []byte(app), 0o644))
		out := mod.MustGo(t, []string{"CGO_ENABLED=0", "GOFLAGS=-mod=mod"}, "run", "./gpuapp")
		require.Contains(t, out, "tinypool: WithDevice(cuda:0): cuda: no CUDA driver: ")
	}

	// The device path in the interpreter, against the CPU Model.
	require.NoError(t, os.WriteFile(filepath.Join(mod.PkgDir(m.Package), "device_test.go"), []byte(deviceTest), 0o644))
	out := mod.MustGo(t, []string{"GOFLAGS=-mod=mod"}, "test", "-count=1", "-v", "-run", "TestDevice", "./"+m.Package)
	require.Contains(t, out, "--- PASS: TestDevice")
}

// deviceTest is TestCUDAPackage's test in the generated package.
const deviceTest = `package tinypool

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/modelc/modelc/codegen/ptx/ptxvm"
)

func TestDevice(t *testing.T) {
	cpu, err := New()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := New(WithDevice(ptxvm.Device{}), WithMaxBatch(4))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{3, 1} {
		in := &Inputs{Image: make([]float32, n*192)}
		for i := range in.Image {
			in.Image[i] = float32(r.NormFloat64())
		}
		want, got := &Outputs{Logits: make([]float32, n*10)}, &Outputs{Logits: make([]float32, n*10)}
		if err := cpu.Run(context.Background(), want, in); err != nil {
			t.Fatal(err)
		}
		if err := dev.Run(context.Background(), got, in); err != nil {
			t.Fatal(err)
		}
		maxAbs := 0.0
		for _, w := range want.Logits {
			maxAbs = math.Max(maxAbs, math.Abs(float64(w)))
		}
		for i, w := range want.Logits {
			if d := math.Abs(float64(got.Logits[i] - w)); d > 1e-3*(math.Abs(float64(w))+maxAbs) {
				t.Fatalf("batch %d: logits[%d] = %v on the device, %v on the CPU", n, i, got.Logits[i], w)
			}
		}
	}
}
`

// TestCUDATwins compiles every accuracy twin (zoo/twins) with the CUDA
// back end, every step on the device (the Kronecker-factored twins'
// factored layers on the CPU), and has ptxas assemble its module for
// sm_80 and sm_90.
func TestCUDATwins(t *testing.T) {
	dir := filepath.Join("..", "zoo", "twins")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		file := filepath.Join(dir, e.Name(), "model.yaml")
		if _, err := os.Stat(file); err != nil {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			m, err := frontend.Load(file, frontend.Options{})
			require.NoError(t, err)
			var o codegen.CUDAOptions
			if e.Name() == "phm-mlp" || e.Name() == "phc-cnn" {
				// Kronecker-factored layers have no PTX generator yet:
				// they run on the CPU (--cuda-fallback cpu), the rest on
				// the device.
				o.Fallback = true
			}
			assembleProgram(t, cudaCompile(t, m, o).CUDA)
		})
	}
	require.NotZero(t, n)
}
