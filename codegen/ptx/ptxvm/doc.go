// Package ptxvm is an interpreter for the subset of PTX that modelc's
// generators (codegen/ptx) emit, written from NVIDIA's PTX ISA manual
// (version 7.8): the kernels' parameters, registers, global and shared
// memory, integer and float arithmetic with PTX's rounding and NaN rules
// (min/max drop a NaN operand, .NaN keeps it, ordered comparisons are
// false on NaN), conversions, predication and branches, bar.sync,
// shfl.sync (up, down, bfly, idx, by the manual's lane formula) and
// bar.warp.sync.
//
// It is a test oracle only, never an execution path: the generators'
// tests run every kernel family on small shapes and compare with the
// reference evaluator (ir.Eval) by design.md's GPU rule, without a GPU.
// Threads of a block run one at a time between synchronisation points
// (a schedule PTX's independent thread scheduling allows), forward or in
// reverse (Options.Reverse) so that a missing barrier changes the
// result; accesses out of an allocation's bounds, misaligned accesses,
// a shuffle whose lanes have exited and deadlocks are errors naming the
// thread and the instruction.
//
// Driver is runtime.Driver over the interpreter and Device a
// runtime.Device: New(WithDevice(ptxvm.Device{})) runs a generated CUDA
// package's whole schedule through the executor a GPU runs, in tests.
package ptxvm
