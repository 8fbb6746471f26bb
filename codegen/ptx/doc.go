// Package ptx generates the CUDA back end's kernels as PTX text, one
// generator per kernel family, parameterised like the CPU generators:
//
//	Gemm       tiled SGEMM through shared memory (FFMA f32): linear layers,
//	           and convolutions as implicit GEMMs over NHWC images; fused
//	           epilogues (bias, residual, ReLU/GELU); tiles, thread tiles and
//	           pipeline stages are a Tile (DefaultTiles, ChooseTile)
//	Row        softmax, log-softmax and layernorm, one warp a row, warp
//	           reductions by shuffles
//	Attention  one warp a query row and head: scores, softmax, weighted values
//	Elementwise  element-wise ops over strided operands with broadcasting,
//	           which also move data (transpose, relayout, slice, pad, concat,
//	           split, expand)
//	Reduce     global average pooling, reduce_sum/mean
//	Gather     embedding and Gather (an index out of range sets a status word)
//
// Every module declares PTX ISA 7.8 (.version 7.8, what Debian's ptxas,
// CUDA 11.8, assembles) and is emitted for sm_80 and sm_90 (Targets). A
// generator returns the kernel and its Launch: block size, the grid as a
// function of the batch, and what each parameter receives. Counts that
// grow with the batch are kernel parameters; everything else (shapes,
// strides, epilogues) is fixed in the code, and kernel names encode it.
//
// How it is checked without a GPU: ptxas assembles every kernel for both
// targets (ptx.Assemble, ptxas -v: registers, spills, shared memory; a
// variant that spills is rejected), and ptxvm, an interpreter for the
// emitted subset written from the PTX ISA manual, runs every family on
// small shapes against float64 references (this package) and whole
// models against ir.Eval (codegen's cuda tests).
package ptx
