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
//	codegen/kernels    the pure-Go kernels as templates: Go, tested against
//	                   ir.Eval, with their shapes' constructors and the ops'
//	                   formulas
//	codegen/tmpl       the template engine: specialises a Go function to a
//	                   shape through go/ast (parse, rewrite, print)
//	codegen/gemm       the pure-Go GEMM: packing, the unrolled kernel emitter,
//	                   the variant parameters the tuner searches
//	codegen/isa        the seam: Target, tiers, the kernel family contracts
//	codegen/isa/driver the Go drivers every vector target's kernels share: they
//	                   walk a family's shape and call a target's microkernels;
//	                   their templates and argument blocks in driver/drivers
//	codegen/isa/amd64  the amd64 target: typed instruction builder (zinstr.go,
//	                   generated from gen_instr.go's table), encoder, tiles and
//	                   microkernels of each family, file rendering
//	codegen/isa/isatest  a test target of plain-Go kernels (TestTargetSeam)
//	codegen/gosrc      finishing generated Go (imports by syntax tree, gofmt)
//
// # Writing a kernel
//
// A kernel is a template: an ordinary Go function in codegen/kernels,
// compiled and tested there as Go, which a generator specialises to one
// node through codegen/tmpl. To add one (a new op, a variant):
//
//  1. In codegen/kernels, declare the shape (XShape: the sizes and flags
//     the kernel is specialised by; sizes that depend on the batch as
//     ir.Dim, read s.F.At(n); loops of variable depth as a tmpl.Nest),
//     its constructor from the node (XOf), and the template
//
//     func X(s XShape, n int, [lo, hi int,] outputs…, inputs…, scratch… []T)
//
//     with parameters named after what they hold (y, x, w, bias; not k, n,
//     lo or hi, which the kernel's wrapper uses). Write it as Go: define
//     the sizes once (C, K := s.C, s.K: they become constants), branch on
//     the shape's flags with plain ifs (those on constants are pruned),
//     slice once so the inner loops are free of bounds checks. Where the
//     op varies by more than a constant, a hook: the op's formula as a
//     function of the package with one return statement (Relu, Add, the
//     epilogue's activations), inlined; a function another emitter writes
//     (the pure-Go GEMM) called; the targets' kernels of a family (a field
//     of the family's call-site type, LinearKernel…) called through Run,
//     which becomes the tier switch.
//
//  2. Test it beside it, as Go: evalOp builds the op on random shapes
//     (tails, the batch in different places), and the template's output
//     must match ir.Eval by the kernel rule, with guard values after it,
//     scratch full of NaN, and the stand-ins for the targets' kernels
//     (written from the family contracts) both absent and present.
//
//  3. In codegen's kernel_*.go, register a generator: it builds the shape,
//     asks for the parallel split (kctx.parallel) and scratch
//     (kctx.scratchBuf), binds the hooks — the op's tmpl.Inline, the pure
//     GEMM's tmpl.Call, and dispatchHook over the targets' kernels of the
//     node's family spec (kctx.kernels asks every target) — and calls
//     kctx.template("X", binding). No generator names a tier, an
//     instruction set or a target.
//
// The generated kernels.go is these instances, and gemm.Emit's functions:
// the pure-Go GEMM's tiles unroll (one variable per accumulator, one line
// per multiply-add), which a template cannot say, so they stay an
// emitter, whose output codegen/gemm's tests build, vet, hold free of
// bounds checks in the accumulation loops and check against gemm.Ref;
// here they are helpers the templates call. Each target's kernels_NAME.go
// is the driver templates' instances (codegen/isa/driver) with their
// argument blocks, and its .s the typed instruction builders' output.
// TestGolden's generated files (testdata/golden: small.ir for the vector
// families, generic.ir for the rest) are reviewed like code, and
// TestBoundsChecks holds each kernel's bounds checks to its golden count.
//
// Identical kernel bodies are emitted once. Kernels are named after their
// op and shape (conv3x3_c16_o16_s1_nhwc, linear_k512_n2048_gelu), with a
// suffix only when two different kernels would share a name.
package codegen
