// Package rows generates the x86 row kernels: operations applied to each
// row of a matrix independently, whose row length is known when the
// package is generated (layernorm and softmax). Like the GEMM
// microkernels they are assembly only for the row loop; the Go kernel
// that calls them splits rows across threads and keeps the pure-Go path
// for other CPUs.
package rows

import (
	"fmt"

	"github.com/modelc/modelc/codegen/asm"
)

// LNArgsDecl declares the parameter block of the layernorm kernels; the
// assembly reads it at fixed offsets.
const LNArgsDecl = `// lnArgs is the parameter block of the layernorm row kernels (offsets
// fixed in the assembly: src 0, dst 8, gamma 16, beta 24, rows 32, eps 40,
// 1/I 44, one 48).
type lnArgs struct {
	src, dst, gamma, beta unsafe.Pointer
	rows                  int
	eps, invI, one        float32
}
`

// LayerNormTile reports whether a row of i floats suits the kernels of a
// tier with lanes floats per vector: whole vectors only.
func LayerNormTile(i, lanes int) bool { return i%lanes == 0 && i > 0 }

// LayerNorm emits the kernel for rows of i floats with lanes 16 (AVX-512)
// or 8 (AVX2): for each row, mean and variance in two passes (float32,
// four vector accumulators each, reduced across lanes), then (x −
// mean)·(1/√(var + eps))·γ (+ β when beta). Its Go declaration is
// func name(a *lnArgs).
func LayerNorm(name string, i, lanes int, beta bool) *asm.Func {
	if !LayerNormTile(i, lanes) {
		panic(fmt.Sprintf("rows: layernorm of %d floats with %d-float vectors", i, lanes))
	}
	vec, zero := asm.Z, "VPXORD"
	if lanes == 8 {
		vec, zero = asm.Y, "VXORPS"
	}
	fn := &asm.Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *lnArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *lnArgs)", name),
		fmt.Sprintf("LayerNorm over rows of %d floats, %d-float vectors (beta: %v).", i, lanes, beta),
	}}
	nv, vb := i/lanes, lanes*4
	args := asm.R13
	fn.I("MOVQ", asm.Arg{Name: "a", Off: 0}, args)
	fn.I("MOVQ", asm.At(args, 0), asm.SI)
	fn.I("MOVQ", asm.At(args, 8), asm.DI)
	fn.I("MOVQ", asm.At(args, 16), asm.R8)
	fn.I("MOVQ", asm.At(args, 24), asm.R9)
	fn.I("MOVQ", asm.At(args, 32), asm.CX)
	eps, invI, one := vec(13), vec(14), vec(15)
	fn.I("VBROADCASTSS", asm.At(args, 40), eps)
	fn.I("VBROADCASTSS", asm.At(args, 44), invI)
	fn.I("VBROADCASTSS", asm.At(args, 48), one)
	fn.I("TESTQ", asm.CX, asm.CX)
	fn.I("JZ", asm.Label("done"))
	acc := func(k int) asm.Reg { return vec(k) }
	mean, x, rstd := vec(4), vec(5), vec(6)
	// reduce sums acc 0–3 into every lane of acc 0.
	reduce := func() {
		fn.I("VADDPS", acc(1), acc(0), acc(0))
		fn.I("VADDPS", acc(3), acc(2), acc(2))
		fn.I("VADDPS", acc(2), acc(0), acc(0))
		if lanes == 16 {
			fn.I("VEXTRACTF64X4", asm.Imm(1), asm.Z(0), asm.Y(1))
			fn.I("VADDPS", asm.Y(1), asm.Y(0), asm.Y(0))
		}
		fn.I("VEXTRACTF128", asm.Imm(1), asm.Y(0), asm.X(1))
		fn.I("VADDPS", asm.X(1), asm.X(0), asm.X(0))
		fn.I("VPERMILPS", asm.Imm(0x4e), asm.X(0), asm.X(1))
		fn.I("VADDPS", asm.X(1), asm.X(0), asm.X(0))
		fn.I("VPERMILPS", asm.Imm(0xb1), asm.X(0), asm.X(1))
		fn.I("VADDPS", asm.X(1), asm.X(0), asm.X(0))
		fn.I("VBROADCASTSS", asm.X(0), acc(0))
	}
	zeroAcc := func() {
		for k := range 4 {
			fn.I(zero, acc(k), acc(k), acc(k))
		}
	}
	fn.Align(64)
	fn.Label("row")
	fn.Comment("mean")
	zeroAcc()
	for v := range nv {
		fn.I("VADDPS", asm.At(asm.SI, v*vb), acc(v%4), acc(v%4))
	}
	reduce()
	fn.I("VMULPS", invI, acc(0), mean)
	fn.Comment("variance, around the mean")
	zeroAcc()
	for v := range nv {
		fn.I("VMOVUPS", asm.At(asm.SI, v*vb), x)
		fn.I("VSUBPS", mean, x, x)
		fn.I("VFMADD231PS", x, x, acc(v%4))
	}
	reduce()
	fn.I("VFMADD213PS", eps, invI, acc(0)) // var + eps = Σ·(1/I) + eps
	fn.I("VSQRTPS", acc(0), acc(0))
	fn.I("VDIVPS", acc(0), one, rstd)
	fn.Comment("(x − mean)·rstd·γ (+ β)")
	for v := range nv {
		fn.I("VMOVUPS", asm.At(asm.SI, v*vb), x)
		fn.I("VSUBPS", mean, x, x)
		fn.I("VMULPS", rstd, x, x)
		fn.I("VMULPS", asm.At(asm.R8, v*vb), x, x)
		if beta {
			fn.I("VADDPS", asm.At(asm.R9, v*vb), x, x)
		}
		fn.I("VMOVUPS", x, asm.At(asm.DI, v*vb))
	}
	nextRow(fn, i*4)
	return fn
}

// nextRow ends a row kernel's loop: SI and DI (source and destination
// rows) advance by rowBytes, CX counts the rows left, and the label done
// (taken for zero rows) returns.
func nextRow(fn *asm.Func, rowBytes int) {
	fn.I("ADDQ", asm.Imm(rowBytes), asm.SI)
	fn.I("ADDQ", asm.Imm(rowBytes), asm.DI)
	fn.I("DECQ", asm.CX)
	fn.I("JNZ", asm.Label("row"))
	fn.Label("done")
	fn.I("VZEROUPPER")
	fn.I("RET")
}
