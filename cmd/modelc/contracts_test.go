package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend/tensorio"
)

// TestRunChecksInputs: both engines refuse inputs that do not fit the
// model's signature (shape, dtype, one batch) with the same error, before
// any work: the generated engine used to reinterpret bits and truncate.
// Out-of-range token ids are an error in both.
func TestRunChecksInputs(t *testing.T) {
	dir, model := writeTiny(t)
	npy := func(name string, a tensorio.Array) string {
		file := filepath.Join(dir, name+".npy")
		require.NoError(t, tensorio.WriteNpy(file, a))
		return "=" + file
	}
	goodX := npy("x", tensorio.FromFloat32("", []int{2, 4}, make([]float32, 8)))
	goodIDs := npy("ids", tensorio.FromInt64("", []int{2, 2}, []int64{0, 1, 2, 3}))
	wide := npy("wide", tensorio.FromFloat32("", []int{2, 5}, make([]float32, 10)))
	ints := npy("ints", tensorio.FromInt64("", []int{2, 4}, make([]int64, 8)))
	short := npy("short", tensorio.FromFloat32("", []int{1, 4}, make([]float32, 4)))
	flat := npy("flat", tensorio.FromFloat32("", []int{8}, make([]float32, 8)))
	for _, engine := range []string{"reference", "generated"} {
		for _, tc := range []struct{ x, ids, msg string }{
			{wide, goodIDs, "input x: shape [2 5], want [N,4]"},
			{ints, goodIDs, "input x: dtype i64, want f32"},
			{short, goodIDs, "input ids: shape [2 2] does not fit [N,2] with one batch size N ≥ 1"},
			{flat, goodIDs, "input x: shape [8], want [N,4]"},
			{goodX, npy("fids", tensorio.FromFloat32("", []int{2, 2}, make([]float32, 4))), "input ids: dtype f32, want i64"},
		} {
			_, err := modelc(t, "run", model, "--engine", engine, "--input", "x"+tc.x, "--input", "ids"+tc.ids)
			require.ErrorContains(t, err, tc.msg, engine)
		}
	}
	// Token ids outside the vocabulary (5): PyTorch's rule, in both engines.
	_, err := modelc(t, "run", model, "--input", "x"+goodX, "--input", "ids"+npy("neg", tensorio.FromInt64("", []int{2, 2}, []int64{0, -1, 2, 3})))
	require.ErrorContains(t, err, "id -1 at position 1 is outside [0, 5)")
	if testing.Short() {
		return
	}
	_, err = modelc(t, "run", model, "--engine", "generated", "--input", "x"+goodX, "--input", "ids"+npy("big", tensorio.FromInt64("", []int{2, 2}, []int64{0, 1, 5, 3})))
	require.ErrorContains(t, err, "embedding: id 5 at position 2 is outside [0, 5)")
}

// TestBatchFlags: --batch and --max-batch outside 1…limits.Batch are usage
// errors (--batch -5 used to be ignored silently), and --batch within it
// still refuses inputs that would exceed the data limit.
func TestBatchFlags(t *testing.T) {
	_, model := writeTiny(t)
	for _, args := range [][]string{
		{"run", model, "--batch", "-5"},
		{"run", model, "--batch", "1000000000000"},
		{"build", model, "--max-batch", "0"},
		{"build", model, "--max-batch", "-1"},
		{"build", model, "--max-batch", "1000000000000"},
	} {
		_, err := modelc(t, args...)
		requireUsageError(t, err, ": want a batch from 1 to 1048576")
	}
	dir := t.TempDir()
	wide := filepath.Join(dir, "wide.yaml")
	require.NoError(t, os.WriteFile(wide, []byte("name: w\ninputs: [{name: x, shape: [N, 1048576]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n"), 0o644))
	_, err := modelc(t, "run", wide, "--batch", "1024")
	requireUsageError(t, err, "--batch 1024: the inputs would take 4.0 GiB, over the limit of 1.0 GiB for data (limits.DataBytes)")
}
