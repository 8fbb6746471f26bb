package ptxvm

import (
	"fmt"

	"github.com/modelc/modelc/runtime"
)

// Device runs a generated package's device program in the interpreter:
// runtime.NewExecutor over a Driver on a fresh Memory, the executor the
// CUDA device runs. It lets tests run a whole model's kernels, as
// New(WithDevice(d)) would on a GPU, without one.
type Device struct {
	Options Options // each launch's (Reverse, MaxSteps)
	Target  string  // the PTX target loaded (default sm_80)
}

// Load implements runtime.Device.
func (d Device) Load(p *runtime.DeviceProgram, b runtime.DeviceBinding) (runtime.Executor, error) {
	t := d.Target
	if t == "" {
		t = "sm_80"
	}
	return runtime.NewExecutor(NewDriver(t, d.Options), p, b)
}

func (d Device) String() string { return "ptxvm" }

// Driver is runtime.Driver over Memory: modules are parsed, launches run
// to completion before Launch returns.
type Driver struct {
	Mem     *Memory
	Opts    Options
	target  string
	kernels []*Kernel
	// Launches counts the kernels run.
	Launches int
}

// NewDriver returns a Driver for target on fresh memory.
func NewDriver(target string, o Options) *Driver {
	return &Driver{Mem: &Memory{}, Opts: o, target: target}
}

func (d *Driver) Target() string { return d.target }

func (d *Driver) Enter() error { return nil }

func (d *Driver) Exit() {}

func (d *Driver) LoadModule(src string, names []string) ([]uintptr, error) {
	m, err := Parse(src)
	if err != nil {
		return nil, err
	}
	if m.Target != d.target {
		return nil, fmt.Errorf("module for %s loaded on %s", m.Target, d.target)
	}
	hs := make([]uintptr, len(names))
	for i, n := range names {
		k, ok := m.Kernels[n]
		if !ok {
			return nil, fmt.Errorf("no kernel %s in the module", n)
		}
		hs[i] = uintptr(len(d.kernels))
		d.kernels = append(d.kernels, k)
	}
	return hs, nil
}

func (d *Driver) Alloc(n int) (uint64, error) { return d.Mem.Alloc(n), nil }

func (d *Driver) Free(uint64) error { return nil }

func (d *Driver) CopyIn(dst uint64, src []byte) error {
	b, err := d.Mem.Bytes(dst, len(src))
	if err != nil {
		return err
	}
	copy(b, src)
	return nil
}

func (d *Driver) CopyOut(dst []byte, src uint64) error {
	b, err := d.Mem.Bytes(src, len(dst))
	if err != nil {
		return err
	}
	copy(dst, b)
	return nil
}

func (d *Driver) Launch(k uintptr, grid [3]int, block int, params []uint64) error {
	if int(k) >= len(d.kernels) {
		return fmt.Errorf("no kernel %d", k)
	}
	if grid[2] != 1 {
		return fmt.Errorf("grid %v: the interpreter runs two-dimensional grids", grid)
	}
	d.Launches++
	return d.kernels[k].Run(d.Mem, [2]int{grid[0], grid[1]}, block, params, d.Opts)
}

func (d *Driver) Close() error { return nil }
