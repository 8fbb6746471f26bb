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
}

func newKernels() *kernels { return &kernels{file: File{Build: "arm64"}, seen: map[string]bool{}} }

func (k *kernels) add(fns []*Func) {
	for _, fn := range fns {
		if !k.seen[fn.Name] {
			k.seen[fn.Name] = true
			k.file.Funcs = append(k.file.Funcs, fn)
		}
	}
}

func (k *kernels) Linear(s isa.LinearSpec, name, tier string) string {
	src, fns := linearKernel(s, name)
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
