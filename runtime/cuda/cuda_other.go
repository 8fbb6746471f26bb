//go:build !(linux && (amd64 || arm64))

package cuda

import (
	"fmt"
	goruntime "runtime"

	"github.com/modelc/modelc/runtime"
)

// Device is the GPU of that ordinal; this platform has no CUDA path.
type Device int

// String names the device ("cuda:0").
func (d Device) String() string { return fmt.Sprintf("cuda:%d", int(d)) }

// Load fails: the loader is written for Linux on amd64 and arm64.
func (d Device) Load(*runtime.DeviceProgram, runtime.DeviceBinding) (runtime.Executor, error) {
	return nil, fmt.Errorf("cuda: no CUDA path on %s/%s (Linux on amd64 or arm64 only)", goruntime.GOOS, goruntime.GOARCH)
}

// Info describes a device.
type Info struct {
	Name         string
	Major, Minor int
	SMs          int
	ClockKHz     int
}

// PeakFP32 is the device's FP32 FMA peak in FLOP/s.
func (i Info) PeakFP32() float64 { return 0 }

// Describe fails: there is no CUDA path here.
func (d Device) Describe() (Info, error) {
	return Info{}, fmt.Errorf("cuda: no CUDA path on %s/%s (Linux on amd64 or arm64 only)", goruntime.GOOS, goruntime.GOARCH)
}
