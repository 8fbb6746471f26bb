package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend/tensorio"
)

// modelc build with quantize: REPORT.md carries the pass's report; bad
// options (bits the kernels do not support, an unknown keep_float layer,
// a strict budget nothing meets) are errors at model.yaml's line, and
// nothing is written.
func TestBuildQuantize(t *testing.T) {
	dir := t.TempDir()
	x := make([]float32, 6*5*8)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	require.NoError(t, tensorio.WriteNpy(filepath.Join(dir, "x.npy"), tensorio.FromFloat32("x", []int{6, 5, 8}, x)))
	require.NoError(t, tensorio.WriteNpy(filepath.Join(dir, "y.npy"), tensorio.FromInt64("y", []int{6}, []int64{0, 1, 2, 0, 1, 2})))
	model := filepath.Join(dir, "model.yaml")
	out := filepath.Join(dir, "out")
	build := func(passes, calib string) error {
		require.NoError(t, os.WriteFile(model, []byte(tinyTransformerYAML(passes, calib)), 0o644))
		_, err := modelc(t, "build", model, "-o", out)
		return err
	}

	labelled := "calibration: {inputs: x.npy, labels: y.npy}"
	require.NoError(t, build("[{quantize: {bits: [8], all_layers: true, keep_float: [head]}}]", labelled))
	report, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	require.NoError(t, err)
	for _, want := range []string{"| quantize | candidates 9, float 1, int-mac-percent 99, quantized 8 |", "### quantize", "calibration: x.npy (6 rows, labels y.npy)",
		"| blocks.0.fc1 | qlinear | i8, (WL, FL) = ", "- head: keep_float", "| calibration metric (top1) | top-1 "} {
		require.Contains(t, string(report), want)
	}
	require.NoError(t, os.RemoveAll(out))

	for _, c := range []struct{ name, passes, calib, want string }{
		{"bits the kernels lack", "[{quantize: {bits: [32]}}]", labelled, ": pass quantize: bits: word length 32 is outside what the integer kernels support"},
		{"unknown layer", "[{quantize: {keep_float: [fc9]}}]", labelled, `: pass quantize: keep_float: no linear or conv2d layer "fc9" (have blocks.0.attn.qkv, blocks.0.attn.proj, blocks.0.fc1, blocks.0.fc2, blocks.1.attn.qkv, blocks.1.attn.proj, blocks.1.fc1, blocks.1.fc2, head)`},
		// Without labels the metric is the KL divergence from the float
		// model's outputs, which any quantized layer raises above 0.
		{"strict budget", "[{quantize: {max_metric_drop: 0, strict: true}}]", "calibration: {inputs: x.npy}", ": pass quantize: max_metric_drop 0: quantizing even "},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := build(c.passes, c.calib)
			require.ErrorContains(t, err, model+":5:")
			require.ErrorContains(t, err, c.want)
			require.NoDirExists(t, out, "nothing written")
		})
	}
}
