package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The generated engine builds the package offline from the runtime
// sources modelc carries and matches the stored test vectors.
func TestRunGeneratedEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated package")
	}
	out, err := modelc(t, "run", "zoo:resnet20", "--engine", "generated")
	require.NoError(t, err, out)
	require.Contains(t, out, "matches test vectors")
	require.Contains(t, out, "generated engine:")
	_, err = modelc(t, "run", "zoo:resnet20", "--engine", "jit")
	require.ErrorContains(t, err, "--engine jit: want reference or generated")
}
