// Package cuda runs a generated package's schedule on an NVIDIA GPU: its
// Device is a runtime.Device for New(WithDevice(cuda.Device(0))) in a
// package built with modelc build --target cuda.
//
// The CUDA driver API (libcuda.so.1, installed with the NVIDIA driver) is
// loaded at run time with github.com/ebitengine/purego: no cgo, no CUDA
// toolkit at build time. Only an application that imports this package
// links purego; one that runs its models on the CPU stays a static
// binary. Where there is no driver (or no GPU, or one older than compute
// capability 8.0), Device(i).Load fails with an error saying so, and the
// application can keep its CPU Model.
//
// The bindings are the driver API functions in prototypes (their C
// declarations, as CUDA 11.8's cuda.h declares them; the _v2 names are
// the symbols cuda.h's macros select). Every call's CUresult becomes an
// error naming the function and the result (CUDA_ERROR_OUT_OF_MEMORY,
// …). The module's PTX (ISA 7.8) needs a driver of CUDA 11.8 or later.
package cuda
