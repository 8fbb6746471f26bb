package arm64

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
	"github.com/modelc/modelc/codegen/isa/driver/drivertest"
	"github.com/modelc/modelc/internal/qemu"
)

// qemuTiers are the integer GEMM tiers each emulated core runs: the dot
// product's and NEON's where the core has both, NEON's alone on the
// Cortex-A53 (ARMv8.0: SDOT is undefined there).
func qemuTiers(e qemu.Emulated) []string {
	if e.Want == "dotprod" {
		return []string{"dotprod", "neon"}
	}
	return []string{"neon"}
}

// TestNEONQGemmMatchesGo runs the drivers' integer conformance suite
// (drivertest.QGemm: every row tail 1…17, partial tiles and panels, the
// extremes, K to the int32 headroom) on the isa.QGemm kernels, built for
// arm64 and run under qemu on each of qemu.ARM64's cores at every tier
// the core has, against quant.GemmU8S8, bit for bit.
func TestNEONQGemmMatchesGo(t *testing.T) {
	emulator := requireQEMU(t)
	for _, e := range qemu.ARM64 {
		tiers := qemuTiers(e)
		k := newKernels()
		src, test := drivertest.QGemm(k, tiers, qgemmPW, driver.QGemmArgs, drivertest.QGemmCases)
		drivertest.Run(t, moduleRoot(t), tiers, k, src, test, "kernels_arm64.s", e.Env(), emulator)
	}
}

// qgemmShapes are the layers of TestNEONQGemmShapes: every K from 1 to
// 20 (each tail of the 4-group loop, with and without whole loops), then
// longer ones, each with a random number of outputs (partial tiles and
// panels of 32).
func qgemmShapes() []isa.QGemmSpec {
	rng := rand.New(rand.NewPCG(64, 8))
	var ss []isa.QGemmSpec
	for k := 1; k <= 20; k++ {
		ss = append(ss, isa.QGemmSpec{N: 1 + rng.IntN(80), K: k, PW: qgemmPW})
	}
	for _, k := range []int{31, 33, 64, 100, 259, 1000} {
		ss = append(ss, isa.QGemmSpec{N: 1 + rng.IntN(80), K: k, PW: qgemmPW})
	}
	return append(ss, isa.QGemmSpec{N: 64, K: 48, PW: qgemmPW}, isa.QGemmSpec{N: 9, K: 70001, PW: qgemmPW})
}

// TestNEONQGemmShapes runs the isa.QGemm kernels on qgemmShapes under
// qemu, each at 1…17 rows and with random bytes, then every extreme:
// activations 255 against weights −128 and 127, activations 0 (x − 128 =
// −128 in the kernels) against weights −128 (the product 2^14 that a
// 16-bit pair sum would overflow), all zero, and sums that wrap past
// 2^31 as int32 (K·255·127 beyond the headroom, which the twin wraps
// too).
func TestNEONQGemmShapes(t *testing.T) {
	emulator := requireQEMU(t)
	for _, e := range qemu.ARM64 {
		tiers := qemuTiers(e)
		k := newKernels()
		src, test := drivertest.QGemm(k, tiers, qgemmPW, driver.QGemmArgs, qgemmShapes())
		drivertest.Run(t, moduleRoot(t), tiers, k, src, test, "kernels_arm64.s", e.Env(), emulator)
	}
}

func (k *kernels) QGemm(s isa.QGemmSpec, name, tier string) string {
	for _, kn := range (Target{}).QGemm(s) {
		if kn.Tier.Name == tier {
			p := kn.Part.(part)
			k.add(p.funcs)
			return strings.Replace(p.goSrc, "func "+kn.Name+"(", "func "+name+"(", 1)
		}
	}
	panic("no qgemm kernel for tier " + tier)
}

// TestQGemmKernels: both tiers for a spec, best first, each calling its
// own microkernels; no kernel for a panel width the tiles do not divide.
func TestQGemmKernels(t *testing.T) {
	ks := (Target{}).QGemm(isa.QGemmSpec{N: 40, K: 9, PW: 32})
	require.Len(t, ks, 2)
	require.Equal(t, "qgemm_n40_k9_pw32_dotprod", ks[0].Name)
	require.Equal(t, tierDotProd, ks[0].Tier)
	require.Equal(t, "qgemm_n40_k9_pw32_neon", ks[1].Name)
	require.Equal(t, tierNEON, ks[1].Tier)
	require.Contains(t, ks[0].Part.(part).goSrc, "qgemm_dotprod_8x8_pw32")
	require.Contains(t, ks[1].Part.(part).goSrc, "qgemm_neon_4x8_pw32")
	require.Empty(t, (Target{}).QGemm(isa.QGemmSpec{N: 40, K: 9, PW: 12}))
	require.Empty(t, (Target{}).LinearTiles("dotprod", 32), "the dot-product tier is the integer GEMM's only")
}
