package runtime

import (
	"encoding/binary"
	"fmt"
)

// Driver is what NewExecutor needs from a device API: runtime/cuda binds
// it to libcuda's driver API; tests bind it to a PTX interpreter
// (codegen/ptx/ptxvm), so that the executor a GPU runs is the one the
// tests run. Work is issued in order on one stream; CopyOut waits for it.
// The executor brackets its calls with Enter and Exit (a CUDA context is
// current on one OS thread), so the other methods need not bind.
type Driver interface {
	// Enter binds the driver to the calling goroutine's thread until Exit
	// (which follows every Enter, failed or not).
	Enter() error
	Exit()
	// Target is the PTX target to load ("sm_80", "sm_90").
	Target() string
	// LoadModule loads a PTX module and returns its named kernels' handles.
	LoadModule(ptx string, kernels []string) ([]uintptr, error)
	// Alloc returns the device address of n bytes (n > 0).
	Alloc(n int) (uint64, error)
	Free(addr uint64) error
	// CopyIn copies src to the device at dst, CopyOut the device's bytes
	// at src into dst, after the work issued before it.
	CopyIn(dst uint64, src []byte) error
	CopyOut(dst []byte, src uint64) error
	// Launch starts kernel k on grid blocks of block threads; params are
	// the parameters' values in order (addresses, or 32-bit counts in the
	// low half), as the kernel declares them.
	Launch(k uintptr, grid [3]int, block int, params []uint64) error
	// Close unloads the modules and releases the device.
	Close() error
}

// NewExecutor loads p on d for a Model bound by b: it loads p's module for
// d's target, allocates the arena (laid out by Plan at p.MaxBatch, as the
// CPU arena is), the ports and the status words, and copies the weights
// once. The executor owns d from then on: its Close closes d.
func NewExecutor(d Driver, p *DeviceProgram, b DeviceBinding) (Executor, error) {
	if err := p.Check(len(b.Host)); err != nil {
		return nil, err
	}
	src, ok := p.PTX[d.Target()]
	if !ok {
		return nil, fmt.Errorf("device program %s has no PTX for %s", p.Name, d.Target())
	}
	if err := d.Enter(); err != nil {
		d.Exit()
		return nil, err
	}
	e := &executor{d: d, p: p, b: b}
	err := e.load(src)
	d.Exit()
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

type executor struct {
	d       Driver
	p       *DeviceProgram
	b       DeviceBinding
	allocs  []uint64
	arena   uint64
	offsets []int // the arena's buffers, bytes from arena (and from b.Arena's start)
	weights uint64
	splat   uint64
	ins     []uint64
	outs    []uint64
	status  uint64 // one 4-byte word per step that may set one
	steps   []execStep
	zeros   []byte // the status words' initial value
	word    []byte // a status word read back
}

type execStep struct {
	kernel uintptr
	params []uint64 // addresses fixed at load; counts set per run
	status int      // the step's status word (-1: none)
}

func (e *executor) alloc(n int) (uint64, error) {
	a, err := e.d.Alloc(max(n, 4))
	if err != nil {
		return 0, err
	}
	e.allocs = append(e.allocs, a)
	return a, nil
}

func (e *executor) load(src string) error {
	p := e.p
	var names []string
	index := map[string]int{}
	for _, st := range p.Steps {
		if _, ok := index[st.Kernel]; st.Kernel != "" && !ok {
			index[st.Kernel] = len(names)
			names = append(names, st.Kernel)
		}
	}
	handles, err := e.d.LoadModule(src, names)
	if err != nil {
		return fmt.Errorf("loading %s's PTX (%s): %w", p.Name, e.d.Target(), err)
	}
	var total int
	e.offsets, total = Plan(p.Buffers, p.MaxBatch)
	if e.b.Arena != nil && len(e.b.Arena) < total {
		return fmt.Errorf("device program %s: the host arena has %d bytes, the plan %d", p.Name, len(e.b.Arena), total)
	}
	if e.arena, err = e.alloc(total); err != nil {
		return err
	}
	for _, c := range []struct {
		at   *uint64
		data []byte
	}{{&e.weights, e.b.Weights}, {&e.splat, e.b.Splat}} {
		if *c.at, err = e.alloc(len(c.data)); err != nil {
			return err
		}
		if len(c.data) > 0 {
			if err := e.d.CopyIn(*c.at, c.data); err != nil {
				return err
			}
		}
	}
	for _, ports := range []struct {
		ps []DevicePort
		at *[]uint64
	}{{p.Inputs, &e.ins}, {p.Outputs, &e.outs}} {
		for _, q := range ports.ps {
			a, err := e.alloc(q.Bytes(p.MaxBatch))
			if err != nil {
				return err
			}
			*ports.at = append(*ports.at, a)
		}
	}
	statuses := 0
	for _, st := range p.Steps {
		if st.Status {
			statuses++
		}
	}
	if e.status, err = e.alloc(4 * statuses); err != nil {
		return err
	}
	e.zeros, e.word = make([]byte, 4*statuses), make([]byte, 4)
	statuses = 0
	for _, st := range p.Steps {
		es := execStep{status: -1}
		if st.Kernel != "" {
			es.kernel = handles[index[st.Kernel]]
			if st.Status {
				es.status = statuses
				statuses++
			}
			for _, a := range st.Args {
				es.params = append(es.params, e.address(a, es.status))
			}
		}
		e.steps = append(e.steps, es)
	}
	return nil
}

// address is where a kernel argument points (0 for a count).
func (e *executor) address(a DeviceArg, status int) uint64 {
	switch a.Space {
	case SpaceArena:
		return e.arena + uint64(e.offsets[a.Index]+a.Offset)
	case SpaceWeights:
		return e.weights + uint64(a.Offset)
	case SpaceSplat:
		return e.splat + uint64(a.Offset)
	case SpaceInput:
		return e.ins[a.Index] + uint64(a.Offset)
	case SpaceOutput:
		return e.outs[a.Index] + uint64(a.Offset)
	case SpaceStatus:
		return e.status + uint64(4*max(status, 0))
	}
	return 0
}

// Run copies the inputs in, runs the steps in order (a host step between
// copies of the regions it reads and writes), checks the status words and
// copies the outputs out.
func (e *executor) Run(n int, ins, outs [][]byte) error {
	p := e.p
	if n < 1 || n > p.MaxBatch {
		return fmt.Errorf("batch %d is outside 1..%d", n, p.MaxBatch)
	}
	if len(ins) != len(p.Inputs) || len(outs) != len(p.Outputs) {
		return fmt.Errorf("%d inputs and %d outputs for a program of %d and %d", len(ins), len(outs), len(p.Inputs), len(p.Outputs))
	}
	defer e.d.Exit()
	if err := e.d.Enter(); err != nil {
		return err
	}
	for i, q := range p.Inputs {
		if len(ins[i]) != q.Bytes(n) {
			return fmt.Errorf("input %s: %d bytes at batch %d, want %d", q.Name, len(ins[i]), n, q.Bytes(n))
		}
		if err := e.d.CopyIn(e.ins[i], ins[i]); err != nil {
			return fmt.Errorf("input %s: %w", q.Name, err)
		}
	}
	for i, q := range p.Outputs {
		if len(outs[i]) != q.Bytes(n) {
			return fmt.Errorf("output %s: %d bytes at batch %d, want %d", q.Name, len(outs[i]), n, q.Bytes(n))
		}
	}
	if len(e.zeros) > 0 {
		if err := e.d.CopyIn(e.status, e.zeros); err != nil {
			return err
		}
	}
	for i := range p.Steps {
		st, es := &p.Steps[i], &e.steps[i]
		if st.Kernel == "" {
			if err := e.host(n, st, ins, outs); err != nil {
				return fmt.Errorf("step %d (%s, on the host): %w", i, st.Name, err)
			}
			continue
		}
		for j, a := range st.Args {
			if a.Space == SpaceCount {
				es.params[j] = uint64(uint32(a.Value(n)))
			}
		}
		grid := [3]int{st.Grid[0].Blocks(n), st.Grid[1].Blocks(n), st.Grid[2].Blocks(n)}
		if grid[0] == 0 || grid[1] == 0 || grid[2] == 0 {
			continue // nothing to do at this batch
		}
		if err := e.d.Launch(es.kernel, grid, st.Block, es.params); err != nil {
			return fmt.Errorf("step %d (%s): %s: %w", i, st.Name, st.Kernel, err)
		}
	}
	for i := range p.Outputs {
		if err := e.d.CopyOut(outs[i], e.outs[i]); err != nil {
			return fmt.Errorf("output %s: %w", p.Outputs[i].Name, err)
		}
	}
	for i := range p.Steps {
		st, es := &p.Steps[i], &e.steps[i]
		if es.status < 0 {
			continue
		}
		if err := e.d.CopyOut(e.word, e.status+uint64(4*es.status)); err != nil {
			return err
		}
		if binary.LittleEndian.Uint32(e.word) != 0 {
			return fmt.Errorf("step %d (%s): an index is out of range", i, st.Name)
		}
	}
	return nil
}

// host runs a host step: the regions it reads come from the device into
// the host arena (or the caller's outputs), the step runs, and the
// regions it writes go back.
func (e *executor) host(n int, st *DeviceStep, ins, outs [][]byte) error {
	region := func(a DeviceArg) ([]byte, uint64, error) {
		size := a.A*n + a.B
		switch a.Space {
		case SpaceArena:
			off := e.offsets[a.Index] + a.Offset
			if e.b.Arena == nil || off+size > len(e.b.Arena) {
				return nil, 0, fmt.Errorf("arena buffer %d: %d bytes at %d past the host arena's %d", a.Index, size, off, len(e.b.Arena))
			}
			return e.b.Arena[off : off+size], e.arena + uint64(off), nil
		case SpaceInput, SpaceOutput:
			ports, at := outs, e.outs
			if a.Space == SpaceInput {
				ports, at = ins, e.ins
			}
			if size > len(ports[a.Index]) {
				return nil, 0, fmt.Errorf("port %d: %d bytes past its %d", a.Index, size, len(ports[a.Index]))
			}
			return ports[a.Index][:size], at[a.Index], nil
		}
		return nil, 0, fmt.Errorf("a host step's region in space %d", a.Space)
	}
	for _, a := range st.Reads {
		h, dev, err := region(a)
		if err != nil {
			return err
		}
		if err := e.d.CopyOut(h, dev); err != nil {
			return err
		}
	}
	if err := e.b.Host[st.Host](n); err != nil {
		return err
	}
	for _, a := range st.Writes {
		h, dev, err := region(a)
		if err != nil {
			return err
		}
		if err := e.d.CopyIn(dev, h); err != nil {
			return err
		}
	}
	return nil
}

// Close frees the device memory and closes the driver.
func (e *executor) Close() error {
	defer e.d.Exit()
	first := e.d.Enter()
	for _, a := range e.allocs {
		if err := e.d.Free(a); err != nil && first == nil {
			first = err
		}
	}
	e.allocs = nil
	if err := e.d.Close(); err != nil && first == nil {
		first = err
	}
	return first
}
