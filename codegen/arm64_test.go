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
	src, err := os.ReadFile("testdata/families.ir")
	require.NoError(t, err)
	g, err := ir.Parse("families.ir", src)
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(2))
	for _, v := range g.Consts {
		d := v.Const.Dense()
		for i := range d.F {
			d.F[i] = float32(rng.NormFloat64()) * 0.3
		}
		v.Const = d
	}
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
