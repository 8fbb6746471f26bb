package runtime

import "fmt"

// ModelcDeviceV1 marks the device contract below (Device, DeviceProgram,
// Executor). Packages generated with --target cuda contain
//
//	var _ = runtime.ModelcDeviceV1
//
// so that one built against a runtime without it fails to compile there.
const ModelcDeviceV1 = true

// Device is a back end a generated package can run its schedule on
// instead of the CPU: New(WithDevice(d)). runtime/cuda.Device(i) is the
// CUDA one; this module holds only the contract, so an application that
// runs on the CPU links no GPU code (and no purego).
type Device interface {
	// Load prepares p on the device: it loads the program's modules,
	// allocates its buffers for p.MaxBatch and copies the weights once.
	Load(p *DeviceProgram, b DeviceBinding) (Executor, error)
	// String names the device ("cuda:0 NVIDIA H200").
	String() string
}

// Executor runs a loaded program. Run is not safe for concurrent use;
// a generated Model serialises its calls.
type Executor interface {
	// Run computes the outputs for batch n: ins and outs are the
	// caller's buffers (the Inputs' and Outputs' bytes), sized for n.
	Run(n int, ins, outs [][]byte) error
	// Close frees the device memory; the executor is unusable after.
	Close() error
}

// DeviceBinding is what a program needs from the Model that loads it.
type DeviceBinding struct {
	Weights []byte // weights.bin after its header (SpaceWeights)
	Splat   []byte // the splat constants New fills (SpaceSplat)
	// Arena is the Model's host arena, in which host steps (the CPU
	// fallback) read and write their buffers at the plan's offsets.
	Arena []byte
	// Host are the host steps' functions, by DeviceStep.Host.
	Host []func(n int) error
}

// DeviceProgram is a generated package's schedule as a device runs it:
// the PTX modules, the buffers (the same memory plan as the CPU's arena),
// and the steps in order.
type DeviceProgram struct {
	Name     string
	PTX      map[string]string // module text by target ("sm_80", "sm_90")
	Buffers  []Buffer          // the arena's buffers, laid out by Plan at MaxBatch
	MaxBatch int
	Inputs   []DevicePort
	Outputs  []DevicePort
	Steps    []DeviceStep
}

// DevicePort is an input or output: its bytes at batch n are A·n + B.
type DevicePort struct {
	Name string
	A, B int
}

// Bytes is the port's size at batch n.
func (p DevicePort) Bytes(n int) int { return p.A*n + p.B }

// DeviceStep is one step: a kernel launch, or (Kernel "") a host step
// that runs the step's CPU kernel on the host copies of its buffers.
type DeviceStep struct {
	Name   string // the schedule's label for the step
	Kernel string
	Block  int
	Grid   [3]GridDim
	Args   []DeviceArg
	// Status: the kernel may set the status word (an index out of range).
	Status bool
	// Host step: the function's index in DeviceBinding.Host, and the
	// regions it reads (copied from the device first) and writes (copied
	// to the device after).
	Host          int
	Reads, Writes []DeviceArg
}

// GridDim is a grid dimension, ⌈(A·n + B)/Div⌉ blocks at batch n (1 when
// Div is 0).
type GridDim struct{ A, B, Div int }

// Blocks is the dimension at batch n.
func (g GridDim) Blocks(n int) int {
	if g.Div == 0 {
		return 1
	}
	return (g.A*n + g.B + g.Div - 1) / g.Div
}

// Space is where a kernel argument points.
type Space uint8

const (
	SpaceCount   Space = iota // not a pointer: the 32-bit value A·n + B
	SpaceArena                // arena buffer Index, Offset bytes in
	SpaceWeights              // Offset bytes into the weights
	SpaceSplat                // Offset bytes into the splat constants
	SpaceInput                // input Index
	SpaceOutput               // output Index
	SpaceStatus               // the run's status word (4 bytes)
)

// DeviceArg is a kernel argument, or a host step's region (then A·n + B
// is its size in bytes).
type DeviceArg struct {
	Space  Space
	Index  int
	Offset int
	A, B   int
}

// Value is a count argument's value at batch n.
func (a DeviceArg) Value(n int) int { return a.A*n + a.B }

// Check reports a program a loader must refuse: an argument naming a
// buffer or port that does not exist, a step with neither a kernel nor
// a host function.
func (p *DeviceProgram) Check(hostSteps int) error {
	if p.MaxBatch < 1 {
		return fmt.Errorf("device program %s: max batch %d", p.Name, p.MaxBatch)
	}
	check := func(s int, a DeviceArg) error {
		n := -1
		switch a.Space {
		case SpaceArena:
			n = len(p.Buffers)
		case SpaceInput:
			n = len(p.Inputs)
		case SpaceOutput:
			n = len(p.Outputs)
		case SpaceCount, SpaceWeights, SpaceSplat, SpaceStatus:
			return nil
		default:
			return fmt.Errorf("device program %s: step %d: unknown space %d", p.Name, s, a.Space)
		}
		if a.Index < 0 || a.Index >= n {
			return fmt.Errorf("device program %s: step %d: index %d out of range (%d)", p.Name, s, a.Index, n)
		}
		return nil
	}
	for i, st := range p.Steps {
		if st.Kernel == "" && (st.Host < 0 || st.Host >= hostSteps) {
			return fmt.Errorf("device program %s: step %d (%s): no kernel and no host function", p.Name, i, st.Name)
		}
		for _, list := range [][]DeviceArg{st.Args, st.Reads, st.Writes} {
			for _, a := range list {
				if err := check(i, a); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
