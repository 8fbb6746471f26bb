//go:build linux && (amd64 || arm64)

package cuda

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebitengine/purego"

	"github.com/modelc/modelc/runtime"
)

// TestPrototypes: every bound symbol has its C declaration, every
// declaration is bound, and the loader passes each function as many
// arguments as the declaration has parameters.
func TestPrototypes(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range symbols {
		proto, ok := prototypes[s.name]
		if !ok {
			t.Errorf("%s: no prototype", s.name)
			continue
		}
		seen[s.name] = true
		params := proto[strings.Index(proto, "(")+1 : strings.LastIndex(proto, ")")]
		n := strings.Count(params, ",") + 1
		if strings.TrimSpace(params) == "void" {
			n = 0
		}
		if n != s.args {
			t.Errorf("%s: bound with %d arguments, declared with %d: %s", s.name, s.args, n, proto)
		}
		if !strings.HasPrefix(proto, "CUresult ") {
			t.Errorf("%s: %s does not return a CUresult", s.name, proto)
		}
	}
	for name := range prototypes {
		if !seen[name] {
			t.Errorf("%s: declared but not bound", name)
		}
	}
}

// TestNoDriver: without libcuda, loading says there is no driver (and
// what to do) rather than failing obscurely.
func TestNoDriver(t *testing.T) {
	_, err := load(filepath.Join(t.TempDir(), "libcuda.so.1"))
	if err == nil || !strings.Contains(err.Error(), "cuda: no CUDA driver") {
		t.Fatalf("load of a missing library: %v, want a no-driver error", err)
	}
	if _, err := os.Stat("/proc/driver/nvidia/version"); err == nil || os.Getenv("MODELC_LIBCUDA") != "" {
		t.Skip("this machine has a driver: Device(0) would load")
	}
	_, err = Device(0).Load(&runtime.DeviceProgram{Name: "m", MaxBatch: 1}, runtime.DeviceBinding{})
	if err == nil || !strings.Contains(err.Error(), "no CUDA driver") {
		t.Fatalf("Device(0).Load without a driver: %v", err)
	}
}

// fake builds testdata/fakecuda.c into a shared library (a fake driver
// over host memory that records launches) and loads it.
func fake(t testing.TB) (*api, func(string, ...uintptr) uintptr) {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no C compiler for the fake driver: %v", err)
		}
		t.Skip("no C compiler for the fake driver")
	}
	lib := filepath.Join(t.TempDir(), "libfakecuda.so")
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-o", lib, "testdata/fakecuda.c").CombinedOutput(); err != nil {
		t.Fatalf("building the fake driver: %v\n%s", err, out)
	}
	a, err := load(lib)
	if err != nil {
		t.Fatal(err)
	}
	h, err := purego.Dlopen(lib, purego.RTLD_NOW)
	if err != nil {
		t.Fatal(err)
	}
	return a, func(name string, args ...uintptr) uintptr {
		f, err := purego.Dlsym(h, name)
		if err != nil {
			t.Fatal(err)
		}
		r, _, _ := purego.SyscallN(f, args...)
		return r
	}
}

// TestFakeDriver runs a program through the loader and the executor on
// the fake driver: the device's name and target, the module and kernel
// loading, the weights' and inputs' copies, a launch's grid, block and
// parameters as the driver receives them (32-bit counts, device
// addresses), the outputs' copies, errors by name, and Close releasing
// everything.
func TestFakeDriver(t *testing.T) {
	a, fc := fake(t)
	d, err := a.device(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Enter(); err != nil {
		t.Fatal(err)
	}
	defer d.Exit()
	if d.name != "Fake GPU" || d.target != "sm_80" {
		t.Fatalf("device %q target %s, want Fake GPU sm_80", d.name, d.target)
	}
	opened, openErr = a, nil // Describe's driver
	once.Do(func() {})
	info, err := Device(0).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if want := (Info{Name: "Fake GPU", Major: 8, SMs: 108, ClockKHz: 1410000}); info != want {
		t.Fatalf("Describe: %+v, want %+v", info, want)
	}
	if p := info.PeakFP32(); p != 108*64*2*1.41e9 {
		t.Fatalf("A100 peak %g, want 19.5 TFLOP/s", p)
	}
	if _, err := a.device(1); err == nil || !strings.Contains(err.Error(), "no device 1 (1 CUDA devices)") {
		t.Fatalf("device 1: %v", err)
	}
	if _, err := d.LoadModule(".version 7.8\n", []string{"missing"}); err == nil || !strings.Contains(err.Error(), "kernel missing: cuda: cuModuleGetFunction: CUDA_ERROR_NOT_FOUND (500)") {
		t.Fatalf("a missing kernel: %v", err)
	}
	if _, err := d.Alloc(1 << 41); err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_OUT_OF_MEMORY") {
		t.Fatalf("allocating 2 TiB: %v", err)
	}
	p := &runtime.DeviceProgram{
		Name: "m", MaxBatch: 4,
		PTX:     map[string]string{"sm_80": ".version 7.8\n.target sm_80\n"},
		Buffers: []runtime.Buffer{{A: 64, First: 0, Last: 0}},
		Inputs:  []runtime.DevicePort{{Name: "x", A: 8}},
		Outputs: []runtime.DevicePort{{Name: "y", B: 4}},
		Steps: []runtime.DeviceStep{{Name: "k", Kernel: "k", Block: 128,
			Grid: [3]runtime.GridDim{{A: 100, B: 1, Div: 32}, {B: 1, Div: 1}, {}},
			Args: []runtime.DeviceArg{{Space: runtime.SpaceInput}, {Space: runtime.SpaceCount, A: 3, B: 1},
				{Space: runtime.SpaceWeights, Offset: 8}, {Space: runtime.SpaceOutput}}}},
	}
	fc("fake_expect_params", 4)
	ex, err := runtime.NewExecutor(d, p, runtime.DeviceBinding{Weights: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	x := []byte("inputs of batch2")
	y := make([]byte, 4)
	if err := ex.Run(2, [][]byte{x}, [][]byte{y}); err != nil {
		t.Fatal(err)
	}
	if g := [3]uintptr{fc("fake_grid", 0), fc("fake_grid", 1), fc("fake_grid", 2)}; g != [3]uintptr{7, 1, 1} {
		t.Errorf("grid %v, want ⌈201/32⌉ = 7, 1, 1", g)
	}
	if b := fc("fake_block"); b != 128 {
		t.Errorf("block %d, want 128", b)
	}
	if c := fc("fake_param", 1); c != 7 {
		t.Errorf("count parameter %d, want 3·2 + 1", c)
	}
	// Read through the addresses the kernel received.
	peek := func(addr uintptr, n int) []byte {
		b := make([]byte, n)
		if err := d.CopyOut(b, uint64(addr)); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got := peek(fc("fake_param", 0), len(x)); !bytes.Equal(got, x) {
		t.Errorf("the input's device copy holds %q, want %q", got, x)
	}
	if got := peek(fc("fake_param", 2), 8); string(got) != "89abcdef" {
		t.Errorf("the weights parameter points at %q, want the weights from byte 8", got)
	}
	if n := fc("fake_counts", 3); n != 1 {
		t.Errorf("%d launches, want 1", n)
	}
	if err := ex.Run(5, [][]byte{make([]byte, 40)}, [][]byte{y}); err == nil || !strings.Contains(err.Error(), "batch 5 is outside 1..4") {
		t.Errorf("batch 5: %v", err)
	}
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	for i, what := range []string{"contexts", "modules", "allocations"} {
		if n := fc("fake_counts", uintptr(i)); n != 0 {
			t.Errorf("%d %s left after Close", n, what)
		}
	}
}

// BenchmarkLaunch is the Go side's cost of one kernel launch (the fake
// driver's cuLaunchKernel records its arguments and returns), beside the
// floor: purego calling the fake's cuCtxSynchronize, which does nothing.
func BenchmarkLaunch(b *testing.B) {
	a, fc := fake(b)
	d, err := a.device(0)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Enter(); err != nil {
		b.Fatal(err)
	}
	defer d.Exit()
	defer d.Close()
	hs, err := d.LoadModule(".version 7.8\n", []string{"k"})
	if err != nil {
		b.Fatal(err)
	}
	fc("fake_expect_params", 5)
	params := []uint64{1 << 32, 2 << 32, 3 << 32, 7, 9}
	b.Run("launch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := d.Launch(hs[0], [3]int{64, 2, 1}, 256, params); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("empty-call", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			purego.SyscallN(a.fns[cuCtxSynchronize])
		}
	})
}
