//go:build linux && (amd64 || arm64)

package cuda

import (
	"fmt"
	"os"
	goruntime "runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/modelc/modelc/runtime"
)

// Device is the GPU of that ordinal, as the driver numbers them
// (CUDA_VISIBLE_DEVICES applies).
type Device int

// String names the device ("cuda:0").
func (d Device) String() string { return fmt.Sprintf("cuda:%d", int(d)) }

// Load implements runtime.Device: it opens the driver (once per process),
// checks the device (compute capability 8.0 or later: sm_80, or sm_90
// from 9.0), retains its primary context, and hands the program to the
// runtime's executor, which loads the PTX, allocates the buffers and
// copies the weights.
func (d Device) Load(p *runtime.DeviceProgram, b runtime.DeviceBinding) (runtime.Executor, error) {
	a, err := open()
	if err != nil {
		return nil, err
	}
	dr, err := a.device(int(d))
	if err != nil {
		return nil, err
	}
	ex, err := runtime.NewExecutor(dr, p, b)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", d, dr.name, err)
	}
	return ex, nil
}

// Info describes a device: for reports and peak rates (the GPU check).
type Info struct {
	Name         string
	Major, Minor int // compute capability
	SMs          int
	ClockKHz     int // the SMs' peak clock
}

// PeakFP32 is the device's FP32 FMA peak in FLOP/s: SMs × FP32 lanes per
// SM (64 on compute capability 8.0, 128 on 8.6 and later) × 2 × clock.
func (i Info) PeakFP32() float64 {
	lanes := 128
	if i.Major == 8 && i.Minor == 0 {
		lanes = 64
	}
	return float64(i.SMs) * float64(lanes) * 2 * float64(i.ClockKHz) * 1e3
}

// Describe reads the device's Info.
func (d Device) Describe() (Info, error) {
	a, err := open()
	if err != nil {
		return Info{}, err
	}
	dr, err := a.device(int(d))
	if err != nil {
		return Info{}, err
	}
	defer a.call(cuDevicePrimaryCtxRelease, dr.dev)
	info := Info{Name: dr.name, Major: dr.major, Minor: dr.minor}
	for _, q := range []struct {
		attr uintptr
		v    *int
	}{{attrMultiprocessorCount, &info.SMs}, {attrClockRate, &info.ClockKHz}} {
		var v int32
		if err := a.call(cuDeviceGetAttribute, uintptr(unsafe.Pointer(&v)), q.attr, dr.dev); err != nil {
			return Info{}, err
		}
		*q.v = int(v)
	}
	return info, nil
}

// sym is a bound driver API function: its index in symbols.
type sym int

const (
	cuInit sym = iota
	cuDriverGetVersion
	cuDeviceGetCount
	cuDeviceGet
	cuDeviceGetName
	cuDeviceGetAttribute
	cuDevicePrimaryCtxRetain
	cuDevicePrimaryCtxRelease
	cuCtxSetCurrent
	cuCtxSynchronize
	cuModuleLoadData
	cuModuleUnload
	cuModuleGetFunction
	cuMemAlloc
	cuMemFree
	cuMemcpyHtoD
	cuMemcpyDtoH
	cuLaunchKernel
	cuGetErrorName
	numSyms
)

// symbols are the functions' exported names and parameter counts (the
// prototypes' declarations; TestPrototypes checks them).
var symbols = [numSyms]struct {
	name string
	args int
}{
	cuInit:                    {"cuInit", 1},
	cuDriverGetVersion:        {"cuDriverGetVersion", 1},
	cuDeviceGetCount:          {"cuDeviceGetCount", 1},
	cuDeviceGet:               {"cuDeviceGet", 2},
	cuDeviceGetName:           {"cuDeviceGetName", 3},
	cuDeviceGetAttribute:      {"cuDeviceGetAttribute", 3},
	cuDevicePrimaryCtxRetain:  {"cuDevicePrimaryCtxRetain", 2},
	cuDevicePrimaryCtxRelease: {"cuDevicePrimaryCtxRelease_v2", 1},
	cuCtxSetCurrent:           {"cuCtxSetCurrent", 1},
	cuCtxSynchronize:          {"cuCtxSynchronize", 0},
	cuModuleLoadData:          {"cuModuleLoadData", 2},
	cuModuleUnload:            {"cuModuleUnload", 1},
	cuModuleGetFunction:       {"cuModuleGetFunction", 3},
	cuMemAlloc:                {"cuMemAlloc_v2", 2},
	cuMemFree:                 {"cuMemFree_v2", 1},
	cuMemcpyHtoD:              {"cuMemcpyHtoD_v2", 3},
	cuMemcpyDtoH:              {"cuMemcpyDtoH_v2", 3},
	cuLaunchKernel:            {"cuLaunchKernel", 11},
	cuGetErrorName:            {"cuGetErrorName", 2},
}

// library is the driver library's name; MODELC_LIBCUDA replaces it (a
// driver elsewhere, or a fake one in tests).
func library() string {
	if p := os.Getenv("MODELC_LIBCUDA"); p != "" {
		return p
	}
	return "libcuda.so.1"
}

// minDriver is the oldest driver API version (cuDriverGetVersion) that
// JIT-compiles PTX ISA 7.8: CUDA 11.8.
const minDriver = 11080

// api is the opened driver: each function's address.
type api struct{ fns [numSyms]uintptr }

var (
	opened  *api
	openErr error
	once    sync.Once
)

// open loads and initialises the driver, once per process.
func open() (*api, error) {
	once.Do(func() { opened, openErr = load(library()) })
	return opened, openErr
}

func load(path string) (*api, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("cuda: no CUDA driver: %v (install the NVIDIA driver, or run the Model on the CPU)", err)
	}
	a := &api{}
	for i, s := range symbols {
		if a.fns[i], err = purego.Dlsym(h, s.name); err != nil {
			return nil, fmt.Errorf("cuda: %s has no %s: %v (a driver older than CUDA 11.8?)", path, s.name, err)
		}
	}
	if err := a.call(cuInit, 0); err != nil {
		return nil, err
	}
	var v int32
	if err := a.call(cuDriverGetVersion, uintptr(unsafe.Pointer(&v))); err != nil {
		return nil, err
	}
	if v < minDriver {
		return nil, fmt.Errorf("cuda: the driver supports CUDA %d.%d; the PTX needs 11.8 or later", v/1000, v%1000/10)
	}
	return a, nil
}

// call calls s, and turns a CUresult other than CUDA_SUCCESS into an
// error naming s and the result.
func (a *api) call(s sym, args ...uintptr) error {
	if len(args) != symbols[s].args {
		panic(fmt.Sprintf("BUG: cuda: %s called with %d arguments for %d", symbols[s].name, len(args), symbols[s].args))
	}
	r, _, _ := purego.SyscallN(a.fns[s], args...)
	if r == 0 {
		return nil
	}
	return fmt.Errorf("cuda: %s: %s (%d)", symbols[s].name, a.errorName(r), r)
}

// errorName is a CUresult's name (cuGetErrorName's, else errorNames').
func (a *api) errorName(r uintptr) string {
	var p *byte
	if rr, _, _ := purego.SyscallN(a.fns[cuGetErrorName], r, uintptr(unsafe.Pointer(&p))); rr == 0 && p != nil {
		return cString(p)
	}
	if n, ok := errorNames[r]; ok {
		return n
	}
	return "CUDA error"
}

// cString copies a NUL-terminated C string.
func cString(p *byte) string {
	var b []byte
	for q := unsafe.Pointer(p); *(*byte)(q) != 0 && len(b) < 256; q = unsafe.Add(q, 1) {
		b = append(b, *(*byte)(q))
	}
	return string(b)
}

// device opens ordinal i: its name, its target, its primary context.
func (a *api) device(i int) (*driver, error) {
	var count int32
	if err := a.call(cuDeviceGetCount, uintptr(unsafe.Pointer(&count))); err != nil {
		return nil, err
	}
	if i < 0 || i >= int(count) {
		return nil, fmt.Errorf("cuda: no device %d (%d CUDA devices)", i, count)
	}
	var dev int32
	if err := a.call(cuDeviceGet, uintptr(unsafe.Pointer(&dev)), uintptr(i)); err != nil {
		return nil, err
	}
	name := make([]byte, 256)
	if err := a.call(cuDeviceGetName, uintptr(unsafe.Pointer(&name[0])), uintptr(len(name)), uintptr(dev)); err != nil {
		return nil, err
	}
	var major, minor int32
	if err := a.call(cuDeviceGetAttribute, uintptr(unsafe.Pointer(&major)), attrComputeCapabilityMajor, uintptr(dev)); err != nil {
		return nil, err
	}
	if err := a.call(cuDeviceGetAttribute, uintptr(unsafe.Pointer(&minor)), attrComputeCapabilityMinor, uintptr(dev)); err != nil {
		return nil, err
	}
	d := &driver{a: a, dev: uintptr(dev), name: cString(&name[0]), major: int(major), minor: int(minor)}
	switch {
	case major >= 9:
		d.target = "sm_90"
	case major == 8:
		d.target = "sm_80"
	default:
		return nil, fmt.Errorf("cuda: device %d (%s) has compute capability %d.%d; the PTX needs 8.0 or later", i, d.name, major, minor)
	}
	if err := a.call(cuDevicePrimaryCtxRetain, uintptr(unsafe.Pointer(&d.ctx)), d.dev); err != nil {
		return nil, err
	}
	return d, nil
}

// driver is runtime.Driver over one device's primary context, which
// Enter makes current on the goroutine's locked OS thread.
type driver struct {
	a          *api
	dev, ctx   uintptr
	name       string
	major      int
	minor      int
	target     string
	mods       []uintptr
	kernelArgs []unsafe.Pointer // Launch's parameter pointers, reused
	launch     [11]uintptr      // cuLaunchKernel's arguments, reused
}

// Enter locks the goroutine to its thread and makes the context current
// there, until Exit.
func (d *driver) Enter() error {
	goruntime.LockOSThread()
	return d.a.call(cuCtxSetCurrent, d.ctx)
}

// Exit unlocks the goroutine from its thread.
func (d *driver) Exit() { goruntime.UnlockOSThread() }

func (d *driver) Target() string { return d.target }

func (d *driver) LoadModule(ptx string, kernels []string) ([]uintptr, error) {
	src := append([]byte(ptx), 0)
	var mod uintptr
	if err := d.a.call(cuModuleLoadData, uintptr(unsafe.Pointer(&mod)), uintptr(unsafe.Pointer(&src[0]))); err != nil {
		return nil, err
	}
	d.mods = append(d.mods, mod)
	hs := make([]uintptr, len(kernels))
	for i, k := range kernels {
		name := append([]byte(k), 0)
		if err := d.a.call(cuModuleGetFunction, uintptr(unsafe.Pointer(&hs[i])), mod, uintptr(unsafe.Pointer(&name[0]))); err != nil {
			return nil, fmt.Errorf("kernel %s: %w", k, err)
		}
	}
	return hs, nil
}

func (d *driver) Alloc(n int) (uint64, error) {
	var p uint64
	if err := d.a.call(cuMemAlloc, uintptr(unsafe.Pointer(&p)), uintptr(n)); err != nil {
		return 0, fmt.Errorf("allocating %d bytes on the device: %w", n, err)
	}
	return p, nil
}

func (d *driver) Free(p uint64) error {
	return d.a.call(cuMemFree, uintptr(p))
}

func (d *driver) CopyIn(dst uint64, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return d.a.call(cuMemcpyHtoD, uintptr(dst), uintptr(unsafe.Pointer(&src[0])), uintptr(len(src)))
}

func (d *driver) CopyOut(dst []byte, src uint64) error {
	if len(dst) == 0 {
		return nil
	}
	return d.a.call(cuMemcpyDtoH, uintptr(unsafe.Pointer(&dst[0])), uintptr(src), uintptr(len(dst)))
}

// Launch starts k on the context's default stream. kernelParams points
// at each parameter's 8-byte slot; a 32-bit parameter reads the slot's
// low half (little-endian).
func (d *driver) Launch(k uintptr, grid [3]int, block int, params []uint64) error {
	d.kernelArgs = d.kernelArgs[:0]
	for i := range params {
		d.kernelArgs = append(d.kernelArgs, unsafe.Pointer(&params[i]))
	}
	var argv uintptr
	if len(d.kernelArgs) > 0 {
		argv = uintptr(unsafe.Pointer(&d.kernelArgs[0]))
	}
	// SyscallN over the reused argument block: no slice made per call.
	d.launch = [11]uintptr{k, uintptr(grid[0]), uintptr(grid[1]), uintptr(grid[2]), uintptr(block), 1, 1, 0, 0, argv, 0}
	if r, _, _ := purego.SyscallN(d.a.fns[cuLaunchKernel], d.launch[:]...); r != 0 {
		return fmt.Errorf("cuda: %s: %s (%d)", symbols[cuLaunchKernel].name, d.a.errorName(r), r)
	}
	return nil
}

// Close waits for the device, unloads the modules and releases the
// primary context (inside Enter and Exit, as the executor calls it).
func (d *driver) Close() error {
	first := d.a.call(cuCtxSynchronize)
	for _, m := range d.mods {
		if err := d.a.call(cuModuleUnload, m); err != nil && first == nil {
			first = err
		}
	}
	d.mods = nil
	if err := d.a.call(cuDevicePrimaryCtxRelease, d.dev); err != nil && first == nil {
		first = err
	}
	return first
}
