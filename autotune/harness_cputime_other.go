//go:build modelcharness && !linux

package main

// threadCPUNs reports that this OS has no thread CPU clock the harness
// reads: samples are wall time.
func threadCPUNs() float64 { return -1 }
