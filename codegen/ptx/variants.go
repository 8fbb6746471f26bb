package ptx

import "fmt"

// DefaultTiles are the GEMM variants codegen chooses among, largest
// first. Each one's resources, as ptxas 11.8 reports them for the
// heaviest epilogue (bias, residual, GELU) on sm_80, are in tileResources;
// TestTileResources checks the table against ptxas -v and rejects a
// variant that spills.
var DefaultTiles = []Tile{
	{BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, Stages: 2},
	{BM: 128, BN: 64, BK: 8, TM: 8, TN: 8, Stages: 2},
	{BM: 64, BN: 64, BK: 8, TM: 4, TN: 4, Stages: 2},
	{BM: 64, BN: 32, BK: 8, TM: 4, TN: 4, Stages: 2},
	{BM: 32, BN: 32, BK: 8, TM: 4, TN: 4, Stages: 2},
}

// tileResources are ptxas -v's registers per thread for each default
// tile's kernel (see DefaultTiles); shared memory is Tile.SharedBytes.
var tileResources = map[Tile]int{
	DefaultTiles[0]: 131,
	DefaultTiles[1]: 149,
	DefaultTiles[2]: 70,
	DefaultTiles[3]: 79,
	DefaultTiles[4]: 87,
}

// TileRegisters is a default tile's registers per thread (0 if unknown).
func TileRegisters(t Tile) int { return tileResources[t] }

// Device is what the occupancy rule needs of a GPU.
type Device struct {
	SMs             int
	RegsPerSM       int
	ThreadsPerSM    int
	BlocksPerSM     int
	SharedPerSM     int // bytes
	RegAllocPerWarp int // registers are allocated per warp in units of this
}

// A100 is the sm_80 baseline the default choice is made for: 108 SMs,
// 64 Ki registers, 2048 threads, 32 blocks and 164 KiB of shared memory
// an SM.
var A100 = Device{SMs: 108, RegsPerSM: 65536, ThreadsPerSM: 2048, BlocksPerSM: 32, SharedPerSM: 164 << 10, RegAllocPerWarp: 256}

// Occupancy is how many blocks of threads threads, regs registers each
// and smem bytes of shared memory fit on one SM of d at once.
func (d Device) Occupancy(threads, regs, smem int) int {
	warps := (threads + 31) / 32
	n := min(d.BlocksPerSM, d.ThreadsPerSM/threads)
	if regs > 0 {
		perWarp := (regs*32 + d.RegAllocPerWarp - 1) / d.RegAllocPerWarp * d.RegAllocPerWarp
		n = min(n, d.RegsPerSM/(perWarp*warps))
	}
	if smem > 0 {
		n = min(n, d.SharedPerSM/smem)
	}
	return n
}

// ChooseTile is the occupancy rule: among the default tiles that fit
// on an SM of d, the one that minimises the busiest SM's time for an M×N
// GEMM (M at the package's max batch). Blocks spread evenly, ⌈blocks/SMs⌉
// an SM; a block costs BM·BN·(1 + 2·(TM+TN)/(TM·TN)) (its FMAs, each
// shared-memory float read counted as two), and an SM with fewer than 8
// resident warps runs at that fraction of its rate (too few warps to
// hide latency). Big tiles for big GEMMs, small ones where big tiles
// would leave SMs idle; ties go to the larger tile.
func ChooseTile(d Device, M, N int) Tile {
	best, bestCost := DefaultTiles[len(DefaultTiles)-1], -1.0
	for _, t := range DefaultTiles {
		occ := d.Occupancy(t.Threads(), TileRegisters(t), t.SharedBytes())
		if occ == 0 {
			continue
		}
		blocks := ((M + t.BM - 1) / t.BM) * ((N + t.BN - 1) / t.BN)
		perSM := (blocks + d.SMs - 1) / d.SMs
		warps := min(perSM, occ) * t.Threads() / 32
		rate := min(1, float64(warps)/8)
		work := float64(t.BM*t.BN) * (1 + 2*float64(t.TM+t.TN)/float64(t.TM*t.TN))
		cost := float64(perSM) * work / rate
		if bestCost < 0 || cost < bestCost {
			best, bestCost = t, cost
		}
	}
	return best
}

// ParseTile reads a tile written by Tile.String (BMxBNxBK_tTMxTN_sS).
func ParseTile(s string) (Tile, error) {
	var t Tile
	if _, err := fmt.Sscanf(s, "%dx%dx%d_t%dx%d_s%d", &t.BM, &t.BN, &t.BK, &t.TM, &t.TN, &t.Stages); err != nil {
		return Tile{}, fmt.Errorf("tile %q: want BMxBNxBK_tTMxTN_sS, e.g. 128x128x8_t8x8_s2", s)
	}
	return t, t.Check()
}
