// Package peak measures the physical limits of this machine's cores, so a
// benchmark can state its result as a fraction of what the hardware can
// do rather than of a number from a data sheet:
//
//   - the effective clock, from a chain of dependent 1-cycle integer adds;
//   - fp32 FMA throughput, from 12 independent VFMADD231PS chains per
//     iteration (enough to cover the FMA latency on every x86 core since
//     Haswell), with 256-bit and, where present, 512-bit registers;
//   - the read bandwidth from memory, from vector loads streamed over a
//     buffer far larger than the last-level cache.
//
// The kernels are Plan 9 assembly on amd64; elsewhere (and with the
// purego tag) Measure reports that no peak is known, and benchmarks print
// GFLOP/s without a fraction.
package peak
