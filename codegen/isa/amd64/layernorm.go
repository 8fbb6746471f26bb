package amd64

// Row kernels (layernorm here, softmax.go, elementwise.go): operations
// applied to each row of a matrix independently, whose row length is
// known when the package is generated. Like the GEMM microkernels they
// are assembly only for the row loop; the generic kernel that calls them
// splits rows across threads and keeps the pure-Go path for other CPUs.

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
)

// layerNormTile reports whether a row of i floats suits the kernels of a
// tier with lanes floats per vector: whole vectors only.
func layerNormTile(i, lanes int) bool { return i%lanes == 0 && i > 0 }

// layerNorm emits the kernel for rows of s.I floats with lanes 16
// (AVX-512) or 8 (AVX2): for each row, mean and variance in two passes
// (float32, four vector accumulators each, reduced across lanes), then
// (x − mean)·(1/√(var + eps)), times γ unless s.Plain, plus β when
// s.Beta. Its Go declaration is func name(a *lnArgs).
func layerNorm(name string, s isa.LayerNormSpec, lanes int) *Func {
	i, beta := s.I, s.Beta && !s.Plain
	if !layerNormTile(i, lanes) {
		panic(fmt.Sprintf("BUG: amd64: layernorm of %d floats with %d-float vectors", i, lanes))
	}
	vec, zero := vectorRegs(lanes)
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *lnArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *lnArgs)", name),
		fmt.Sprintf("LayerNorm over rows of %d floats, %d-float vectors (%s).", i, lanes, lnVariant(s)),
	}}
	nv, vb := i/lanes, lanes*4
	args := R13
	fn.MOVQ(Arg{Name: "a", Off: 0}, args)
	fn.MOVQ(At(args, 0), SI)
	fn.MOVQ(At(args, 8), DI)
	fn.MOVQ(At(args, 16), R8)
	fn.MOVQ(At(args, 24), R9)
	fn.MOVQ(At(args, 32), CX)
	eps, invI, one := vec(13), vec(14), vec(15)
	fn.VBROADCASTSS(At(args, 40), eps)
	fn.VBROADCASTSS(At(args, 44), invI)
	fn.VBROADCASTSS(At(args, 48), one)
	fn.TESTQ(CX, CX)
	fn.JZ(Label("done"))
	acc := func(k int) Vec { return vec(k) }
	mean, x, rstd := vec(4), vec(5), vec(6)
	// reduce sums acc 0–3 into every lane of acc 0.
	reduce := func() {
		fn.VADDPS(acc(1), acc(0), acc(0))
		fn.VADDPS(acc(3), acc(2), acc(2))
		fn.VADDPS(acc(2), acc(0), acc(0))
		if lanes == 16 {
			fn.VEXTRACTF64X4(Imm(1), Z(0), Y(1))
			fn.VADDPS(Y(1), Y(0), Y(0))
		}
		fn.VEXTRACTF128(Imm(1), Y(0), X(1))
		fn.VADDPS(X(1), X(0), X(0))
		fn.VPERMILPS(Imm(0x4e), X(0), X(1))
		fn.VADDPS(X(1), X(0), X(0))
		fn.VPERMILPS(Imm(0xb1), X(0), X(1))
		fn.VADDPS(X(1), X(0), X(0))
		fn.VBROADCASTSS(X(0), acc(0))
	}
	zeroAcc := func() {
		for k := range 4 {
			zero(fn, acc(k), acc(k), acc(k))
		}
	}
	fn.Align(64)
	fn.Label("row")
	fn.Comment("mean")
	zeroAcc()
	for v := range nv {
		fn.VADDPS(At(SI, v*vb), acc(v%4), acc(v%4))
	}
	reduce()
	fn.VMULPS(invI, acc(0), mean)
	fn.Comment("variance, around the mean")
	zeroAcc()
	for v := range nv {
		fn.VMOVUPS(At(SI, v*vb), x)
		fn.VSUBPS(mean, x, x)
		fn.VFMADD231PS(x, x, acc(v%4))
	}
	reduce()
	fn.VFMADD213PS(eps, invI, acc(0)) // var + eps = Σ·(1/I) + eps
	fn.VSQRTPS(acc(0), acc(0))
	fn.VDIVPS(acc(0), one, rstd)
	if s.Plain {
		fn.Comment("(x − mean)·rstd")
	} else {
		fn.Comment("(x − mean)·rstd·γ (+ β)")
	}
	for v := range nv {
		fn.VMOVUPS(At(SI, v*vb), x)
		fn.VSUBPS(mean, x, x)
		fn.VMULPS(rstd, x, x)
		if !s.Plain {
			fn.VMULPS(At(R8, v*vb), x, x)
		}
		if beta {
			fn.VADDPS(At(R9, v*vb), x, x)
		}
		fn.VMOVUPS(x, At(DI, v*vb))
	}
	nextRow(fn, i*4)
	return fn
}

// nextRow ends a row kernel's loop: SI and DI (source and destination
// rows) advance by rowBytes, CX counts the rows left, and the label done
// (taken for zero rows) returns.
func nextRow(fn *Func, rowBytes int) {
	fn.ADDQ(Imm(rowBytes), SI)
	fn.ADDQ(Imm(rowBytes), DI)
	fn.DECQ(CX)
	fn.JNZ(Label("row"))
	fn.Label("done")
	fn.VZEROUPPER()
	fn.RET()
}

// lnVariant says which affine part a layernorm kernel applies.
func lnVariant(s isa.LayerNormSpec) string {
	if s.Plain {
		return "plain: no scale or shift"
	}
	return fmt.Sprintf("beta: %v", s.Beta)
}
