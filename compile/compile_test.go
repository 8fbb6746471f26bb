package compile_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/zoo"
)

// Compile runs the model's passes (with --passes added) and generates
// its package with its test vectors and the passes' log in REPORT.md.
func TestCompile(t *testing.T) {
	m, err := frontend.LoadNamed(zoo.FS(), "resnet20")
	require.NoError(t, err)
	m.Passes = append(m.Passes, frontend.PassSpec{Name: "bn-fold"})
	res, err := compile.Compile(m, compile.Options{TestVectors: true, MaxBatch: 4})
	require.NoError(t, err)
	require.Equal(t, "bn-fold", res.Log[3].Pass)
	for _, n := range res.Graph.Nodes {
		require.NotEqual(t, "batchnorm", n.Op.Kind().String())
	}
	model := string(res.Files["model.go"])
	require.Contains(t, model, "//go:generate modelc build model.yaml -o .")
	require.Contains(t, model, "package resnet20")
	require.Contains(t, model, "DefaultMaxBatch = 4")
	require.Contains(t, model, `"github.com/modelc/modelc/runtime"`)
	require.Contains(t, string(res.Files["REPORT.md"]), "| bn-fold |")
	require.NotEmpty(t, res.Files["testdata/vectors.bin"])
	require.Contains(t, string(res.Files["model_test.go"]), "func TestVectors")
}

// Options override the package name and command; without TestVectors
// there is no model_test.go.
func TestCompileOptions(t *testing.T) {
	m, err := frontend.LoadNamed(zoo.FS(), "mlp")
	require.NoError(t, err)
	res, err := compile.Compile(m, compile.Options{Package: "other", Command: "modelc zoo build mlp -o .", Version: "9.9"})
	require.NoError(t, err)
	require.Contains(t, string(res.Files["model.go"]), "package other")
	require.Contains(t, string(res.Files["model.go"]), "//go:generate modelc zoo build mlp -o .")
	require.Contains(t, string(res.Files["model.go"]), "modelc 9.9,")
	require.NotContains(t, res.Files, "model_test.go")
}

// Lower stops after the pipeline and prints after a pass as asked.
func TestLower(t *testing.T) {
	m, err := frontend.LoadNamed(zoo.FS(), "mlp")
	require.NoError(t, err)
	var out bytes.Buffer
	res, err := compile.Lower(m, compile.Options{Run: passes.RunOptions{PrintAfter: "dce", Out: &out}})
	require.NoError(t, err)
	require.Nil(t, res.Files)
	require.NotNil(t, res.Plan)
	require.True(t, strings.HasPrefix(out.String(), "// after dce: "), out.String())
}

// Errors name where they come from: a pass at its model.yaml line, a
// --passes entry as --passes, and codegen's errors the model's file.
func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`name: m
inputs: [{name: x, shape: [N, 4]}]
init: {seed: 1}
graph:
  - linear: {name: fc, features: 2}
passes:
  - no-such-pass
`), 0o644))
	m, err := frontend.Load(file, frontend.Options{})
	require.NoError(t, err)
	_, err = compile.Compile(m, compile.Options{})
	require.ErrorContains(t, err, file+":7:5: unknown pass \"no-such-pass\"")

	m.Passes = []frontend.PassSpec{{Name: "bn-fold"}, {Name: "bn-fold"}}
	_, err = compile.Compile(m, compile.Options{})
	require.ErrorContains(t, err, "--passes: pass bn-fold is already listed at --passes")

	// Test vectors whose count does not match the model: codegen's error,
	// prefixed with the file.
	m.Passes = nil
	m.Test = nil
	_, err = compile.Compile(m, compile.Options{Test: &codegen.Vectors{Rtol: 1e-4}})
	require.ErrorContains(t, err, file+": test vectors: 0 inputs and 0 outputs, the model has 1 and 1")
}
