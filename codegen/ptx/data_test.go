package ptx_test

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/ptx"
	"github.com/modelc/modelc/codegen/ptx/ptxvm"
)

// Global average pooling of NHWC images ([n][HW][C], reducing HW at
// stride C) and a mean over two strided axes.
func TestReduce(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n, HW, C = 3, 10, 7
	x := randF32(r, n*HW*C)
	want := make([]float32, n*C)
	for b := range n {
		for c := range C {
			s := 0.0
			for p := range HW {
				s += float64(x[(b*HW+p)*C+c])
			}
			want[b*C+c] = float32(s / HW)
		}
	}
	s := ptx.ReduceSpec{Mean: true, OutDims: []int{n, C}, OutStrides: []int{HW * C, 1}, RedDims: []int{HW}, RedStrides: []int{C}, Count: ptx.Rows{A: C}, Threads: 32}
	k, l, err := ptx.Reduce(s)
	require.NoError(t, err)
	mem := &ptxvm.Memory{}
	bufs := map[string]uint64{"x": mem.AllocF32(x), "y": mem.Alloc(4 * n * C)}
	launch(t, mem, k, l, n, bufs, ptxvm.Options{})
	closeGPU(t, mem.ReadF32(bufs["y"], n*C), want, "avgpool")

	// Sum of x viewed as [n][2][5][7] over axes 1 and 3.
	want = make([]float32, n*5)
	for b := range n {
		for j := range 5 {
			s := 0.0
			for i := range 2 {
				for c := range 7 {
					s += float64(x[((b*2+i)*5+j)*7+c])
				}
			}
			want[b*5+j] = float32(s)
		}
	}
	s = ptx.ReduceSpec{OutDims: []int{n, 5}, OutStrides: []int{70, 7}, RedDims: []int{2, 7}, RedStrides: []int{35, 1}, Count: ptx.Rows{A: 5}}
	k, l, err = ptx.Reduce(s)
	require.NoError(t, err)
	bufs["y"] = mem.Alloc(4 * n * 5)
	launch(t, mem, k, l, n, bufs, ptxvm.Options{})
	closeGPU(t, mem.ReadF32(bufs["y"], n*5), want, "sum")
}

// An embedding of batch-major token ids (negative ids count from the
// end), and the status word an out-of-range id sets.
func TestGather(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const n, T, V, D = 2, 5, 11, 6
	table := randF32(r, V*D)
	ids := []int64{0, 3, 10, -1, 4, 7, 7, 2, -11, 9}
	want := make([]float32, n*T*D)
	for j, id := range ids {
		if id < 0 {
			id += V
		}
		copy(want[j*D:], table[int(id)*D:int(id+1)*D])
	}
	k, l, err := ptx.Gather(ptx.GatherSpec{Outer: 1, V: V, Inner: D, Count: ptx.Rows{A: T * D}})
	require.NoError(t, err)
	mem := &ptxvm.Memory{}
	idb := make([]byte, 8*len(ids))
	for i, id := range ids {
		binary.LittleEndian.PutUint64(idb[8*i:], uint64(id))
	}
	bufs := map[string]uint64{"data": mem.AllocF32(table), "ids": mem.Alloc(len(idb)), "y": mem.Alloc(4 * len(want)), "status": mem.Alloc(4)}
	mem.Write(bufs["ids"], idb)
	launch(t, mem, k, l, n, bufs, ptxvm.Options{})
	closeGPU(t, mem.ReadF32(bufs["y"], len(want)), want, "y")
	st, err := mem.Bytes(bufs["status"], 4)
	require.NoError(t, err)
	require.Equal(t, uint32(0), binary.LittleEndian.Uint32(st))

	binary.LittleEndian.PutUint64(idb[8*3:], uint64(V))
	mem.Write(bufs["ids"], idb)
	launch(t, mem, k, l, n, bufs, ptxvm.Options{})
	require.Equal(t, uint32(1), binary.LittleEndian.Uint32(st), "an index out of range sets the status word")
}
