//go:build !amd64 || purego

package peak

import "unsafe"

func available() bool         { return false }
func fmaKernels() []fmaKernel { return nil }
func addChain(int64) int64    { return 0 }
func readStream([]byte)       {}

func unsafeAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
