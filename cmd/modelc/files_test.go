package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend/tensorio"
)

const oneInOneOut = `name: one
inputs: [{name: x, shape: [N, 3]}]
init: {seed: 2}
graph:
  - linear: {name: fc, features: 2}
`

// TestRunOneInputOneOutput: --input F.npy and --out F.npy for a model with
// one input and one output; --out refuses non-regular targets and writes
// through a symlink, keeping it.
func TestRunOneInputOneOutput(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "one.yaml")
	require.NoError(t, os.WriteFile(model, []byte(oneInOneOut), 0o644))
	in := filepath.Join(dir, "x.npy")
	require.NoError(t, tensorio.WriteNpy(in, tensorio.FromFloat32("", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})))
	out := filepath.Join(dir, "y.npy")
	_, err := modelc(t, "run", model, "--input", in, "--out", out)
	require.NoError(t, err)
	y, err := tensorio.ReadNpy(out)
	require.NoError(t, err)
	require.Equal(t, []int{2, 2}, y.Shape)
	viaNpz := filepath.Join(dir, "y.npz")
	_, err = modelc(t, "run", model, "--input", "x="+in, "--out", viaNpz)
	require.NoError(t, err)
	z, err := tensorio.ReadNpz(viaNpz)
	require.NoError(t, err)
	require.Equal(t, y.Data, z[0].Data)

	// Through a symlink: the target is replaced, the link kept.
	target := filepath.Join(t.TempDir(), "real.npy")
	require.NoError(t, os.WriteFile(target, []byte("old"), 0o644))
	link := filepath.Join(dir, "link.npy")
	require.NoError(t, os.Symlink(target, link))
	_, err = modelc(t, "run", model, "--input", in, "--out", link)
	require.NoError(t, err)
	st, err := os.Lstat(link)
	require.NoError(t, err)
	require.NotZero(t, st.Mode()&os.ModeSymlink, "the link was replaced")
	w, err := tensorio.ReadNpy(target)
	require.NoError(t, err)
	require.Equal(t, y.Data, w.Data)

	// Not regular: refused, left alone.
	fifo := filepath.Join(dir, "fifo.npy")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	null := filepath.Join(dir, "null.npz")
	require.NoError(t, os.Symlink("/dev/null", null))
	sub := filepath.Join(dir, "sub.npz")
	require.NoError(t, os.Mkdir(sub, 0o755))
	for _, bad := range []string{null, fifo, sub} {
		_, err = modelc(t, "run", model, "--input", in, "--out", bad)
		require.ErrorContains(t, err, "is not a regular file", bad)
	}
	st, err = os.Lstat("/dev/null")
	require.NoError(t, err)
	require.NotZero(t, st.Mode()&os.ModeCharDevice)
	dangling := filepath.Join(dir, "dangling.npy")
	require.NoError(t, os.Symlink(filepath.Join(dir, "nothing", "x.npy"), dangling))
	_, err = modelc(t, "run", model, "--input", in, "--out", dangling)
	require.ErrorContains(t, err, "is a symlink to nothing")

	// A FIFO as an input or a bound value is refused, not waited on.
	_, err = modelc(t, "run", model, "--input", fifo)
	require.ErrorContains(t, err, "is not a regular file (a named pipe)")
	_, err = modelc(t, "run", model, "--bind", "shape="+fifo)
	require.ErrorContains(t, err, "--bind shape: "+fifo+" is not a regular file (a named pipe)")
	_, err = modelc(t, "run", model, "--input", in, "--out", filepath.Join(dir, "y.txt"))
	require.ErrorContains(t, err, "want a .npz file (or .npy for a model with one output)")
}

// TestRunLabels: --labels scores the output's argmax; on a trained twin
// the reference engine gets PyTorch's count of correct held-out digits
// (accuracy.json's test_correct).
func TestRunLabels(t *testing.T) {
	twin := "../../zoo/twins/resmlp-bn/"
	data, err := os.ReadFile(twin + "accuracy.json")
	require.NoError(t, err)
	var acc struct {
		Correct int `json:"test_correct"`
	}
	require.NoError(t, json.Unmarshal(data, &acc))
	out, err := modelc(t, "run", twin+"model.yaml", "--input", twin+"heldout_x.npy", "--labels", twin+"heldout_labels.npy")
	require.NoError(t, err)
	require.Contains(t, out, fmt.Sprintf("(%d of 360 samples)", acc.Correct))
	_, err = modelc(t, "run", twin+"model.yaml", "--input", twin+"heldout_x.npy", "--labels", twin+"test_x.npy")
	require.ErrorContains(t, err, "want 360 integer labels (one per sample)")
}
