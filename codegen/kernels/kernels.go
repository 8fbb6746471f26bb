// Package kernels holds the pure-Go kernels of generated packages as
// templates: ordinary Go functions, compiled and unit-tested here as Go
// (against the reference evaluator, ir.Eval), that codegen specialises
// to a node's shapes through codegen/tmpl and copies into kernels.go.
//
// A template's first parameter is its shape (an XShape struct): the
// sizes, flags and loop nests it is specialised by, which become
// literals, pruned branches and loops in the generated code (see
// codegen/tmpl for the rules). Sizes that depend on the batch are ir.Dim
// fields, read as s.F.At(n). The other parameters are the kernel's,
// named after what they hold: n (the batch), lo and hi (a parallel
// kernel's chunk of items), then the outputs, inputs and scratch buffers
// in the kernel's calling order. Next to each template are its shape
// constructor (from the node's shapes and attributes, which codegen's
// generator calls) and, where the op varies by more than a constant, the
// functions its hooks inline (the ops' formulas: Relu, Add, …).
//
// Where a target may have a faster kernel for part of the work (a kernel
// family of codegen/isa), the shape has a field of that family's type
// (ElementwiseKernel, LinearKernel, …) and the template calls its Run
// method; codegen rewrites the call into the tier switch over every
// target's kernels, with the template's own Go as the default. In the
// tests here, Run calls a stand-in written from the family's contract,
// or nothing.
//
// Everything a template calls must be in this package or in fmt, math,
// unsafe or modelc's runtime/numerics and runtime/quant: the generated
// package imports only those.
package kernels

import "embed"

// Source is this package's Go source, which codegen parses for the
// templates.
//
//go:embed *.go
var Source embed.FS
