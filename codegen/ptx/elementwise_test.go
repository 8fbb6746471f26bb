package ptx_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/ptx"
	"github.com/modelc/modelc/codegen/ptx/ptxvm"
)

// An add broadcasting b[1,3,1] over a[n,3,5] (strides 0 where b is
// broadcast), at a batch that leaves a partial block.
func TestElementwiseBroadcast(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 7
	a, b := randF32(r, n*15), randF32(r, 3)
	want := make([]float32, n*15)
	for i := range want {
		want[i] = a[i] + b[(i/5)%3]
	}
	s := ptx.ElementwiseSpec{
		Op: "add", Dims: []int{n, 3, 5}, OutStrides: []int{15, 5, 1},
		Ins:   []ptx.Operand{{Strides: []int{15, 5, 1}}, {Strides: []int{0, 1, 0}}},
		Count: ptx.Rows{A: 15}, Threads: 64,
	}
	s.Merge()
	require.Equal(t, []int{n, 3, 5}, s.Dims)
	k, l, err := ptx.Elementwise(s)
	require.NoError(t, err)
	mem := &ptxvm.Memory{}
	bufs := map[string]uint64{"x0": mem.AllocF32(a), "x1": mem.AllocF32(b), "y": mem.Alloc(4 * len(want))}
	launch(t, mem, k, l, n, bufs, ptxvm.Options{})
	closeGPU(t, mem.ReadF32(bufs["y"], len(want)), want, "y")
}

func TestElementwisePtxas(t *testing.T) {
	var ks []*ptx.Kernel
	for op, arity := range ptx.ElementwiseOps {
		s := ptx.ElementwiseSpec{Op: op, Alpha: 0.1, Beta: 0.9, Dims: []int{4, 6}, OutStrides: []int{6, 1}, Count: ptx.Rows{A: 6}}
		for range arity {
			s.Ins = append(s.Ins, ptx.Operand{Strides: []int{6, 1}})
		}
		k, _, err := ptx.Elementwise(s)
		require.NoError(t, err)
		ks = append(ks, k)
	}
	res := assemble(t, ks...)
	require.Len(t, res, len(ks))
}
