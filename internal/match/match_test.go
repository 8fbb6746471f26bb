package match

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKernel(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	require.NoError(t, Kernel([]float32{1, 2, nan, -inf}, []float32{1, 2, nan, -inf}))
	require.NoError(t, Kernel([]float32{1 + 1e-6, 2}, []float32{1, 2}))
	require.ErrorContains(t, Kernel([]float32{1.001, 2}, []float32{1, 2}), "rel_l2")
	require.ErrorContains(t, Kernel([]float32{1, 0}, []float32{1, nan}), "want NaN")
	require.ErrorContains(t, Kernel([]float32{1, nan}, []float32{1, 0}), "got NaN")
	require.ErrorContains(t, Kernel([]float32{inf}, []float32{-inf}), "want -Inf")
	require.ErrorContains(t, Kernel([]float32{1}, []float32{1, 2}), "length")
}

func TestOutputs(t *testing.T) {
	want := []float32{0, 10, 5, 1, 1.000001, -3}
	r, err := Outputs([]float32{0, 10.0005, 5, 1, 1.000001, -3}, want, 3, 1e-4)
	require.NoError(t, err)
	require.Equal(t, []int{1}, r.NearTies)
	_, err = Outputs([]float32{0, 10.01, 5, 1, 1, -3}, want, 3, 1e-4)
	require.ErrorContains(t, err, "element 1")
	// Argmax differs where the margin is large enough to count.
	_, err = Outputs([]float32{0, 1, 2}, []float32{0, 2, 1}, 3, 1)
	require.ErrorContains(t, err, "argmax 2, want 1")
}
