package arm64

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
	"github.com/modelc/modelc/codegen/isa/driver/drivertest"
	"github.com/modelc/modelc/internal/qemu"
)

// TestNEONMatchesGo runs the drivers' conformance suite for linear layers
// (drivertest.Linear) on the NEON kernels, cross-compiled for arm64 and
// run under qemu on each of qemu.ARM64's cores, against the pure-Go
// twin.
func TestNEONMatchesGo(t *testing.T) {
	emulator := requireQEMU(t)
	k := newKernels()
	src, test := drivertest.Linear(k, []string{"neon"}, driver.GemmArgs)
	for _, e := range qemu.ARM64 {
		drivertest.Run(t, moduleRoot(t), []string{"neon"}, k, src, test, "kernels_arm64.s", e.Env(), emulator)
	}
}

// TestNEONTunedTileMatchesGo runs the linear conformance suite on a tile
// the autotuner may choose instead of the default (LinearTiles: 3 rows
// of 8 columns), under qemu on its first core.
func TestNEONTunedTileMatchesGo(t *testing.T) {
	emulator := requireQEMU(t)
	k := newKernels()
	k.tile = tile{MR: 3, NV: 2}
	require.Contains(t, (Target{}).LinearTiles("neon", 16), isa.Tile{MR: 3, NV: 2})
	src, test := drivertest.Linear(k, []string{"neon"}, driver.GemmArgs)
	require.Contains(t, src, "gemm_neon_3x8_")
	drivertest.Run(t, moduleRoot(t), []string{"neon"}, k, src, test, "kernels_arm64.s", qemu.ARM64[0].Env(), emulator)
}

// TestNEONTunedTile: Linear takes the tile LinearSpec.Tile names when
// LinearTiles lists it, and keeps the default otherwise.
func TestNEONTunedTile(t *testing.T) {
	s := isa.LinearSpec{N: 40, K: 9, PW: 16, Bias: true}
	for tl, want := range map[string]string{
		"":                  "linear_n40_k9_pw16_b_neon",
		"neon:nv=2,mr=4":    "linear_n40_k9_pw16_b_4x8_neon",
		"neon:mr=2":         "linear_n40_k9_pw16_b_2x16_neon",
		"neon:nv=2,mr=6":    "linear_n40_k9_pw16_b_neon", // 6 rows: too many
		"neon:nv=3,mr=2":    "linear_n40_k9_pw16_b_neon", // 12 columns do not divide the panel
		"avx512:mr=4":       "linear_n40_k9_pw16_b_neon",
		"neon:nv=2,mr=four": "linear_n40_k9_pw16_b_neon",
	} {
		s.Tile = tl
		ks := (Target{}).Linear(s)
		require.Len(t, ks, 1)
		require.Equal(t, want, ks[0].Name, "Tile %q", tl)
	}
	require.Empty(t, (Target{}).LinearTiles("avx2", 16))
	require.Equal(t, isa.Tile{MR: 5, NV: 4}, (Target{}).LinearTiles("neon", 32)[0], "the default first")
}

// TestNEONConvMatchesRef runs the drivers' conformance suite for
// convolution rows (drivertest.ConvRow) on the NEON kernels under qemu.
func TestNEONConvMatchesRef(t *testing.T) {
	emulator := requireQEMU(t)
	k := newKernels()
	src, test := drivertest.ConvRow(k, []string{"neon"}, driver.GemmArgs)
	for _, e := range qemu.ARM64 {
		drivertest.Run(t, moduleRoot(t), []string{"neon"}, k, src, test, "kernels_arm64.s", e.Env(), emulator)
	}
}

// TestNEONDepthwiseMatchesRef runs the drivers' conformance suite for
// depthwise rows (drivertest.Depthwise) on the NEON kernels under qemu.
func TestNEONDepthwiseMatchesRef(t *testing.T) {
	emulator := requireQEMU(t)
	k := newKernels()
	src, test := drivertest.Depthwise(k, []string{"neon"}, driver.DWArgs)
	for _, e := range qemu.ARM64 {
		drivertest.Run(t, moduleRoot(t), []string{"neon"}, k, src, test, "kernels_arm64.s", e.Env(), emulator)
	}
}

// kernels is the arm64 target for drivertest.
type kernels struct {
	file File
	seen map[string]bool
	tile tile // of the linear kernels
}

func newKernels() *kernels {
	return &kernels{file: File{Build: "arm64"}, seen: map[string]bool{}, tile: neonTile}
}

func (k *kernels) add(fns []*Func) {
	for _, fn := range fns {
		if !k.seen[fn.Name] {
			k.seen[fn.Name] = true
			k.file.Funcs = append(k.file.Funcs, fn)
		}
	}
}

func (k *kernels) Linear(s isa.LinearSpec, name, tier string) string {
	src, fns := linearKernel(s, name, k.tile)
	k.add(fns)
	return src
}

func (k *kernels) ConvRow(s isa.ConvRowSpec, name, tier string) string {
	src, fns := convRowKernel(s, name)
	k.add(fns)
	return src
}

func (k *kernels) Asm() (string, string) { return k.file.GoDecls(), k.file.ARM64() }

// moduleRoot is this checkout's module folder.
func moduleRoot(t *testing.T) string {
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	return root
}

// requireQEMU finds qemu (qemu.Path) for a test that also builds.
func requireQEMU(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and emulates a package")
	}
	return qemu.Path(t)
}

func (k *kernels) Depthwise(s isa.DepthwiseSpec, name, tier string) string {
	src, fns, ok := depthwiseKernel(s, name)
	if !ok {
		return ""
	}
	k.add(fns)
	return src
}
