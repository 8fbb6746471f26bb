package amd64

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
	"github.com/modelc/modelc/codegen/isa/driver/drivertest"
)

// TestX86MatchesGo runs the drivers' conformance suite for linear layers
// (drivertest.Linear: every panel width, K's tails, every epilogue, row
// counts 0…25 in two chunks of panels, guard values, NaN and ±Inf rows)
// on the AVX-512 and AVX2 kernels this CPU runs, against the pure-Go
// twin, with go vet's asmdecl over the package; the epilogues include
// the activations of real CNNs (drivertest.CNNEpilogues).
func TestX86MatchesGo(t *testing.T) {
	tiers := x86Tiers(t)
	k := newKernels()
	src, test := drivertest.Linear(k, tiers, driver.GemmArgs, drivertest.CNNEpilogues...)
	drivertest.Run(t, moduleRoot(t), tiers, k, src, test, "kernels_amd64.s", nil, "")
}

// TestX86ConvMatchesRef runs the drivers' conformance suite for
// convolution rows (drivertest.ConvRow: against a float64 convolution,
// with a NaN that must reach exactly the outputs whose windows hold it)
// on the AVX-512 and AVX2 kernels this CPU runs.
func TestX86ConvMatchesRef(t *testing.T) {
	tiers := x86Tiers(t)
	k := newKernels()
	src, test := drivertest.ConvRow(k, tiers, driver.GemmArgs)
	drivertest.Run(t, moduleRoot(t), tiers, k, src, test, "kernels_amd64.s", nil, "")
}

// TestX86DepthwiseMatchesRef runs the drivers' conformance suite for
// depthwise rows (drivertest.Depthwise: every window 3×3–7×7, stride,
// dilation, channel tail and activation, against a float64 convolution
// through the float32 epilogue twins, guard values, NaN and ±Inf) on the
// AVX-512 and AVX2 kernels this CPU runs.
func TestX86DepthwiseMatchesRef(t *testing.T) {
	tiers := x86Tiers(t)
	k := newKernels()
	src, test := drivertest.Depthwise(k, tiers, driver.DWArgs)
	drivertest.Run(t, moduleRoot(t), tiers, k, src, test, "kernels_amd64.s", nil, "")
}

// kernels is the amd64 target for drivertest: each tier's drivers, and
// the microkernels they call, each once.
type kernels struct {
	file File
	seen map[string]bool
}

func newKernels() *kernels { return &kernels{file: File{Build: "amd64"}, seen: map[string]bool{}} }

func (k *kernels) add(fns []*Func) {
	for _, fn := range fns {
		if !k.seen[fn.Name] {
			k.seen[fn.Name] = true
			k.file.Funcs = append(k.file.Funcs, fn)
		}
	}
}

func (k *kernels) Linear(s isa.LinearSpec, name, tier string) string {
	for _, t := range linearTiles(s.PW) {
		if t.Tier == tier {
			src, fns := linearKernel(s, name, t)
			k.add(fns)
			return src
		}
	}
	panic("no tile for tier " + tier)
}

func (k *kernels) ConvRow(s isa.ConvRowSpec, name, tier string) string {
	src, fns := convRowKernel(s, name, convTile(tier, s.OW, s.PW, s.KW*s.C))
	k.add(fns)
	return src
}

func (k *kernels) Depthwise(s isa.DepthwiseSpec, name, tier string) string {
	src, fns, ok := depthwiseKernel(s, name, tier)
	if !ok {
		return ""
	}
	k.add(fns)
	return src
}

func (k *kernels) Asm() (string, string) { return k.file.GoDecls(), k.file.AMD64() }

// moduleRoot is this checkout's module folder.
func moduleRoot(t *testing.T) string {
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	return root
}

// x86Tiers returns the assembly tiers this CPU runs, skipping the test
// when there are none (a failure in CI, unless GODEBUG turned them off).
func x86Tiers(t *testing.T) []string {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("x86 kernels run on amd64 only")
	}
	if testing.Short() {
		t.Skip("builds a package")
	}
	var tiers []string
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		tiers = append(tiers, "avx2")
		if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL {
			tiers = append(tiers, "avx512")
		}
	}
	if len(tiers) == 0 {
		if strings.Contains(os.Getenv("GODEBUG"), "cpu.") {
			t.Skip("GODEBUG turned AVX2 off (the dispatch matrix): no assembly tier to test")
		}
		if os.Getenv("CI") == "true" {
			t.Fatal("CI needs an AVX2 machine to test the x86 kernels")
		}
		t.Skip("no AVX2 here")
	}
	return tiers
}
