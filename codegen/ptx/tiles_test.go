package ptx_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/ptx"
)

// The default tiles' registers, as the occupancy rule assumes them, are
// what ptxas -v reports (heaviest epilogue, sm_80), and no default tile
// spills on either target: a variant that did would be rejected here.
func TestTileResources(t *testing.T) {
	var ks []*ptx.Kernel
	for _, tile := range ptx.DefaultTiles {
		k, _, err := ptx.Gemm(ptx.GemmSpec{M: ptx.Rows{A: 1}, N: 768, K: 192, Bias: true, Residual: true, Act: "gelu", Tile: tile})
		require.NoError(t, err)
		ks = append(ks, k)
	}
	res := assemble(t, ks...)
	for i, tile := range ptx.DefaultTiles {
		r := res[ks[i].Name]
		t.Logf("%s: %+v", tile, r)
		require.Equal(t, tile.SharedBytes(), r.Shared, "%s: shared memory", tile)
		require.Equal(t, ptx.TileRegisters(tile), r.Registers, "%s: registers (update tileResources)", tile)
	}
}

// The occupancy rule: a large GEMM takes a high-intensity tile; a GEMM too
// small to fill the GPU with large tiles takes smaller ones.
func TestChooseTile(t *testing.T) {
	big := ptx.ChooseTile(ptx.A100, 4096, 4096)
	require.Equal(t, 8, big.TM, "a large GEMM takes an 8×8 thread tile: %s", big)
	small := ptx.ChooseTile(ptx.A100, 2080, 192)
	require.Less(t, small.BM*small.BN, ptx.DefaultTiles[0].BM*ptx.DefaultTiles[0].BN)
	require.Equal(t, 1, ptx.A100.Occupancy(1024, 64, 0), "registers bound a block of 1024 threads at 64 registers")
	require.Equal(t, 3, ptx.A100.Occupancy(128, 32, 50<<10), "shared memory bounds")
}
