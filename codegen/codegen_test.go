package codegen_test

import (
	"bytes"
	"debug/elf"
	"fmt"
	"go/scanner"
	"go/token"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/zoo"
)

// generate runs the pipeline on m and generates its package.
func generate(t *testing.T, m *frontend.Model, vec *codegen.Vectors) map[string][]byte {
	t.Helper()
	return generateTuned(t, m, vec, nil, "")
}

// generateTuned is generate with the autotuner's choices for the
// kernels (codegen.Input.Tuning) and the database's hash.
func generateTuned(t *testing.T, m *frontend.Model, vec *codegen.Vectors, tuning map[string]string, db string) map[string][]byte {
	t.Helper()
	tune := func(*ir.Graph) (map[string]string, string, error) { return tuning, db, nil }
	if tuning == nil && db == "" {
		tune = nil
	}
	res, err := compile.Compile(m, compile.Options{Command: "modelc build model.yaml -o .", Version: "test", Test: vec, Tune: tune})
	require.NoError(t, err)
	return res.Files
}

// module writes a generated package into a fresh module (see
// internal/harness) as the folder pkg, and vets it.
func module(t *testing.T, pkg string, files map[string][]byte) *harness.Module {
	t.Helper()
	mod := harness.TempModule(t, pkg)
	mod.MustAdd(t, pkg, files)
	mod.MustGo(t, nil, "vet", "./"+pkg)
	return mod
}

// TestZooPackages generates every zoo model's package, vets it and runs
// its own test, which compares it with the reference evaluator's vectors.
func TestZooPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles four generated packages")
	}
	for _, name := range zoo.Names() {
		t.Run(name, func(t *testing.T) {
			m, err := frontend.LoadNamed(zoo.FS(), name)
			require.NoError(t, err)
			ins, outs, err := m.TestData()
			require.NoError(t, err)
			files := generate(t, m, &codegen.Vectors{Inputs: ins, Outputs: outs, Rtol: m.Test.Rtol})
			mod := module(t, m.Package, files)
			out := mod.MustGo(t, nil, "test", "-count=1", "-v", "./"+m.Package)
			require.Contains(t, out, "--- PASS: TestVectors")
			if name == "resnet20" {
				// Clones on 8 goroutines under the race detector.
				mod.MustGo(t, nil, "test", "-count=1", "-race", "-run", "TestCloneConcurrent", "./"+m.Package)
				staticBinary(t, mod, m.Package)
			}
			// gofmt: generated code is formatted.
			fmtOut, err := exec.Command("gofmt", "-l", mod.PkgDir(m.Package)).CombinedOutput()
			require.NoError(t, err)
			require.Empty(t, strings.TrimSpace(string(fmtOut)))
		})
	}
}

// TestDeterministic: identical inputs give byte-identical output.
func TestDeterministic(t *testing.T) {
	gen := func() map[string][]byte {
		m, err := frontend.LoadNamed(zoo.FS(), "resnet20")
		require.NoError(t, err)
		ins, outs, err := m.TestData()
		require.NoError(t, err)
		return generate(t, m, &codegen.Vectors{Inputs: ins, Outputs: outs, Rtol: 1e-4})
	}
	a, b := gen(), gen()
	require.Equal(t, len(a), len(b))
	for name := range a {
		require.True(t, bytes.Equal(a[name], b[name]), "%s differs between two runs", name)
	}
	for name, data := range a {
		if strings.HasSuffix(name, ".go") {
			require.True(t, strings.HasPrefix(string(data), codegen.Header), name)
		}
	}
	require.Contains(t, string(a["model.go"]), "//go:generate modelc build model.yaml -o .")
}

// TestHostileNames: user strings become identifiers only after
// sanitising, and appear nowhere outside quoted literals or comments.
func TestHostileNames(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	evil := `x"; os.Exit(1)//`
	src := "graph g {\n" +
		"  input %\"" + strings.ReplaceAll(evil, `"`, `\"`) + "\": f32[N,3]\n" +
		"  const %\"my-layer.weight\": f32[2,3] = dense<[1, 2, 3, 4, 5, 6]>\n" +
		"  %type = linear @\"my-layer\" (%\"" + strings.ReplaceAll(evil, `"`, `\"`) + "\", %\"my-layer.weight\"): f32[N,2]\n" +
		"  output %type\n}\n"
	g, err := ir.Parse("evil.ir", []byte(src))
	require.NoError(t, err)
	m := &frontend.Model{Name: "evil", Package: "evil", Graph: g}
	in := ir.SampleInputs(g, 2, 1)
	want, err := ir.Eval(g, in...)
	require.NoError(t, err)
	files := generate(t, m, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4})
	for name, data := range files {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		// Tokenise: "os" "." "Exit" as code (not inside a string or
		// comment token) would mean user text escaped its quotes.
		var sc scanner.Scanner
		fset := token.NewFileSet()
		sc.Init(fset.AddFile(name, -1, len(data)), data, nil, 0)
		var prev []string
		for {
			_, tok, lit := sc.Scan()
			if tok == token.EOF {
				break
			}
			s := tok.String()
			if tok == token.IDENT {
				s = lit
			}
			prev = append(prev, s)
			if n := len(prev); n >= 3 && prev[n-3] == "os" && prev[n-2] == "." && prev[n-1] == "Exit" {
				t.Fatalf("%s: user text reached generated code outside a literal", name)
			}
		}
	}
	require.Contains(t, string(files["model.go"]), "XOsExit1 []float32")
	mod := module(t, "evil", files)
	mod.MustGo(t, nil, "test", "-count=1", "./evil")
}

func TestWriteDirRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644))
	err := codegen.WriteDir(dir, map[string][]byte{"model.go": []byte(codegen.Header + "\npackage x\n")}, false)
	require.ErrorContains(t, err, "is not empty and was not generated by modelc: it has no .modelc-manifest (use --force to replace it")
	// A directory modelc generated is replaced; with force any is.
	gen := filepath.Join(t.TempDir(), "pkg")
	files := map[string][]byte{"model.go": []byte(codegen.Header + "\npackage x\n"), "weights.bin": {0}}
	require.NoError(t, codegen.WriteDir(gen, files, false))
	require.NoError(t, codegen.WriteDir(gen, files, false))
	require.NoError(t, codegen.WriteDir(dir, files, true))
	_, err = os.Stat(filepath.Join(dir, "main.go"))
	require.True(t, os.IsNotExist(err))
}

// staticBinary builds an app importing the generated package with
// CGO_ENABLED=0 and checks the binary has no dynamic loader (static).
func staticBinary(t *testing.T, mod *harness.Module, pkg string) {
	t.Helper()
	src := "package main\n\nimport (\n\t\"fmt\"\n\n\tm \"" + mod.Import(pkg) + "\"\n)\n\nfunc main() {\n\tmodel, err := m.New()\n\tfmt.Println(model.MaxBatch(), err)\n}\n"
	require.NoError(t, os.MkdirAll(mod.PkgDir("app"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(mod.PkgDir("app"), "main.go"), []byte(src), 0o644))
	bin := filepath.Join(mod.Dir, "app.bin")
	mod.MustGo(t, []string{"CGO_ENABLED=0"}, "build", "-o", bin, "./app")
	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "the binary needs a dynamic loader")
	}
	deps := mod.MustGo(t, []string{"CGO_ENABLED=0"}, "list", "-deps", "./app")
	require.NotContains(t, deps, "purego")
	require.NotContains(t, deps, "runtime/cgo")
	run := exec.Command(bin)
	out, err := run.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "32 <nil>\n", string(out))
}

// TestFusedEpilogues compiles fused linear and conv2d kernels (bias or
// not, residual, relu, gelu, gelu_tanh, N not a multiple of the GEMM
// tile, a grouped conv on the direct path) and checks them against the evaluator on the
// unfused graph.
func TestFusedEpilogues(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	src := `graph epi {
  input %x: f32[N,6]
  input %img: f32[N,2,4,4]
  const %w: f32[6,6] = dense<[0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, 0.8, -0.9, 1, 0.1, 0.2, -0.3, 0.4, 0.5, 0.6, 0.7, -0.8, 0.9, 1, 0.1, -0.2, 0.3, 0.4, 0.5, 0.6, -0.7, 0.8, 0.9, 1, 0.1, 0.2, 0.3, -0.4, 0.5, 0.6]>
  const %b: f32[6] = dense<[0.1, -0.2, 0.3, -0.4, 0.5, -0.6]>
  const %gw: f32[2,1,3,3] = dense<[1, -1, 0.5, 2, 0.25, -0.5, 1, 0, 1, -1, 1, -1, 0.5, 0.5, 0.5, 2, -2, 0]>
  const %gb: f32[2] = dense<[0.5, -0.5]>
  const %cw: f32[2,2,3,3] = dense<[1, -1, 0.5, 2, 0.25, -0.5, 1, 0, 1, -1, 1, -1, 0.5, 0.5, 0.5, 2, -2, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9]>
  %h = linear @fc1 (%x, %w, %b): f32[N,6]
  %g = gelu (%h): f32[N,6]
  %y = linear @fc2 (%g, %w): f32[N,6]
  %r = add (%y, %x): f32[N,6]
  %a = gelu (%r) {approximate="tanh"}: f32[N,6]
  %c = conv2d @conv (%img, %cw) {pad=[1,1,1,1]}: f32[N,2,4,4]
  %cr = add (%img, %c): f32[N,2,4,4]
  %co = relu (%cr): f32[N,2,4,4]
  %gc = conv2d @gconv (%co, %gw, %gb) {pad=[1,1,1,1], groups=2}: f32[N,2,4,4]
  %gr = add (%gc, %co): f32[N,2,4,4]
  %go = gelu (%gr): f32[N,2,4,4]
  %s2 = conv2d @sconv (%go, %cw, %gb) {stride=[2,2], pad=[1,1,1,1]}: f32[N,2,2,2]
  %so = relu (%s2): f32[N,2,2,2]
  output %a, %go, %so
}`
	g, err := ir.Parse("epi.ir", []byte(src))
	require.NoError(t, err)
	in := ir.SampleInputs(g, 2, 3)
	want, err := ir.Eval(g, in...)
	require.NoError(t, err)
	m := &frontend.Model{Name: "epi", Package: "epi", Graph: g}
	files := generate(t, m, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4})
	report := string(files["REPORT.md"])
	require.Contains(t, report, "| fuse-epilogue | gelu 2, gelu_tanh 1, relu 2, residual 3 |")
	module(t, "epi", files).EveryTier(t, "./epi")
}

// TestLinearRowBlocks: a linear layer whose rows (batch 9 × 3 = 27) span
// more than one row block of its split (24 rows at K = 1100), with a
// partial last panel (N = 70), bias, residual and GELU, on every tier,
// against the evaluator.
func TestLinearRowBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	const k, n = 1100, 70
	b := ir.NewBuilder("rowblocks")
	x, _ := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(3), ir.D(k)}))
	r, _ := b.Input("r", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(3), ir.D(n)}))
	w, bias := ir.NewTensor(ir.F32, []int{n, k}), ir.NewTensor(ir.F32, []int{n})
	for i := range w.F {
		w.F[i] = float32((i*7919)%23-11) / 64
	}
	for i := range bias.F {
		bias.F[i] = float32(i%5) / 4
	}
	wv, _ := b.Const("w", w)
	bv, _ := b.Const("b", bias)
	y, err := b.Add1("fc", &ir.Linear{}, []*ir.Value{x, wv, bv}, "y")
	require.NoError(t, err)
	s, err := b.Add1("", ir.Simple{K: ir.KAdd}, []*ir.Value{y, r}, "s")
	require.NoError(t, err)
	g, err := b.Add1("", &ir.Gelu{Approximate: "none"}, []*ir.Value{s}, "g")
	require.NoError(t, err)
	b.G.Outputs = []*ir.Value{g}
	in := ir.SampleInputs(b.G, 9, 5)
	want, err := ir.Eval(b.G, in...)
	require.NoError(t, err)
	files := generate(t, &frontend.Model{Name: "rowblocks", Package: "rowblocks", Graph: b.G}, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4})
	require.Contains(t, string(files["REPORT.md"]), "| fuse-epilogue | gelu 1, residual 1 |")
	module(t, "rowblocks", files).EveryTier(t, "./rowblocks")
}

// TestLayerNormRows: layernorm rows of 16 and 48 floats (the amd64 row
// kernels, with and without β), of 32 without scale or shift (the plain
// kernel bn-fold's LayerNorm affine fold leaves) and of 40 (whole AVX2
// vectors, but pure Go at the AVX-512 tier), on every tier, against the
// evaluator.
func TestLayerNormRows(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	b := ir.NewBuilder("lnrows")
	var outs []*ir.Value
	for _, c := range []struct {
		i           int
		beta, plain bool
	}{{16, true, false}, {48, false, false}, {40, true, false}, {32, false, true}} {
		x, _ := b.Input(fmt.Sprintf("x%d", c.i), ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(5), ir.D(c.i)}))
		g := ir.NewTensor(ir.F32, []int{c.i})
		be := ir.NewTensor(ir.F32, []int{c.i})
		for j := range g.F {
			g.F[j], be.F[j] = 1+float32(j%7)/8, float32(j%3)-1
		}
		gv, _ := b.Const(fmt.Sprintf("g%d", c.i), g)
		ins := []*ir.Value{x, gv}
		if c.plain {
			ins = ins[:1]
		}
		if c.beta {
			bv, _ := b.Const(fmt.Sprintf("b%d", c.i), be)
			ins = append(ins, bv)
		}
		y, err := b.Add1(fmt.Sprintf("ln%d", c.i), &ir.LayerNorm{Axis: -1, Eps: 1e-5}, ins, fmt.Sprintf("y%d", c.i))
		require.NoError(t, err)
		outs = append(outs, y)
	}
	b.G.Outputs = outs
	in := ir.SampleInputs(b.G, 3, 9)
	want, err := ir.Eval(b.G, in...)
	require.NoError(t, err)
	files := generate(t, &frontend.Model{Name: "lnrows", Package: "lnrows", Graph: b.G}, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4})
	require.Contains(t, string(files["kernels_amd64.s"]), "layernorm_i16_b_avx512")
	require.Contains(t, string(files["kernels_amd64.s"]), "layernorm_i48_avx2")
	require.Contains(t, string(files["kernels_amd64.s"]), "layernorm_i40_b_avx2")
	require.NotContains(t, string(files["kernels_amd64.s"]), "layernorm_i40_b_avx512")
	require.Contains(t, string(files["kernels_amd64.s"]), "layernorm_i32_plain_avx512")
	require.Contains(t, string(files["kernels_amd64.s"]), "layernorm_i32_plain_avx2")
	module(t, "lnrows", files).EveryTier(t, "./lnrows")
}

// TestElementwiseX86: relu, add, sub and mul on rows of 37, and a
// batchnorm on 5×5 planes (whole vectors on the x86 kernels, the tail in
// Go), on every tier, against the evaluator.
func TestElementwiseX86(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	src := `graph ew {
  input %a: f32[N,37]
  input %b: f32[N,37]
  %r = relu (%a): f32[N,37]
  %s = add (%r, %b): f32[N,37]
  %d = sub (%s, %a): f32[N,37]
  %m = mul (%d, %b): f32[N,37]
  input %img: f32[N,3,5,5]
  const %bg: f32[3] = dense<[1.5, -0.5, 2]>
  const %bb: f32[3] = dense<[0.1, 0.2, -0.3]>
  const %bm: f32[3] = dense<[0.5, -1, 0.25]>
  const %bv: f32[3] = dense<[2, 0.5, 1]>
  %bn = batchnorm (%img, %bg, %bb, %bm, %bv): f32[N,3,5,5]
  output %m, %r, %bn
}`
	g, err := ir.Parse("ew.ir", []byte(src))
	require.NoError(t, err)
	in := ir.SampleInputs(g, 2, 4)
	want, err := ir.Eval(g, in...)
	require.NoError(t, err)
	files := generate(t, &frontend.Model{Name: "ew", Package: "ew", Graph: g}, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4})
	for _, k := range []string{"ew_relu_avx512", "ew_add_avx2", "ew_sub_avx512", "ew_mul_avx2", "ew_affine_avx512"} {
		require.Contains(t, string(files["kernels_amd64.s"]), k)
	}
	module(t, "ew", files).EveryTier(t, "./ew")
}

// TestConvNHWC: convolutions on NHWC activations (layout-assign) against
// the evaluator on every tier, over the cases the direct kernels and their
// drivers distinguish: 3, 10, 20, 32 and 33 channels (tile-buffer column
// tails, two panels), 1×1 without padding, 3×3 and 5×5 windows, stride 2
// with asymmetric padding, bias, fused residual, ReLU and GELU, output
// rows of 11, 6 and 7 pixels (tails of every tile), and the NHWC versions
// of batchnorm, slice, pad and global_avgpool, with relayouts at the
// graph's inputs and outputs and before a broadcasting add; and weights
// and bias fed at run time, with vertical stride 2.
func TestConvNHWC(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	b := ir.NewBuilder("convnhwc")
	seed := 0
	tensor := func(shape ...int) *ir.Tensor {
		w := ir.NewTensor(ir.F32, shape)
		for i := range w.F {
			seed++
			w.F[i] = float32((seed*7919)%41-20) / 64
		}
		return w
	}
	cnst := func(name string, shape ...int) *ir.Value {
		v, err := b.Const(name, tensor(shape...))
		require.NoError(t, err)
		return v
	}
	add := func(name string, op ir.Op, out string, in ...*ir.Value) *ir.Value {
		v, err := b.Add1(name, op, in, out)
		require.NoError(t, err)
		return v
	}
	conv := func(name string, x *ir.Value, o, k int, stride, pad []int, bias bool) *ir.Value {
		c := x.Type.Shape[1].B
		in := []*ir.Value{x, cnst(name+".w", o, c, k, k)}
		if bias {
			in = append(in, cnst(name+".b", o))
		}
		return add(name, &ir.Conv2D{Stride: stride, Pad: pad, Dilation: []int{1, 1}, Groups: 1}, name, in...)
	}
	x, _ := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(3), ir.D(9), ir.D(11)}))
	r, _ := b.Input("r", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(33), ir.D(9), ir.D(11)}))
	z, _ := b.Input("z", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(32), ir.D(6), ir.D(7)}))
	relu := ir.Simple{K: ir.KRelu}
	vt := tensor(20)
	for i, v := range vt.F {
		vt.F[i] = 0.5 + v*v
	}
	variance, err := b.Const("var", vt)
	require.NoError(t, err)
	a := add("", relu, "a", conv("ca", x, 10, 3, []int{1, 1}, []int{1, 1, 1, 1}, true))
	bn := add("bn", &ir.BatchNorm{Eps: 1e-5}, "bn", conv("cb", a, 20, 3, []int{2, 2}, []int{0, 1, 2, 1}, false),
		cnst("g", 20), cnst("be", 20), cnst("mu", 20), variance)
	pool := add("", ir.Simple{K: ir.KGlobalAvgPool}, "pool", bn)
	res := add("", relu, "res", add("", ir.Simple{K: ir.KAdd}, "sum", conv("cc", a, 33, 1, []int{1, 1}, []int{0, 0, 0, 0}, true), r))
	sl := add("", &ir.Slice{Starts: []int{0, 1}, Ends: []int{9, 11}, Axes: []int{2, 3}, Steps: []int{2, 3}}, "sl", a)
	pd := add("", &ir.Pad{Pads: []int{0, 2, 0, 1, 0, 3, 1, 0}}, "pd", sl)
	gl := add("", &ir.Gelu{Approximate: "none"}, "gl", conv("cd", z, 64, 5, []int{1, 1}, []int{2, 2, 2, 2}, true))
	bc := add("", ir.Simple{K: ir.KMul}, "bc", a, cnst("scale", 1, 10, 1, 1))
	// Weights and bias fed at run time: packed by the kernel.
	wr, _ := b.Input("wr", ir.TensorType(ir.F32, ir.Shape{ir.D(6), ir.D(10), ir.D(3), ir.D(3)}))
	br, _ := b.Input("br", ir.TensorType(ir.F32, ir.Shape{ir.D(6)}))
	rw := add("rw", &ir.Conv2D{Stride: []int{2, 1}, Pad: []int{1, 0, 1, 2}, Dilation: []int{1, 1}, Groups: 1}, "rw", a, wr, br)
	b.G.Outputs = []*ir.Value{a, pool, res, pd, gl, bc, rw}
	require.NoError(t, ir.Verify(b.G))
	in := ir.SampleInputs(b.G, 2, 7)
	want, err := ir.Eval(b.G, in...)
	require.NoError(t, err)
	files := generate(t, &frontend.Model{Name: "convnhwc", Package: "convnhwc", Graph: b.G}, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4})
	report := string(files["REPORT.md"])
	require.Contains(t, report, "| layout-assign | nhwc ")
	require.NotContains(t, string(files["kernels.go"]), "im2col", "the NCHW conv path is not used")
	module(t, "convnhwc", files).EveryTier(t, "./convnhwc")
}

// TestSoftmaxRows: softmax over rows of 16, 65 (ViT attention), 37 and 1
// floats (the x86 row kernels: whole vectors, masked tails, a tail only)
// and a log_softmax (pure Go), on every tier and with -tags purego,
// against the evaluator: the package's own vectors (random rows), and
// softmax_special_test.go, written here, with rows the vectors' rule
// cannot hold: all −Inf, one +Inf, a NaN first or last, ±80, −Inf entries.
// There NaN must come out exactly where the evaluator (and PyTorch) has
// it, and the rest match by design.md's kernel rule.
func TestSoftmaxRows(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	// Lengths with no tail, tails of one and three (39: a tail read
	// past its second element shows), and a single element.
	lens := []int{16, 65, 37, 1, 39}
	const rowsPer = 6
	b := ir.NewBuilder("smrows")
	var outs []*ir.Value
	for _, l := range lens {
		x, _ := b.Input(fmt.Sprintf("x%d", l), ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(rowsPer), ir.D(l)}))
		y, err := b.Add1(fmt.Sprintf("sm%d", l), &ir.Softmax{K: ir.KSoftmax, Axis: -1}, []*ir.Value{x}, fmt.Sprintf("y%d", l))
		require.NoError(t, err)
		outs = append(outs, y)
	}
	ls, err := b.Add1("lsm", &ir.Softmax{K: ir.KLogSoftmax, Axis: -1}, []*ir.Value{b.G.Inputs[2]}, "z37")
	require.NoError(t, err)
	b.G.Outputs = append(outs, ls)
	in := ir.SampleInputs(b.G, 3, 11)
	want, err := ir.Eval(b.G, in...)
	require.NoError(t, err)
	files := generate(t, &frontend.Model{Name: "smrows", Package: "smrows", Graph: b.G}, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4})
	for _, l := range lens {
		for _, tier := range []string{"avx512", "avx2"} {
			require.Contains(t, string(files["kernels_amd64.s"]), fmt.Sprintf("softmax_l%d_%s", l, tier))
		}
	}

	// Special rows, one sample of rowsPer rows per length.
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	special := make([]*ir.Tensor, len(lens))
	for k, l := range lens {
		x := ir.SampleInputs(b.G, 1, 12)[k]
		row := func(r int) []float32 { return x.F[r*l : (r+1)*l] }
		for j := range l {
			row(0)[j] = -inf
			row(3)[j] = float32(80 * (1 - 2*(j%2)))
			if j == l-2 {
				row(3)[j] = 200 // the max, in a three-element tail's middle
			}
			// Row 4: large values between −Inf (a max taken wrongly,
			// say as a sum of lane maxima, overflows or underflows exp).
			row(4)[j] = float32(100 + j%7)
			if j%3 == 1 {
				row(4)[j] = -inf
			}
		}
		row(1)[l/2] = inf
		row(2)[l-1] = nan
		row(5)[0] = nan
		special[k] = x
	}
	want, err = ir.Eval(b.G, special...)
	require.NoError(t, err)
	require.True(t, math.IsNaN(float64(want[1].F[0])) && math.IsNaN(float64(want[1].F[65])), "evaluator: all −Inf and +Inf rows give NaN")
	bits := func(ts ...*ir.Tensor) string {
		var sb strings.Builder
		for _, t := range ts {
			sb.WriteString("{")
			for _, v := range t.F {
				fmt.Fprintf(&sb, "%#x,", math.Float32bits(v))
			}
			sb.WriteString("},\n")
		}
		return sb.String()
	}
	var fields []string
	for _, l := range lens {
		fields = append(fields, fmt.Sprintf("X%d", l))
	}
	src := fmt.Sprintf(`package smrows

import (
	"context"
	"math"
	"testing"
)

var specialIn = [][]uint32{
%s}

var specialWant = [][]uint32{
%s}

func floats(b []uint32) []float32 {
	f := make([]float32, len(b))
	for i, v := range b {
		f[i] = math.Float32frombits(v)
	}
	return f
}

// TestSpecialRows checks NaN where the evaluator has it, and the rest by
// design.md's kernel rule (rel_l2 ≤ 1e-5, max_abs ≤ 1e-4·max(1, max|ref|)).
func TestSpecialRows(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	in := Inputs{%[3]s: floats(specialIn[0]), %[4]s: floats(specialIn[1]), %[5]s: floats(specialIn[2]), %[6]s: floats(specialIn[3]), %[7]s: floats(specialIn[4])}
	var out Outputs
	got := []*[]float32{&out.Y16, &out.Y65, &out.Y37, &out.Y1, &out.Y39, &out.Z37}
	for i, g := range got {
		*g = make([]float32, len(specialWant[i]))
	}
	if err := m.Run(context.Background(), &out, &in); err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		want := floats(specialWant[i])
		var d2, r2, maxRef, maxAbs float64
		for j, w := range want {
			a, b := float64((*g)[j]), float64(w)
			if math.IsNaN(b) || math.IsNaN(a) {
				if math.IsNaN(a) != math.IsNaN(b) {
					t.Fatalf("output %%d[%%d] = %%g, want %%g", i, j, a, b)
				}
				continue
			}
			if math.IsInf(b, 0) || math.IsInf(a, 0) {
				if a != b {
					t.Fatalf("output %%d[%%d] = %%g, want %%g", i, j, a, b)
				}
				continue
			}
			d2 += (a - b) * (a - b)
			r2 += b * b
			maxRef = math.Max(maxRef, math.Abs(b))
			maxAbs = math.Max(maxAbs, math.Abs(a-b))
		}
		if math.Sqrt(d2) > 1e-5*math.Sqrt(r2) || maxAbs > 1e-4*math.Max(1, maxRef) {
			t.Fatalf("output %%d: rel_l2 %%.3g, max_abs %%.3g", i, math.Sqrt(d2/r2), maxAbs)
		}
	}
}
`, bits(special...), bits(want...), fields[0], fields[1], fields[2], fields[3], fields[4])
	files["softmax_special_test.go"] = []byte(src)
	module(t, "smrows", files).EveryTier(t, "./smrows")
}

// familiesGraph parses testdata/families.ir (a call site of every kernel
// family) with its constants drawn at random (seed 2), the BatchNorm's
// variance (bv) positive.
func familiesGraph(t *testing.T) *ir.Graph {
	t.Helper()
	src, err := os.ReadFile("testdata/families.ir")
	require.NoError(t, err)
	g, err := ir.Parse("families.ir", src)
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(2))
	for _, v := range g.Consts {
		d := v.Const.Dense()
		for i := range d.F {
			d.F[i] = float32(rng.NormFloat64()) * 0.3
			if v.Name == "bv" {
				d.F[i] = 0.5 + float32(math.Abs(float64(d.F[i])))
			}
		}
		v.Const = d
	}
	return g
}

// TestGroupConvNHWC: grouped convolutions that are not depthwise on NHWC
// activations (kernels.GroupConv) against the evaluator on every tier:
// groups of 4 and 8 channels merged into blocks of 16 output channels,
// groups of 6 and of 20 outputs (one per block: tile-buffer column
// tails, a panel of 32), a channel multiplier of 2 (one input channel a
// group), a constant bias folded into the weights and one fed at run
// time, two convolutions of one shape with different biases, a fused
// residual, ReLU, sigmoid and GELU, stride 2 with asymmetric padding,
// and dilation 2; and squeeze-and-excitation's
// per-channel scale on NHWC rows.
func TestGroupConvNHWC(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	b := ir.NewBuilder("groupconv")
	seed := 0
	cnst := func(name string, shape ...int) *ir.Value {
		w := ir.NewTensor(ir.F32, shape)
		for i := range w.F {
			seed++
			w.F[i] = float32((seed*7919)%41-20) / 64
		}
		v, err := b.Const(name, w)
		require.NoError(t, err)
		return v
	}
	add := func(name string, op ir.Op, out string, in ...*ir.Value) *ir.Value {
		v, err := b.Add1(name, op, in, out)
		require.NoError(t, err)
		return v
	}
	conv := func(name string, x *ir.Value, o, groups int, stride, pad, dil []int, bias *ir.Value) *ir.Value {
		c := x.Type.Shape[1].B
		in := []*ir.Value{x, cnst(name+".w", o, c/groups, 3, 3)}
		if bias != nil {
			in = append(in, bias)
		}
		return add(name, &ir.Conv2D{Stride: stride, Pad: pad, Dilation: dil, Groups: groups}, name, in...)
	}
	one, pad1 := []int{1, 1}, []int{1, 1, 1, 1}
	x, _ := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(32), ir.D(7), ir.D(9)}))
	br, _ := b.Input("br", ir.TensorType(ir.F32, ir.Shape{ir.D(40)}))
	relu := ir.Simple{K: ir.KRelu}
	g1 := add("", relu, "g1", conv("c1", x, 32, 8, one, pad1, one, cnst("b1", 32)))
	g2 := add("", relu, "g2", add("", ir.Simple{K: ir.KAdd}, "s2", conv("c2", g1, 32, 4, one, pad1, one, nil), g1))
	g3 := add("", ir.Simple{K: ir.KSigmoid}, "g3", conv("c3", g2, 24, 4, []int{2, 2}, []int{0, 1, 2, 1}, one, cnst("b3", 24)))
	g4 := add("", &ir.Gelu{Approximate: "none"}, "g4", conv("c4", g2, 40, 2, one, []int{2, 2, 2, 2}, []int{2, 2}, br))
	g5 := conv("c5", x, 64, 32, one, pad1, one, cnst("b5", 64))
	// Squeeze-and-excitation's per-channel scale over NHWC pixels
	// (kernels.ChannelNHWC), the vector second or first, 32 and 24
	// channels (whole vectors, and tails).
	se := func(x *ir.Value, name string) *ir.Value {
		return add("", ir.Simple{K: ir.KSigmoid}, name, add("", ir.Simple{K: ir.KGlobalAvgPool}, name+".pool", x))
	}
	m2 := add("", ir.Simple{K: ir.KMul}, "m2", g2, se(g2, "se2"))
	m3 := add("", ir.Simple{K: ir.KSub}, "m3", se(g3, "se3"), g3)
	// c1's shape again with another bias: a kernel of its own, since
	// the bias is packed into the weights.
	g6 := add("", relu, "g6", conv("c6", g1, 32, 8, one, pad1, one, cnst("b6", 32)))
	// 2-D pools on NHWC rows (kernels.PoolNHWC), between convolutions
	// without a relayout: a max with stride and padding, an average
	// counting the padding.
	mp := add("", &ir.MaxPool{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pad: pad1, Dilation: one}, "mp", g6)
	g7 := conv("c7", mp, 32, 8, one, pad1, one, nil)
	ap := add("", &ir.AvgPool{Kernel: []int{3, 2}, Stride: []int{2, 1}, Pad: []int{1, 0, 1, 1}, CountIncludePad: true}, "ap", g1)
	b.G.Outputs = []*ir.Value{g2, g3, g4, g5, m2, m3, g6, g7, ap}
	require.NoError(t, ir.Verify(b.G))
	in := ir.SampleInputs(b.G, 2, 7)
	want, err := ir.Eval(b.G, in...)
	require.NoError(t, err)
	files := generate(t, &frontend.Model{Name: "groupconv", Package: "groupconv", Graph: b.G}, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4})
	report := string(files["REPORT.md"])
	require.Contains(t, report, "| layout-assign | nhwc ")
	require.Contains(t, report, "| fuse-epilogue | gelu 1, relu 3, residual 1, sigmoid 1 |")
	require.Regexp(t, `\| layout-assign \| nhwc \d+, relayout 12 \|`, report, "relayouts only at the input, the nine outputs and the two pooled vectors")
	require.Contains(t, string(files["kernels.go"]), "maxpool_nx32x4x5_nhwc", "the pools run on NHWC rows")
	kern := string(files["kernels.go"])
	require.Contains(t, kern, "const BLOCKS, CB, OB, KB, BL int = 2, 16, 16, 145,")
	require.NotContains(t, kern, "const CG, OG int", "the direct NCHW loop is not used")
	require.Contains(t, kern, "const C, HW, RB int = 32, 63, 64")
	require.Contains(t, kern, "const C, HW, RB int = 24, 20, 85")
	module(t, "groupconv", files).EveryTier(t, "./groupconv")
}
