package arm64

import (
	"fmt"

	"github.com/modelc/modelc/runtime/numerics"
)

// softmax emits the microkernel for softmax over contiguous rows of l
// floats, driver.Softmax's contract without a tail mask:
//
//	func name(src, dst *float32, rows int, consts *float32, tail *int32)
//
// with consts numerics.ExpVec (tail unused). Three passes a row: the
// maximum (FMAX, which returns NaN when either is: a NaN element makes
// the row NaN, as in the pure-Go kernel and PyTorch), e = exp(x − m) to
// dst and Σe, then dst·(1/Σe). Whole vectors run four lanes at a time;
// the last l%4 elements one at a time, in lane 0 (scalar FMAXS and FADDS
// keep the other lanes out of the maximum and the sum). exp is
// numerics.Exp32's steps on vectors: x clamped to [ExpLo, ExpHi],
// n = ⌊x·log2e + ½⌋, r = x − n·C1 − n·C2, a degree-5 polynomial, and 2ⁿ
// built in the exponent field as 2ʰ·2ⁿ⁻ʰ, h = n>>1, so neither factor
// overflows.
func softmax(name string, l int) *Func {
	fn := &Func{Name: name, Args: 40,
		GoDecl: fmt.Sprintf("func %s(src, dst *float32, rows int, consts *float32, tail *int32)", name),
		Doc: []string{
			fmt.Sprintf("func %s(src, dst *float32, rows int, consts *float32, tail *int32)", name),
			fmt.Sprintf("Softmax over rows of %d floats.", l),
		}}
	nfull, tail := l/4, l%4
	src, dst, rows, consts := R(1), R(2), R(3), R(4)
	in, out, cnt := R(5), R(6), R(7)
	// vectors emits body once in a loop over the row's whole vectors.
	vectors := func(label string, body func()) {
		if nfull == 0 {
			return
		}
		fn.MOVD(Imm(nfull), cnt)
		fn.Label(Label(label))
		body()
		fn.SUBS(Imm(1), cnt)
		fn.BNE(Label(label))
	}
	fn.MOVD(Arg{Name: "src", Off: 0}, src)
	fn.MOVD(Arg{Name: "dst", Off: 8}, dst)
	fn.MOVD(Arg{Name: "rows", Off: 16}, rows)
	fn.MOVD(Arg{Name: "consts", Off: 24}, consts)
	fn.CBZ(rows, Label("done"))
	// The constants, four lanes each, in V16–V29.
	cst := func(i int) VReg { return V(16 + i) }
	for i := range numerics.ExpVecNegInf + 1 {
		fn.FMOVQ(At(consts, 64*i), cst(i).F())
	}
	x, n, p, t, acc, m, inv := V(0), V(1), V(2), V(3), V(4), V(5), V(6)
	// exp replaces x by numerics.Exp32 of it, in p.
	exp := func() {
		fn.Encode(FMAX, cst(numerics.ExpVecLo).S4(), x.S4(), x.S4())
		fn.Encode(FMIN, cst(numerics.ExpVecHi).S4(), x.S4(), x.S4())
		expSteps(fn, cst, cst(numerics.ExpVecOne), x, n, p, t)
	}
	fn.Align(32)
	fn.Label("row")
	fn.Comment("pass 1: m = max(x)")
	fn.MOVD(src, in)
	fn.VMOV(cst(numerics.ExpVecNegInf).B16(), acc.B16())
	vectors("max", func() {
		fn.VLD1_P(At(in, 16), x.S4s(1))
		fn.Encode(FMAX, x.S4(), acc.S4(), acc.S4())
	})
	fn.Encode(FMAXP, acc.S4(), acc.S4(), acc.S4())
	fn.Encode(FMAXP, acc.S4(), acc.S4(), acc.S4())
	for range tail {
		fn.FMOVS_P(At(in, 4), x.F())
		fn.FMAXS(x.F(), acc.F(), acc.F())
	}
	fn.VDUP(acc.S(0), m.S4())
	fn.Comment("pass 2: e = exp(x − m) to dst, Σe")
	fn.MOVD(src, in)
	fn.MOVD(dst, out)
	fn.VEOR(acc.B16(), acc.B16(), acc.B16())
	vectors("exp", func() {
		fn.VLD1_P(At(in, 16), x.S4s(1))
		fn.Encode(FSUB, m.S4(), x.S4(), x.S4())
		exp()
		fn.Encode(FADD, p.S4(), acc.S4(), acc.S4())
		fn.VST1_P(p.S4s(1), At(out, 16))
	})
	fn.Encode(FADDP, acc.S4(), acc.S4(), acc.S4())
	fn.Encode(FADDP, acc.S4(), acc.S4(), acc.S4())
	for range tail {
		fn.FMOVS_P(At(in, 4), x.F())
		fn.Encode(FSUB, m.S4(), x.S4(), x.S4())
		exp()
		fn.FADDS(p.F(), acc.F(), acc.F())
		fn.FMOVS_P(p.F(), At(out, 4))
	}
	fn.FMOVS(At(consts, 64*numerics.ExpVecOne), inv.F()) // 1/Σe
	fn.FDIVS(acc.F(), inv.F(), inv.F())
	fn.VDUP(inv.S(0), inv.S4())
	fn.Comment("pass 3: dst = e · (1/Σe)")
	fn.MOVD(dst, out)
	vectors("scale", func() {
		fn.FMOVQ(At(out, 0), x.F())
		fn.Encode(FMUL, inv.S4(), x.S4(), x.S4())
		fn.VST1_P(x.S4s(1), At(out, 16))
	})
	for range tail {
		fn.FMOVS(At(out, 0), x.F())
		fn.FMULS(inv.F(), x.F(), x.F())
		fn.FMOVS_P(x.F(), At(out, 4))
	}
	fn.ADD(Imm(4*l), src)
	fn.ADD(Imm(4*l), dst)
	fn.SUBS(Imm(1), rows)
	fn.BNE(Label("row"))
	fn.Label("done")
	fn.RET()
	return fn
}

// expSteps replaces x, already clamped to numerics.Exp32's range, by e^x
// in p, by Exp32's steps (n = ⌊½ + x·log2e⌋, r = x − n·C1 − n·C2, the
// degree-6 polynomial in r, scaled by 2ⁿ); n and t are clobbered and x
// left as r. e gives ExpVec constant i in a register, one holds 1.0. The
// softmax rows and the depthwise activations both run it.
func expSteps(fn *Func, e func(int) VReg, one, x, n, p, t VReg) {
	fn.VMOV(e(numerics.ExpVecHalf).B16(), n.B16()) // n = ½ + x·log2e
	fn.VFMLA(e(numerics.ExpVecLog2e).S4(), x.S4(), n.S4())
	fn.Encode(FRINTM, n.S4(), n.S4())
	fn.VFMLS(e(numerics.ExpVecC1).S4(), n.S4(), x.S4()) // r = x − n·C1 − n·C2
	fn.VFMLS(e(numerics.ExpVecC2).S4(), n.S4(), x.S4())
	fn.VMOV(e(numerics.ExpVecP0).B16(), p.B16())
	for i := 1; i <= 5; i++ {
		fn.VMOV(e(numerics.ExpVecP0+i).B16(), t.B16()) // p = Pi + p·r
		fn.VFMLA(x.S4(), p.S4(), t.S4())
		fn.VMOV(t.B16(), p.B16())
	}
	fn.Encode(FMUL, x.S4(), p.S4(), p.S4())
	fn.VMOV(x.B16(), t.B16()) // p·r·r + r
	fn.VFMLA(x.S4(), p.S4(), t.S4())
	fn.Encode(FADD, one.S4(), t.S4(), p.S4())
	// 2ⁿ as 2ʰ·2ⁿ⁻ʰ, each built by adding the bits of 1.0 to the
	// shifted exponent.
	fn.Encode(FCVTZS, n.S4(), n.S4())
	fn.Encode(SSHR, Imm(1), n.S4(), x.S4())
	fn.VSUB(x.S4(), n.S4(), n.S4())
	fn.Encode(SHL, Imm(23), x.S4(), x.S4())
	fn.VADD(one.S4(), x.S4(), x.S4())
	fn.Encode(SHL, Imm(23), n.S4(), n.S4())
	fn.VADD(one.S4(), n.S4(), n.S4())
	fn.Encode(FMUL, x.S4(), p.S4(), p.S4())
	fn.Encode(FMUL, n.S4(), p.S4(), p.S4())
}
