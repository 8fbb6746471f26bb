package codegen_test

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/qemu"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/zoo"
)

// TestARM64Packages cross-compiles generated packages for arm64 and runs
// their own tests under qemu on each emulated core (qemu.ARM64): one
// holding a call site of every kernel family (testdata/families.ir, so
// the NEON linear, convolution, attention, layernorm, softmax and
// element-wise kernels), and the zoo's resnet20 and gpt-mini (with
// MODELC_LONG=1, as make test-long sets it, every zoo model and accuracy
// twin). TestVectors
// checks each against the reference evaluator's outputs, TestTier that
// the NEON kernels run at the core's tier; go vet (asmdecl) checks the
// arm64 assembly against its Go declarations, and -tags purego runs the
// first package's pure-Go kernels on arm64.
func TestARM64Packages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and emulates packages")
	}
	t.Parallel() // mostly waiting on the emulator: overlap it with the package's other builds
	emulator := qemu.Path(t)
	g := familiesGraph(t)
	in := ir.SampleInputs(g, 3, 5)
	want, err := ir.Eval(g, in...)
	require.NoError(t, err)
	pkgs := map[string]map[string][]byte{
		"families": generate(t, &frontend.Model{Name: "families", Package: "families", Graph: g}, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4}),
	}
	zooModels := []string{"resnet20", "gpt-mini"}
	var twins []string
	if os.Getenv("MODELC_LONG") == "1" { // make test-long: every zoo model and twin
		zooModels = zoo.Names()
		twins = []string{"phc-cnn", "phm-mlp", "repvgg", "resmlp-bn", "vit", "vit-repbn"}
	}
	for _, name := range twins {
		m, err := frontend.Load(filepath.Join("..", "zoo", "twins", name, "model.yaml"), frontend.Options{})
		require.NoError(t, err)
		ins, outs, err := m.TestData()
		require.NoError(t, err)
		pkgs[m.Package] = generate(t, m, &codegen.Vectors{Inputs: ins, Outputs: outs, Rtol: m.Test.Rtol})
	}
	for _, name := range zooModels {
		m, err := frontend.LoadNamed(zoo.FS(), name)
		require.NoError(t, err)
		ins, outs, err := m.TestData()
		require.NoError(t, err)
		pkgs[m.Package] = generate(t, m, &codegen.Vectors{Inputs: ins, Outputs: outs, Rtol: m.Test.Rtol})
	}
	for pkg, files := range pkgs {
		t.Run(pkg, func(t *testing.T) {
			require.Contains(t, files, "kernels_arm64.s")
			mod := module(t, pkg, files)
			mod.MustGo(t, []string{"GOARCH=arm64"}, "vet", "./"+pkg)
			for _, e := range qemu.ARM64 {
				out := mod.MustGo(t, e.Env(), "test", "-count=1", "-v", "-exec", emulator, "-run", "TestVectors|TestTier", "./"+pkg)
				require.Contains(t, out, "--- PASS: TestVectors")
				require.Contains(t, out, "kernels run at tier "+e.Want)
			}
			if pkg == "families" { // the pure-Go kernels are the same on amd64, tested there
				out := mod.MustGo(t, append(qemu.ARM64[0].Env()[:2], "MODELC_WANT_TIER=generic"), "test", "-count=1", "-v", "-tags", "purego", "-exec", emulator, "-run", "TestVectors|TestTier", "./"+pkg)
				require.Contains(t, out, "--- PASS: TestVectors")
			}
		})
	}
}

// TestCrossCompile builds and vets a generated package (resnet20) with
// CGO_ENABLED=0 for other systems than this one: linux/arm64 (the NEON
// kernels), darwin/arm64 (the NEON kernels, and the runtime's tier from
// Apple Silicon's feature detection), windows/amd64 (the amd64 kernels
// in a PE binary).
func TestCrossCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package for three systems")
	}
	t.Parallel()
	m, err := frontend.LoadNamed(zoo.FS(), "resnet20")
	require.NoError(t, err)
	files := generate(t, m, nil)
	mod := module(t, m.Package, files)
	for _, target := range [][2]string{{"linux", "arm64"}, {"darwin", "arm64"}, {"windows", "amd64"}} {
		env := []string{"CGO_ENABLED=0", "GOOS=" + target[0], "GOARCH=" + target[1]}
		mod.MustGo(t, env, "vet", "./"+m.Package)
		mod.MustGo(t, env, "build", "./"+m.Package)
	}
}

// qmlpIR is a two-layer int8 MLP: int8 activations into a qlinear that
// requantizes (ReLU) to uint8 with a zero point, then a qlinear on those
// that dequantizes — both on the integer GEMM (isa.QGemm), K = 70 (18
// groups: whole loops and a tail of 2) and 45 (12: whole loops), N = 45
// and 33 (partial 32-column panels and 8-column tiles).
const qmlpIR = `graph qmlp {
  input %x: f32[N,70]
  const %w1: i8[45,70] = splat<1>
  const %s1: f32[45] = splat<0.01>
  const %b1: i32[45] = splat<3>
  const %w2: i8[33,45] = splat<1>
  const %s2: f32[33] = splat<0.02>
  %q = quantize (%x) {to=i8, wl=8, fl=5}: i8[N,70]<fixed=8.5>
  %h = qlinear @fc1 (%q, %w1, %s1, %b1) {act="relu", to=u8, scale=0.0625, zp=3}: u8[N,45]<scale=0.0625,zp=3>
  %y = qlinear @fc2 (%h, %w2, %s2): f32[N,33]
  output %y
}`

// TestARM64QuantizedPackage cross-compiles a generated package of int8
// linear layers (qmlpIR, random weights over all of −128…127, 29 rows:
// a parallel item of 16 and a partial one) for arm64 and runs its
// TestVectors under qemu on each emulated core, so the integer GEMM runs
// on the SDOT kernels (QEMU_CPU=max) and on the SMULL/SADALP ones
// (cortex-a53), against the reference evaluator's outputs.
func TestARM64QuantizedPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and emulates a package")
	}
	t.Parallel()
	emulator := qemu.Path(t)
	g, err := ir.Parse("qmlp.ir", []byte(qmlpIR))
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(14))
	for _, v := range g.Consts {
		d := v.Const.Dense()
		for i := range d.I {
			switch v.Type.DType {
			case ir.I8:
				d.I[i] = int64(rng.Intn(256) - 128)
			default:
				d.I[i] = int64(rng.Intn(2001) - 1000)
			}
		}
		for i := range d.F {
			d.F[i] = float32(rng.Intn(64)+1) / 4096
		}
		v.Const = d
	}
	in := ir.SampleInputs(g, 29, 5)
	for i := range in[0].F {
		in[0].F[i] *= 3 // past the int8 range: saturation at −128 and 127
	}
	want, err := ir.Eval(g, in...)
	require.NoError(t, err)
	files := generate(t, &frontend.Model{Name: "qmlp", Package: "qmlp", Graph: g}, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-6})
	asm := string(files["kernels_arm64.s"])
	require.Contains(t, asm, "qgemm_dotprod_8x8_pw32")
	require.Contains(t, asm, "qgemm_neon_4x8_pw32")
	mod := module(t, "qmlp", files)
	mod.MustGo(t, []string{"GOARCH=arm64"}, "vet", "./qmlp")
	for _, e := range qemu.ARM64 {
		out := mod.MustGo(t, e.Env(), "test", "-count=1", "-v", "-exec", emulator, "-run", "TestVectors|TestTier", "./qmlp")
		require.Contains(t, out, "--- PASS: TestVectors")
		require.Contains(t, out, "kernels run at tier "+e.Want)
	}
}
