package arm64

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
	"github.com/modelc/modelc/runtime/numerics"
)

// Depthwise convolution on NHWC rows (isa.Depthwise), four channels a
// vector, as codegen/isa/amd64's depthwise.go lays it out: tiles of up
// to 8 pixels outer, channel vectors inner, each tap's weights loaded
// once per tile and multiply-added (FMLA) into the tile's accumulators,
// the inputs at offsets fixed when the kernel is generated from
// per-vector base registers. The epilogue's constants stay in registers
// (V17–V31) for the whole row; GELU's erf reads its own (gelu). The
// driver computes the last C mod 4 channels in Go.

// dwActs are the activations the depthwise kernels apply.
var dwActs = map[string]bool{"": true, "relu": true, "relu6": true, "hardsigmoid": true, "hardswish": true,
	"sigmoid": true, "silu": true, "gelu": true, "gelu_tanh": true}

// dwTile returns the pixels of a tile for rows of ow pixels: at most 8,
// the tiles as even as the row allows.
func dwTile(ow int) int {
	n := (ow + 7) / 8
	return (ow + n - 1) / n
}

// depthwiseKernel returns the isa.Depthwise kernel name (a
// driver.Depthwise on one microkernel), or false when it has none.
func depthwiseKernel(s isa.DepthwiseSpec, name string) (string, []*Func, bool) {
	cv := s.C / 4 * 4
	if cv == 0 || !dwActs[s.Epi.Act] || s.Valid() != nil {
		return "", nil, false
	}
	micro := name + "_k"
	return driver.Depthwise(s, name, micro, "neon", cv), []*Func{depthwise(micro, s)}, true
}

// dwConst is one epilogue constant: a row of ActVec (act) or ExpVec.
type dwConst struct {
	exp bool
	idx int
}

// dwConsts lists the constants act keeps in registers.
func dwConsts(act string) []dwConst {
	a := func(i int) dwConst { return dwConst{false, i} }
	e := func(i int) dwConst { return dwConst{true, i} }
	expc := []dwConst{a(numerics.ActVecOne), e(numerics.ExpVecLo), a(numerics.ActVecExpHi), e(numerics.ExpVecLog2e), e(numerics.ExpVecHalf), e(numerics.ExpVecC1), e(numerics.ExpVecC2)}
	for i := range 6 {
		expc = append(expc, e(numerics.ExpVecP0+i))
	}
	switch act {
	case "relu":
		return []dwConst{a(numerics.ActVecZero)}
	case "relu6":
		return []dwConst{a(numerics.ActVecZero), a(numerics.ActVecSix)}
	case "hardsigmoid", "hardswish":
		return []dwConst{a(numerics.ActVecZero), a(numerics.ActVecOne), a(numerics.ActVecSixth), a(numerics.ActVecHalf)}
	case "sigmoid", "silu":
		return expc
	case "gelu_tanh":
		return append(expc, a(numerics.ActVecGeluC), a(numerics.ActVecNegGeluK))
	}
	return nil
}

// depthwise emits the microkernel func name(a *dwArgs) for s.
func depthwise(name string, s isa.DepthwiseSpec) *Func {
	tw := dwTile(s.OW)
	nb := s.C / 4
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *dwArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *dwArgs)", name),
		fmt.Sprintf("Depthwise %d×%d row: %d pixels × %d channels, stride %d, dilation %d×%d, padded width %d%s; tiles of %d pixels.",
			s.KH, s.KW, s.OW, nb*4, s.SW, s.DH, s.DW, s.Wp, driver.EpiDoc(s.Epi), tw),
	}}
	args := R(0)
	xt, w, bias, yt, rt, act, exp, erf := R(1), R(2), R(3), R(4), R(5), R(6), R(7), R(8)
	ch, tiles, cnt := R(9), R(10), R(16)
	xb, wb, bb, yb, rb := R(11), R(12), R(13), R(14), R(15)
	fn.MOVD(Arg{Name: "a", Off: 0}, args)
	fn.MOVD(At(args, driver.DWOffX), xt)
	fn.MOVD(At(args, driver.DWOffW), w)
	fn.MOVD(At(args, driver.DWOffY), yt)
	if s.Bias {
		fn.MOVD(At(args, driver.DWOffBias), bias)
	}
	if s.Epi.Resid {
		fn.MOVD(At(args, driver.DWOffResid), rt)
	}
	fn.MOVD(At(args, driver.DWOffAct), act)
	fn.MOVD(At(args, driver.DWOffExp), exp)
	fn.MOVD(At(args, driver.DWOffErf), erf)
	consts := dwConsts(s.Epi.Act)
	reg := map[dwConst]VReg{}
	for i, c := range consts {
		v := V(31 - i)
		base := act
		if c.exp {
			base = exp
		}
		fn.FMOVQ(At(base, 64*c.idx), v.F())
		reg[c] = v
	}
	A := func(i int) VReg { return reg[dwConst{false, i}] }
	E := func(i int) VReg { return reg[dwConst{true, i}] }
	block := func(r int) {
		acc := func(i int) VReg { return V(i) }
		wv := V(8)
		xv := func(i int) VReg { return V(9 + i%2) }
		fn.ADD_3(ch, xt, xb)
		fn.ADD_3(ch, w, wb)
		fn.ADD_3(ch, yt, yb)
		if s.Bias {
			fn.ADD_3(ch, bias, bb)
			fn.FMOVQ(At(bb, 0), acc(0).F())
			for i := 1; i < r; i++ {
				fn.VMOV(acc(0).B16(), acc(i).B16())
			}
		} else {
			for i := range r {
				fn.VEOR(acc(i).B16(), acc(i).B16(), acc(i).B16())
			}
		}
		if s.Epi.Resid {
			fn.ADD_3(ch, rt, rb)
		}
		for kh := range s.KH {
			for kw := range s.KW {
				fn.FMOVQ(At(wb, (kh*s.KW+kw)*s.C*4), wv.F())
				for i := range r {
					fn.FMOVQ(At(xb, (kh*s.DH*s.Wp+i*s.SW+kw*s.DW)*s.C*4), xv(i).F())
					fn.VFMLA(xv(i).S4(), wv.S4(), acc(i).S4())
				}
			}
		}
		t0, t1, t2, t3 := V(8), V(9), V(10), V(11)
		for i := range r {
			a := acc(i)
			if s.Epi.Resid {
				fn.FMOVQ(At(rb, i*s.C*4), t0.F())
				fn.Encode(FADD, t0.S4(), a.S4(), a.S4())
			}
			dwAct(fn, s.Epi.Act, a, t0, t1, t2, t3, A, E, erf)
			fn.FMOVQ(a.F(), At(yb, i*s.C*4))
		}
	}
	channels := func(r int, label string) {
		fn.MOVD(Imm(0), ch)
		fn.MOVD(Imm(nb), cnt)
		fn.Align(32)
		fn.Label(Label(label))
		block(r)
		fn.ADD(Imm(16), ch)
		fn.SUBS(Imm(1), cnt)
		fn.BNE(Label(label))
	}
	full, tail := s.OW/tw, s.OW%tw
	if full > 0 {
		fn.MOVD(Imm(full), tiles)
		fn.Label("tile")
		channels(tw, "ch")
		fn.ADD(Imm(tw*s.SW*s.C*4), xt)
		fn.ADD(Imm(tw*s.C*4), yt)
		if s.Epi.Resid {
			fn.ADD(Imm(tw*s.C*4), rt)
		}
		fn.SUBS(Imm(1), tiles)
		fn.BNE(Label("tile"))
	}
	if tail > 0 {
		channels(tail, "tailch")
	}
	fn.RET()
	return fn
}

// dwAct applies activation act to a in place, with t0…t3 free, the
// constants of dwConsts(act) in registers (A for ActVec's, E for
// ExpVec's) and ErfVec at erf. FMAX and FMIN return NaN when either
// operand is, so NaN stays NaN.
func dwAct(fn *Func, act string, a, t0, t1, t2, t3 VReg, A, E func(int) VReg, erf GP) {
	// exp replaces x by e^x in p (numerics.Exp32's steps, x clamped to
	// [ExpLo, ActExpHi], so e^x overflows to +Inf above ExpHi as Exp32
	// does); n and t are clobbered.
	exp := func(x, n, p, t VReg) {
		fn.Encode(FMAX, E(numerics.ExpVecLo).S4(), x.S4(), x.S4())
		fn.Encode(FMIN, A(numerics.ActVecExpHi).S4(), x.S4(), x.S4())
		expSteps(fn, E, A(numerics.ActVecOne), x, n, p, t)
	}
	switch act {
	case "":
	case "relu":
		fn.Encode(FMAX, A(numerics.ActVecZero).S4(), a.S4(), a.S4())
	case "relu6":
		fn.Encode(FMAX, A(numerics.ActVecZero).S4(), a.S4(), a.S4())
		fn.Encode(FMIN, A(numerics.ActVecSix).S4(), a.S4(), a.S4())
	case "hardsigmoid", "hardswish":
		fn.Encode(FMUL, A(numerics.ActVecSixth).S4(), a.S4(), t0.S4())
		fn.Encode(FADD, A(numerics.ActVecHalf).S4(), t0.S4(), t0.S4())
		fn.Encode(FMAX, A(numerics.ActVecZero).S4(), t0.S4(), t0.S4())
		fn.Encode(FMIN, A(numerics.ActVecOne).S4(), t0.S4(), t0.S4())
		if act == "hardswish" {
			fn.Encode(FMUL, t0.S4(), a.S4(), a.S4())
		} else {
			fn.VMOV(t0.B16(), a.B16())
		}
	case "sigmoid", "silu", "gelu_tanh":
		if act == "gelu_tanh" {
			fn.Comment("gelu_tanh(x) = x/(1 + e^−u), u = 2·√(2/π)·(x + 0.044715·x³) (numerics.GeluTanh32)")
			fn.Encode(FMUL, a.S4(), a.S4(), t1.S4())
			fn.Encode(FMUL, A(numerics.ActVecGeluC).S4(), t1.S4(), t1.S4())
			fn.VMOV(a.B16(), t0.B16())
			fn.VFMLA(t1.S4(), a.S4(), t0.S4()) // t = x + x·t
			fn.Encode(FMUL, A(numerics.ActVecNegGeluK).S4(), t0.S4(), t0.S4())
		} else {
			fn.Encode(FNEG, a.S4(), t0.S4())
		}
		exp(t0, t1, t2, t3)
		fn.Encode(FADD, A(numerics.ActVecOne).S4(), t2.S4(), t2.S4()) // 1 + e^−u
		if act == "sigmoid" {
			fn.Encode(FDIV, t2.S4(), A(numerics.ActVecOne).S4(), a.S4())
		} else {
			fn.Encode(FDIV, t2.S4(), a.S4(), a.S4())
		}
	case "gelu":
		gelu(fn, a, erf)
	default:
		panic("BUG: arm64: no depthwise epilogue for activation " + act)
	}
}
