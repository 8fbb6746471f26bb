package arm64

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
)

// Row kernels (layernorm here, softmax.go, elementwise.go): operations on
// each row of a matrix, whose length is known when the package is
// generated, called by the shared drivers.

// layerNormMax is the longest row the layernorm kernel takes: it
// addresses the row with FMOVQ's immediate offsets (at most 65520).
const layerNormMax = 65520 / 4

// layerNorm emits the microkernel for rows of s.I floats (a multiple of
// 4, at most layerNormMax): for each row, mean and variance in two passes
// (float32, four vector accumulators each, reduced across lanes by
// pairwise adds), then (x − mean)·(1/√(var + eps)), times γ unless
// s.Plain, plus β when s.Beta. Its Go declaration is func name(a *lnArgs)
// (driver.LNArgs).
func layerNorm(name string, s isa.LayerNormSpec) *Func {
	i, beta := s.I, s.Beta && !s.Plain
	if i%4 != 0 || i <= 0 || i > layerNormMax {
		panic(fmt.Sprintf("BUG: arm64: layernorm of %d floats", i))
	}
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *lnArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *lnArgs)", name),
		fmt.Sprintf("LayerNorm over rows of %d floats (plain: %v, beta: %v).", i, s.Plain, beta),
	}}
	nv := i / 4
	args := R(0)
	src, dst, gamma, bta, rows := R(1), R(2), R(3), R(4), R(5)
	fn.MOVD(Arg{Name: "a", Off: 0}, args)
	fn.MOVD(At(args, 0), src)
	fn.MOVD(At(args, 8), dst)
	fn.MOVD(At(args, 16), gamma)
	fn.MOVD(At(args, 24), bta)
	fn.MOVD(At(args, 32), rows)
	eps, invI, one := V(13), V(14), V(15)
	for k, v := range []VReg{eps, invI, one} {
		fn.FMOVS(At(args, 40+4*k), v.F())
		fn.VDUP(v.S(0), v.S4())
	}
	fn.CBZ(rows, Label("done"))
	acc := func(k int) VReg { return V(k) }
	mean, x, rstd, t := V(4), V(5), V(6), V(7)
	zeroAcc := func() {
		for k := range 4 {
			fn.VEOR(acc(k).B16(), acc(k).B16(), acc(k).B16())
		}
	}
	// reduce sums acc 0–3 into every lane of acc 0.
	reduce := func() {
		fn.Encode(FADD, acc(1).S4(), acc(0).S4(), acc(0).S4())
		fn.Encode(FADD, acc(3).S4(), acc(2).S4(), acc(2).S4())
		fn.Encode(FADD, acc(2).S4(), acc(0).S4(), acc(0).S4())
		fn.Encode(FADDP, acc(0).S4(), acc(0).S4(), acc(0).S4())
		fn.Encode(FADDP, acc(0).S4(), acc(0).S4(), acc(0).S4())
	}
	fn.Align(32)
	fn.Label("row")
	fn.Comment("mean")
	zeroAcc()
	for v := range nv {
		fn.FMOVQ(At(src, 16*v), x.F())
		fn.Encode(FADD, x.S4(), acc(v%4).S4(), acc(v%4).S4())
	}
	reduce()
	fn.Encode(FMUL, invI.S4(), acc(0).S4(), mean.S4())
	fn.Comment("variance, around the mean")
	zeroAcc()
	for v := range nv {
		fn.FMOVQ(At(src, 16*v), x.F())
		fn.Encode(FSUB, mean.S4(), x.S4(), x.S4())
		fn.VFMLA(x.S4(), x.S4(), acc(v%4).S4())
	}
	reduce()
	fn.VMOV(eps.B16(), t.B16()) // var + eps = Σ·(1/I) + eps
	fn.VFMLA(invI.S4(), acc(0).S4(), t.S4())
	fn.Encode(FSQRT, t.S4(), t.S4())
	fn.Encode(FDIV, t.S4(), one.S4(), rstd.S4())
	fn.Comment("(x − mean)·rstd (·γ) (+ β)")
	for v := range nv {
		fn.FMOVQ(At(src, 16*v), x.F())
		fn.Encode(FSUB, mean.S4(), x.S4(), x.S4())
		fn.Encode(FMUL, rstd.S4(), x.S4(), x.S4())
		if !s.Plain {
			fn.FMOVQ(At(gamma, 16*v), t.F())
			fn.Encode(FMUL, t.S4(), x.S4(), x.S4())
		}
		if beta {
			fn.FMOVQ(At(bta, 16*v), t.F())
			fn.Encode(FADD, t.S4(), x.S4(), x.S4())
		}
		fn.FMOVQ(x.F(), At(dst, 16*v))
	}
	fn.ADD(Imm(4*i), src)
	fn.ADD(Imm(4*i), dst)
	fn.SUBS(Imm(1), rows)
	fn.BNE(Label("row"))
	fn.Label("done")
	fn.RET()
	return fn
}
