//go:build modelcharness && linux

package main

import (
	"syscall"
	"unsafe"
)

// threadCPUNs returns the CPU time of the calling OS thread
// (CLOCK_THREAD_CPUTIME_ID), in ns, or -1.
func threadCPUNs() float64 {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return -1
	}
	return float64(ts.Nano())
}
