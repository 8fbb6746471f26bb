package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// --external-weights writes weights.bin beside the package without
// embedding it, and records the flag in the go:generate line.
func TestBuildExternalWeights(t *testing.T) {
	_, file := writeTiny(t)
	out := filepath.Join(t.TempDir(), "pkg")
	_, err := modelc(t, "build", file, "-o", out, "--external-weights")
	require.NoError(t, err)
	model, err := os.ReadFile(filepath.Join(out, "model.go"))
	require.NoError(t, err)
	require.NotContains(t, string(model), "go:embed")
	require.Contains(t, string(model), "//go:generate modelc build m.yaml -o . --external-weights")
	require.Contains(t, string(model), "func WithWeightsFile(path string) Option")
	w, err := os.ReadFile(filepath.Join(out, "weights.bin"))
	require.NoError(t, err)
	require.Equal(t, "MODELCW1", string(w[:8]))

	// The default embeds it.
	out2 := filepath.Join(t.TempDir(), "pkg")
	_, err = modelc(t, "build", file, "-o", out2)
	require.NoError(t, err)
	model, err = os.ReadFile(filepath.Join(out2, "model.go"))
	require.NoError(t, err)
	require.Contains(t, string(model), "//go:embed weights.bin")
}
