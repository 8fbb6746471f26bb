//go:build amd64 && !purego

package peak

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

func addChain(n int64) int64
func fmaY(n int64)
func fmaZ(n int64)

// readZ sums n 256-byte blocks from p with 512-bit loads; readY with
// 256-bit loads. The sum is returned so the loads cannot be dropped.
func readZ(p unsafe.Pointer, n int64) float32
func readY(p unsafe.Pointer, n int64) float32

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F
)

func available() bool { return hasAVX2 }

func fmaKernels() []fmaKernel {
	k := []fmaKernel{{"avx2", 8, fmaY}}
	if hasAVX512 {
		k = append(k, fmaKernel{"avx512", 16, fmaZ})
	}
	return k
}

var sink float32

func readStream(b []byte) {
	if hasAVX512 {
		sink += readZ(unsafe.Pointer(&b[0]), int64(len(b)/256))
	} else {
		sink += readY(unsafe.Pointer(&b[0]), int64(len(b)/256))
	}
}

func unsafeAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
