package codegen_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
)

// weightsModel loads a small model with seeded weights; features sets
// the hidden layer's width (another width is another architecture).
func weightsModel(t *testing.T, seed, features int) *frontend.Model {
	t.Helper()
	file := filepath.Join(t.TempDir(), "model.yaml")
	src := fmt.Sprintf(`name: tiny
inputs: [{name: x, shape: [N, 6]}]
init: {seed: %d}
graph:
  - linear: {name: fc1, features: %d}
  - relu:
  - linear: {name: fc2, features: 3, out: y}
`, seed, features)
	require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
	m, err := frontend.Load(file, frontend.Options{})
	require.NoError(t, err)
	return m
}

var codeHashRE = regexp.MustCompile(`const codeHash = "([0-9a-f]{64})"`)

// TestWeightsFile: a package built with --external-weights reads its
// weights.bin at New (its own tests pass on it, and New without
// WithWeightsFile is an error); a package with embedded weights takes a
// fine-tune's weights.bin (the same architecture, other weights) and
// computes the fine-tune's outputs; another architecture's file is an
// error from New.
func TestWeightsFile(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated packages")
	}
	build := func(m *frontend.Model, external bool) (map[string][]byte, *codegen.Vectors) {
		in := ir.SampleInputs(m.Graph, 2, 3)
		want, err := ir.Eval(m.Graph, in...)
		require.NoError(t, err)
		vec := &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4}
		res, err := compile.Compile(m, compile.Options{Command: "modelc build model.yaml -o .", Test: vec, ExternalWeights: external})
		require.NoError(t, err)
		return res.Files, vec
	}
	base, _ := build(weightsModel(t, 5, 8), false)
	tune, tuneVec := build(weightsModel(t, 6, 8), true)
	other, _ := build(weightsModel(t, 5, 9), false)
	require.Contains(t, string(base["model.go"]), "//go:embed weights.bin")
	require.NotContains(t, string(tune["model.go"]), "go:embed")
	hash := func(files map[string][]byte) string {
		return codeHashRE.FindStringSubmatch(string(files["model.go"]))[1]
	}
	require.Equal(t, hash(base), hash(tune), "an external-weights build of the same architecture has the same code hash")
	require.NotEqual(t, hash(base), hash(other))
	require.NotEqual(t, base["weights.bin"], tune["weights.bin"])

	mod := harness.TempModule(t, "weights")
	mod.MustAdd(t, "base", base)
	mod.MustAdd(t, "tune", tune)
	mod.MustAdd(t, "other", other)
	bits := func(v []float32) string {
		var sb strings.Builder
		for _, f := range v {
			fmt.Fprintf(&sb, "%#x, ", math.Float32bits(f))
		}
		return sb.String()
	}
	swap := fmt.Sprintf(`package tiny

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	rt "github.com/modelc/modelc/runtime"
)

func floats(b []uint32) []float32 {
	f := make([]float32, len(b))
	for i, v := range b {
		f[i] = math.Float32frombits(v)
	}
	return f
}

// TestSwap runs the fine-tune's weights.bin in this package.
func TestSwap(t *testing.T) {
	m, err := New(WithWeightsFile("../tune/weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	in := Inputs{X: floats([]uint32{%s})}
	out := Outputs{Y: make([]float32, %d)}
	if err := m.Run(context.Background(), &out, &in); err != nil {
		t.Fatal(err)
	}
	match(t, "y", out.Y, floats([]uint32{%s}), 3, 1e-4)
	if _, err := New(WithWeightsFile("../other/weights.bin")); !errors.Is(err, rt.ErrWeightsFile) || !strings.Contains(err.Error(), "written for other generated code") {
		t.Fatalf("another architecture's weights: %%v", err)
	}
}
`, bits(tuneVec.Inputs[0].F), len(tuneVec.Outputs[0].F), bits(tuneVec.Outputs[0].F))
	require.NoError(t, os.WriteFile(filepath.Join(mod.PkgDir("base"), "swap_test.go"), []byte(swap), 0o644))
	const noFile = `package tiny

import (
	"strings"
	"testing"
)

// TestNoWeightsFile: without WithWeightsFile, New says what it needs.
func TestNoWeightsFile(t *testing.T) {
	defer func(f string) { defaultWeightsFile = f }(defaultWeightsFile)
	defaultWeightsFile = ""
	if _, err := New(); err == nil || !strings.Contains(err.Error(), "tiny: the weights are not embedded (modelc build --external-weights): New needs WithWeightsFile") {
		t.Fatalf("New() = %v", err)
	}
}
`
	require.NoError(t, os.WriteFile(filepath.Join(mod.PkgDir("tune"), "nofile_test.go"), []byte(noFile), 0o644))
	mod.MustGo(t, nil, "vet", "./...")
	out := mod.MustGo(t, nil, "test", "-count=1", "-v", "./...")
	for _, test := range []string{"TestSwap", "TestNoWeightsFile", "TestVectors", "TestWeightsFileErrors"} {
		require.Contains(t, out, "--- PASS: "+test)
	}
	require.Equal(t, 3, strings.Count(out, "--- PASS: TestVectors"), out)
}
