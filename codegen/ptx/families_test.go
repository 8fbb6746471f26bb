package ptx_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/ptx"
)

// One kernel of every family, as the zoo uses them, assembled by ptxas
// for sm_80 and sm_90 without spills.
func TestFamiliesPtxas(t *testing.T) {
	var ks []*ptx.Kernel
	add := func(k *ptx.Kernel, _ ptx.Launch, err error) {
		t.Helper()
		require.NoError(t, err)
		ks = append(ks, k)
	}
	tile := ptx.DefaultTiles[0]
	add(ptx.Gemm(ptx.GemmSpec{M: ptx.Rows{A: 65}, N: 768, K: 192, Bias: true, Residual: true, Act: "gelu", Tile: tile}))
	add(ptx.Gemm(ptx.GemmSpec{M: ptx.Rows{A: 1024}, N: 16, K: 144, Bias: true, Residual: true, Act: "relu",
		Conv: &ptx.ConvGeom{H: 32, W: 32, C: 16, OH: 32, OW: 32, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1}, Tile: tile}))
	add(ptx.Row(ptx.RowSpec{Op: "layernorm", Rows: ptx.Rows{A: 65}, L: 192, Eps: 1e-5, WarpsPerBlock: 4}))
	add(ptx.Row(ptx.RowSpec{Op: "softmax", Rows: ptx.Rows{A: 1}, L: 2000, WarpsPerBlock: 4}))
	add(ptx.Attention(ptx.AttentionSpec{T: 128, S: 128, D: 256, Dv: 256, Heads: 4, QStride: 256, KStride: 256, VStride: 256, Causal: true, Scale: 0.125, WarpsPerBlock: 4}))
	add(ptx.Reduce(ptx.ReduceSpec{Mean: true, OutDims: []int{1, 64}, OutStrides: []int{4096, 1}, RedDims: []int{64}, RedStrides: []int{64}, Count: ptx.Rows{A: 64}}))
	add(ptx.Gather(ptx.GatherSpec{Outer: 1, V: 512, Inner: 256, Count: ptx.Rows{A: 128 * 256}}))
	res := assemble(t, ks...)
	for _, k := range ks {
		r, ok := res[k.Name]
		require.True(t, ok, "ptxas reported nothing for %s", k.Name)
		t.Logf("%s: %+v", k.Name, r)
	}
}
