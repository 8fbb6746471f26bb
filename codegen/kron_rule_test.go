package codegen

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// phmNode is a phm_linear with dense constant factors of shape k.
func phmNode(t *testing.T, k ir.Kron, op *ir.PHMLinear) *ir.Node {
	b := ir.NewBuilder("rule")
	x, err := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(k.In())}))
	require.NoError(t, err)
	a, err := b.Const("a", ir.NewTensor(ir.F32, []int{k.R, k.M1, k.N1}))
	require.NoError(t, err)
	s, err := b.Const("s", ir.NewTensor(ir.F32, []int{k.R, k.M2, k.N2}))
	require.NoError(t, err)
	n, err := b.Add("fc", op, []*ir.Value{x, a, s}, "y")
	require.NoError(t, err)
	return n
}

// The cost rule: dense W within kronDenseBytes, or factored MACs over
// twice dense, materialise; a large PHM layer runs factored; exec
// overrides both.
func TestPHMExecRule(t *testing.T) {
	for _, c := range []struct {
		k    ir.Kron
		exec string
		want string
	}{
		{ir.Kron{R: 4, M1: 4, N1: 4, M2: 32, N2: 32}, "", ir.ExecDense},      // 64 KiB
		{ir.Kron{R: 4, M1: 4, N1: 4, M2: 128, N2: 128}, "", ir.ExecDense},    // 1 MiB exactly
		{ir.Kron{R: 4, M1: 4, N1: 4, M2: 128, N2: 130}, "", ir.ExecFactored}, // just over
		{ir.Kron{R: 8, M1: 2, N1: 2, M2: 256, N2: 300}, "", ir.ExecDense},    // 1.2 MiB, but R = 4·n1: 2× the MACs
		{ir.Kron{R: 4, M1: 4, N1: 4, M2: 32, N2: 32}, "factored", ir.ExecFactored},
		{ir.Kron{R: 4, M1: 4, N1: 4, M2: 256, N2: 260}, "dense", ir.ExecDense},
	} {
		k := c.k
		k.Taps = 1
		n := phmNode(t, k, &ir.PHMLinear{Exec: c.exec})
		require.Equal(t, c.want, phmExec(n, k), "%+v exec %q", k, c.exec)
	}
	// A scale input keeps even a small layer factored (auto).
	k := ir.Kron{R: 2, M1: 2, N1: 2, M2: 4, N2: 4, Taps: 1}
	b := ir.NewBuilder("scaled")
	x, _ := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(8)}))
	a, _ := b.Const("a", ir.NewTensor(ir.F32, []int{2, 2, 2}))
	s, _ := b.Const("s", ir.NewTensor(ir.F32, []int{2, 4, 4}))
	sc, _ := b.Const("scale", ir.NewTensor(ir.F32, []int{8}))
	n, err := b.Add("fc", &ir.PHMLinear{Scaled: true}, []*ir.Value{x, a, s, sc}, "y")
	require.NoError(t, err)
	require.Equal(t, ir.ExecFactored, phmExec(n, k))
}
