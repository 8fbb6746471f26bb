package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend/tensorio"
)

// tinyTransformerYAML is a 2-layer pre-norm transformer for the lossy
// pass tests; calib names its calibration: line (line 4).
func tinyTransformerYAML(passes, calib string) string {
	return `name: tiny
inputs: [{name: x, shape: [N, 5, 8], dtype: f32}]
init: {seed: 3}
` + calib + `
passes: ` + passes + `
blocks:
  enc:
    - layernorm: {name: ln1}
    - attention: {name: attn, heads: 2, out: a}
    - add: {in: [$in, a], out: h}
    - layernorm: {name: ln2}
    - linear: {name: fc1, features: 16}
    - gelu:
    - linear: {name: fc2, features: 8, out: m}
    - add: {in: [h, m]}
graph:
  - repeat: {block: enc, times: 2, name: "blocks.{i}"}
  - layernorm: {name: norm}
  - slice: {starts: [0], ends: [1], axes: [1]}
  - reshape: {shape: [N, 8]}
  - linear: {name: head, features: 3, out: logits}
`
}

// modelc build with attention-drop: REPORT.md carries the pass's report;
// bad input (calibration data of the wrong shape or dtype, labels that
// do not match the rows, drop beyond the regions, a model without
// residual attention) is an error at model.yaml's line, and nothing is
// written.
func TestBuildAttentionDrop(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, a tensorio.Array) {
		require.NoError(t, tensorio.WriteNpy(filepath.Join(dir, name), a))
	}
	x := make([]float32, 6*5*8)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	write("x.npy", tensorio.FromFloat32("x", []int{6, 5, 8}, x))
	write("x4.npy", tensorio.FromFloat32("x", []int{6, 5, 4}, make([]float32, 6*5*4)))
	write("xi.npy", tensorio.FromInt64("x", []int{6, 5, 8}, make([]int64, 6*5*8)))
	write("y.npy", tensorio.FromInt64("y", []int{6}, []int64{0, 1, 2, 0, 1, 2}))
	write("y5.npy", tensorio.FromInt64("y", []int{5}, make([]int64, 5)))
	model := filepath.Join(dir, "model.yaml")
	out := filepath.Join(dir, "out")
	build := func(passes, calib string) (string, error) {
		require.NoError(t, os.WriteFile(model, []byte(tinyTransformerYAML(passes, calib)), 0o644))
		return modelc(t, "build", model, "-o", out)
	}

	_, err := build("[{attention-drop: {drop: 1}}]", "calibration: {inputs: x.npy, labels: y.npy}")
	require.NoError(t, err)
	report, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	require.NoError(t, err)
	for _, want := range []string{"| attention-drop | candidates 2, dropped 1,", "### attention-drop",
		"calibration: x.npy (6 rows, labels y.npy)", "| region | layer | Sim (cos) |", "| blocks.1 attn | 1 |",
		"| calibration metric (top1) | top-1 ", "Predicted speed-up", "| bn-fold (default) | ln-affine 5 |"} {
		require.Contains(t, string(report), want)
	}
	require.NoError(t, os.RemoveAll(out))

	for _, c := range []struct{ name, passes, calib, want string }{
		{"inputs of the wrong shape", "[{attention-drop: {drop: 1}}]", "calibration: {inputs: x4.npy, labels: y.npy}", ":4:14: calibration: input x: shape [6 5 4] does not fit f32[N,5,8]"},
		{"inputs of the wrong dtype", "[{attention-drop: {drop: 1}}]", "calibration: {inputs: xi.npy, labels: y.npy}", ":4:14: calibration: input x: i64 data for a f32 input"},
		{"labels for other rows", "[{attention-drop: {drop: 1}}]", "calibration: {inputs: x.npy, labels: y5.npy}", ":4:14: calibration: 5 labels for 6 input rows"},
		{"drop beyond the regions", "[{attention-drop: {drop: 3}}]", "calibration: {inputs: x.npy, labels: y.npy}", ":5:34: pass attention-drop: drop: 3 exceeds the 2 attention regions (blocks.0 attn, blocks.1 attn)"},
		{"protect beyond the layers", "[{attention-drop: {drop: 1, target: block, protect: [0, 1, 2]}}]", "", ":5:61: pass attention-drop: protect: layer 2: the model has 2 blocks (attention then MLP) (layers 0–1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := build(c.passes, c.calib)
			require.ErrorContains(t, err, model+c.want)
			require.NoDirExists(t, out, "nothing written")
		})
	}

	// A model without residual attention.
	mlp := "name: m\ninputs: [{name: x, shape: [N, 8]}]\ninit: {seed: 1}\npasses: [{attention-drop: {drop: 1}}]\ngraph:\n  - linear: {name: fc, features: 8}\n"
	require.NoError(t, os.WriteFile(model, []byte(mlp), 0o644))
	_, err = modelc(t, "build", model, "-o", out)
	require.ErrorContains(t, err, model+":4:11: pass attention-drop: no pre-norm residual attention regions in graph m")
	require.NoDirExists(t, out)
	require.False(t, strings.Contains(err.Error(), "BUG"))
}
