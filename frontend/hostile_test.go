package frontend_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/gosrc"
)

// TestDerivedPackageNames: a package name derived from a model name or an
// ONNX file name is always one Go accepts and apps can import.
func TestDerivedPackageNames(t *testing.T) {
	for name, want := range map[string]string{
		"Switch": "switchmodel", "func": "funcmodel", "main": "mainmodel", "_": "model",
		"ResNet-20": "resnet20", "9lives": "model9lives", "é": "model", "type_": "typemodel",
	} {
		m, err := frontend.Load(writeModel(t, "name: "+name+"\ninputs: [{name: x, shape: [N, 4]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n"), frontend.Options{})
		require.NoError(t, err, name)
		require.Equal(t, want, m.Package, name)
		require.NoError(t, gosrc.CheckPackage(m.Package))
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "switch.onnx")
	require.NoError(t, os.WriteFile(file, gemmONNX(t, "w.bin"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w.bin"), weightsBin(), 0o644))
	m, err := frontend.Load(file, frontend.Options{})
	require.NoError(t, err)
	require.Equal(t, "switchmodel", m.Package)
}

// TestResourceLimits: inputs that ask for unbounded work or memory are
// refused before the work (limits), with the file, line and estimate; and
// every dimension is validated where it is written.
func TestResourceLimits(t *testing.T) {
	model := func(graph string) string {
		return "name: t\ninputs: [{name: x, shape: [N, 4]}]\ninit: {seed: 1}\n" + graph
	}
	deep := "name: " + strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000) + "\n"
	for _, tc := range []struct {
		name, yaml, pos, msg string
	}{
		{"repeat 10⁹ times", model("blocks: {b: [{relu: }]}\ngraph:\n  - repeat: {block: b, times: 1000000000}\n"), "6:13",
			"repeat: expands to about 1e+09 layers (1000000000 × 1), over the limit of 50000 (limits.Layers)"},
		{"four nested repeats of 100", model("blocks:\n  a: [{relu: }]\n  b: [{repeat: {block: a, times: 100}}]\n  c: [{repeat: {block: b, times: 100}}]\n  d: [{repeat: {block: c, times: 100}}]\ngraph:\n  - repeat: {block: d, times: 100}\n"), "10:13",
			"expands to about 1e+08 layers (100 × 1000000)"},
		{"flow nesting bomb", deep, "1:71", "collections nest more than 64 deep (limits.Nesting)"},
		{"block nesting", "name: t\nx:\n" + nestedBlocks(70), "67:67", "collections nest more than 64 deep"},
		{"a billion features on a narrow input", "name: t\ninputs: [{name: x, shape: [N, 1]}]\ninit: {seed: 1}\ngraph:\n  - linear: {name: fc, features: 1000000000}\n", "5:13",
			`parameter "fc.weight" would have shape [1000000000 1]: 1e+09 elements, over the limit of 268435456 (limits.TensorElems)`},
		{"weights over the total", model("graph:\n" + manyLinear(3)), "",
			"over the limit of 2.0 GiB (limits.ConstBytes)"},
		{"intermediate of 10¹⁰ elements per sample", "name: t\ninputs: [{name: x, shape: [N, 1, 1]}]\ninit: {seed: 1}\ngraph:\n  - expand: {shape: [N, 100000, 100000]}\n", "5:13",
			"result f32[N,100000,100000] holds 1e+10 elements per sample, over the limit of 268435456 (limits.TensorElems)"},
		{"zero dimension", "name: t\ninputs: [{name: x, shape: [N, 0]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:31", "dimension must be between 1 and 268435456, got 0"},
		{"negative batch form", "name: t\ninputs: [{name: x, shape: [-N, 4]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:28", "dimension -N must be between 1 and 268435456 at every batch N ≥ 1"},
		{"N minus 5", "name: t\ninputs: [{name: x, shape: [N-5, 4]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:28", "dimension N-5 must be between 1"},
		{"2⁶³−1", "name: t\ninputs: [{name: x, shape: [N, 9223372036854775807]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:31", "got 9223372036854775807"},
		{"two batch dimensions", "name: t\ninputs: [{name: x, shape: [N, N]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:31", "only one dimension may depend on the batch N (line 2:28 has N already)"},
		{"elements per sample", "name: t\ninputs: [{name: x, shape: [N, 65536, 65536]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:27", "shape [N,65536,65536] holds 4.29e+09 elements per sample, over the limit of 268435456 (limits.TensorElems)"},
		{"model.yaml over 16 MiB", "name: t\n#" + strings.Repeat("x", 16<<20) + "\n", "", "over the limit of 16.0 MiB for a model.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeModel(t, tc.yaml)
			_, err := frontend.Load(file, frontend.Options{})
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), file+":"+tc.pos), "want %s:%s…, got %v", file, tc.pos, err)
			require.Contains(t, err.Error(), tc.msg)
		})
	}
}

func nestedBlocks(depth int) string {
	var sb strings.Builder
	for i := 0; i < depth; i++ {
		sb.WriteString(strings.Repeat(" ", i+1) + "a:\n")
	}
	return sb.String()
}

// manyLinear is k linear layers of 16384×16384 (1 GiB each with bias):
// over limits.ConstBytes from the third.
func manyLinear(k int) string {
	var sb strings.Builder
	sb.WriteString("  - linear: {name: in, features: 16384}\n")
	for i := 0; i < k; i++ {
		fmt.Fprintf(&sb, "  - linear: {name: l%d, features: 16384}\n", i)
	}
	return sb.String()
}
