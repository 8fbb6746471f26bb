// Package gemm generates pure-Go single-precision kernels for a linear
// layer, y[m, :] = x[m, :]·Wᵀ + bias, specialised to the weight's shape
// [N, K]; m, the batch rows, is known only at run time.
//
// Emit writes one function, func f(m, lo, hi int, y, x, wp, bias
// []float32), and the tile functions it calls. It computes the column
// blocks [lo, hi) of y, NR columns each, so a caller splits the
// Params.Blocks() blocks across threads. The code has N and K as
// constants, imports nothing, allocates nothing, is gofmt'd and vet-clean,
// and keeps no bounds check in its inner loop (TestVetAndBoundsChecks
// builds it with -d=ssa/check_bce and counts them). It accumulates in
// float32.
//
// Packing. Pack, run at build time, turns W [N, K] (PyTorch's row-major
// layout) into ⌈N/NR⌉ panels, one per block of NR columns of y. Panel jb
// holds −W[jb·NR+j, k] at (jb·K + k)·NR + j, and the columns past N are
// zero. The inner loop therefore reads one contiguous run of NR floats per
// step of k. Each update is c -= x·(−w), which gives the same sum as
// c += x·w. SUBSS is not commutative, so the Go compiler leaves its result
// in the accumulator's register. With ADDSS it may swap the operands and
// pay a register move per accumulator per iteration.
//
// Loop nest, outermost first: column blocks (the threads' split); K chunks
// of KC, so that a panel chunk stays in L1 while every row of x passes it;
// row tiles of MR; k, KU steps per iteration. The k loop tests at its
// bottom, so that it is one basic block. Otherwise the compiler's
// scheduler sinks every update below every multiply and spills the
// products. Its index is reduced modulo the trip count, which proves the
// indices in range without a branch.
//
// Tiles. Go on amd64 emits scalar SSE: no FMA, no vectors, two-operand
// instructions. A multiply-add therefore costs three instructions whatever
// the tile: a load or a register copy (the product needs a register of its
// own), MULSS and SUBSS. Two multiplies and two subtractions issue per
// cycle, which is 4 FLOP/cycle, or 14.6 GFLOP/s per core on the 3.66 GHz
// Zen 4 measured. Three instructions for each of two pairs per cycle also
// fill the six-wide dispatch, so what decides is instruction count, not
// data reuse. A tile of one row by 8–12 columns loads each panel element
// straight into the product's register and needs no copies. Its
// accumulators, one element of x and the product take at most 14 of the
// 15 usable registers (X0–X14). Taller tiles (2×4, 3×3, 4×2, 8×1) trade
// loads for copies and are no faster. Tiles of 12 accumulators or more
// with several rows (4×3, 3×4) spill. On amd64 the same tile wins for
// GEMV (m = 1) and for GEMM, reaching about 12.3 GFLOP/s in both cases
// (84% of peak; bench_test.go). Default picks NR from 8–12, weighing
// speed against padding in the last block. It sets KC = 256 when K > 256,
// so that a chunk of a 12-column panel (12 KiB) fits in L1 and the trip
// count is a power of two. The exception is a power-of-two K whose whole
// panel already fits.
// Elsewhere (arm64 fuses multiply-adds and has 32 float registers) taller
// tiles may pay off, which is for the autotuner to measure.
package gemm
