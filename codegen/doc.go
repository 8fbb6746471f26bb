// Package codegen turns a compiled ir.Graph (after the pass pipeline, with
// its memory plan) into a Go package: model.go (the API, emitted with
// jennifer so every user-derived name is sanitised or quoted), kernels.go
// (one function per distinct node shape, specialised with constants),
// weights.bin (a header with the code's hash, then the constants, 64-byte
// aligned, embedded and used in place, or read at New with WithWeightsFile,
// memory-mapped; see weightsfile.go),
// model_test.go (checks the package against the vectors it was built
// with) and REPORT.md.
//
// Kernels come from one generator per op family (kernel_*.go); a
// generator writes a function body from a template in which shapes are
// literals and batch-dependent sizes are expressions in n, the batch.
// Identical bodies are emitted once.
package codegen
