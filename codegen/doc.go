// Package codegen turns a compiled ir.Graph (after the pass pipeline, with
// its memory plan) into a Go package: model.go (the API, emitted with
// jennifer so every user-derived name is sanitised or quoted), kernels.go
// (one pure-Go kernel per distinct node shape, specialised with
// constants; also what the purego build runs), each CPU target's files
// (kernels_amd64.go and .s, behind their build constraints, with
// kernels_amd64_stub.go elsewhere), weights.bin (a header with the code's
// hash, then the constants, 64-byte aligned, embedded and used in place, or
// read at New with WithWeightsFile, memory-mapped: weightsfile.go),
// model_test.go (checks the package against the vectors it was built with)
// and REPORT.md.
//
// # Layout
//
//	codegen            the generic generators (kernel_*.go, one per op family),
//	                   the kernel set, model.go, REPORT.md, the files on disk
//	codegen/gemm       the pure-Go GEMM: packing, the unrolled kernel emitter,
//	                   the variant parameters the tuner searches
//	codegen/isa        the seam: Target, tiers, the kernel family contracts
//	codegen/isa/driver the Go drivers every vector target's kernels share: they
//	                   walk a family's shape and call a target's microkernels
//	codegen/isa/amd64  the amd64 target: typed instruction builder (zinstr.go,
//	                   generated from gen_instr.go's table), encoder, tiles and
//	                   microkernels of each family, file rendering
//	codegen/isa/isatest  a test target of plain-Go kernels (TestTargetSeam)
//	codegen/gosrc      finishing generated Go (imports by syntax tree, gofmt)
//
// # Writing a kernel
//
// A generator (registered per op kind in kernel_*.go) writes a kernel's
// body for one node through kctx: shapes are literals and batch-dependent
// sizes expressions in n. Where the node's work is a kernel family that
// targets may have (isa.Family: a linear layer, a convolution row,
// attention, a row of layernorm or softmax, an element-wise run), it
// describes it as the family's spec, asks every target with kctx.kernels,
// and emits the call site with kctx.dispatch: one switch over the tier
// flags of every target, best first, with the pure-Go twin as the
// default. No generator names a tier, an instruction set or a target.
//
// Identical kernel bodies are emitted once. Kernels are named after their
// op and shape (conv3x3_c16_o16_s1_nhwc, linear_k512_n2048_gelu), with a
// suffix only when two different kernels would share a name.
package codegen
