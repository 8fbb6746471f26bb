package amd64

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
	"github.com/modelc/modelc/runtime/numerics"
)

// Depthwise convolution on NHWC rows (isa.Depthwise), vectorised across
// channels: a vector holds lanes consecutive channels of one pixel, so
// every tap is one multiply-add of an input vector by the tap's weight
// vector, with no shuffles and no horizontal sums. A tile is r pixels
// of one channel vector: r accumulators start at the bias, and each of
// the KH·KW taps loads its weights once and multiply-adds them into the
// r pixels, each reading its input as the instruction's memory operand
// (VFMADD231PS m, w, acc). Strides, dilation and the padded width are
// displacements fixed when the kernel is generated; the channel offset
// is an index register (CX), so one body serves every channel vector.
//
// The loops: pixel tiles outer (the tile's window, KH·(r·SW + KW·DW)·C
// floats, stays in L1 while every channel passes it), channel vectors
// inner. AVX-512 finishes a channel count that is 8 past a multiple of
// 16 with one 8-float vector (EVEX-encoded, registers 16–31 included);
// the driver computes the last C mod 8 channels in Go.
//
// The epilogue (bias, residual, activation, isa.Acts) runs on the tile's
// accumulators before the store; the activations are numerics' float32
// twins evaluated on vectors (the exponential is numerics.Exp32's steps,
// as the softmax kernels take them), with every clamp taking the value
// as its second source, so NaN stays NaN.

// dwActs are the activations the depthwise kernels apply.
var dwActs = map[string]bool{"": true, "relu": true, "relu6": true, "hardsigmoid": true, "hardswish": true,
	"sigmoid": true, "silu": true, "gelu": true, "gelu_tanh": true}

// dwTile returns the pixels of a tile for rows of ow pixels on a tier of
// lanes floats: at most 8 (AVX2: 16 registers hold 8 accumulators, the
// epilogue's 4 temporaries and 2 constants) or 14 (AVX-512), with the
// tiles as even as the row allows.
func dwTile(lanes, ow int) int {
	rmax := 8
	if lanes == 16 {
		rmax = 14
	}
	n := (ow + rmax - 1) / rmax
	return (ow + n - 1) / n
}

// dwVectors returns the channels a tier's kernel does in vectors: whole
// vectors of lanes floats, and on AVX-512 one 8-float vector more when
// at least 8 are left.
func dwVectors(lanes, c int) int {
	cv := c / lanes * lanes
	if lanes == 16 && c-cv >= 8 {
		cv += 8
	}
	return cv
}

// depthwiseKernel returns the isa.Depthwise kernel name for tier (a
// driver.Depthwise on one microkernel), or false when the tier has no
// whole vector of channels.
func depthwiseKernel(s isa.DepthwiseSpec, name, tier string) (string, []*Func, bool) {
	lanes := 8
	if tier == tierAVX512.Name {
		lanes = 16
	}
	cv := dwVectors(lanes, s.C)
	if cv == 0 || !dwActs[s.Epi.Act] || s.Valid() != nil {
		return "", nil, false
	}
	micro := name + "_k"
	return driver.Depthwise(s, name, micro, tier, cv), []*Func{depthwise(micro, s, lanes)}, true
}

// depthwise emits the microkernel func name(a *dwArgs) for s on vectors
// of lanes floats (see the file comment).
func depthwise(name string, s isa.DepthwiseSpec, lanes int) *Func {
	avx512 := lanes == 16
	regs := 16
	if avx512 {
		regs = 32
	}
	R := dwTile(lanes, s.OW)
	nb, half := s.C/lanes, avx512 && s.C%16 >= 8
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *dwArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *dwArgs)", name),
		fmt.Sprintf("Depthwise %d×%d row: %d pixels × %d channels, stride %d, dilation %d×%d, padded width %d%s; tiles of %d pixels.",
			s.KH, s.KW, s.OW, dwVectors(lanes, s.C), s.SW, s.DH, s.DW, s.Wp, driver.EpiDoc(s.Epi), R),
	}}
	args := R13
	fn.MOVQ(Arg{Name: "a", Off: 0}, args)
	fn.MOVQ(At(args, driver.DWOffX), SI)
	fn.MOVQ(At(args, driver.DWOffW), DI)
	fn.MOVQ(At(args, driver.DWOffY), DX)
	if s.Bias {
		fn.MOVQ(At(args, driver.DWOffBias), BX)
	}
	if s.Epi.Resid {
		fn.MOVQ(At(args, driver.DWOffResid), R9)
	}
	A := func(i int) Mem { return At(AX, 64*i) }
	E := func(i int) Mem { return At(R10, 64*i) }
	fn.MOVQ(At(args, driver.DWOffAct), AX)
	fn.MOVQ(At(args, driver.DWOffExp), R10)
	fn.MOVQ(At(args, driver.DWOffErf), R11)
	// The clamps' bounds, which must be registers (VMAXPS and VMINPS take
	// the value as their second source, so NaN stays), in the top two.
	var clamps [2]Mem
	switch s.Epi.Act {
	case "relu":
		clamps[0] = A(numerics.ActVecZero)
	case "relu6":
		clamps = [2]Mem{A(numerics.ActVecZero), A(numerics.ActVecSix)}
	case "hardsigmoid", "hardswish":
		clamps = [2]Mem{A(numerics.ActVecZero), A(numerics.ActVecOne)}
	case "sigmoid", "silu", "gelu_tanh":
		clamps = [2]Mem{E(numerics.ExpVecLo), A(numerics.ActVecExpHi)}
	}
	full := Y
	if avx512 {
		full = Z
	}
	for i, m := range clamps {
		if m.Base != "" {
			fn.VMOVUPS(m, full(regs-1-i))
		}
	}
	block := func(r int, vlanes int) {
		vec := Y
		if vlanes == 16 {
			vec = Z
		}
		zero := func(v Vec) {
			if avx512 {
				fn.VPXORD(v, v, v)
			} else {
				fn.VXORPS(v, v, v)
			}
		}
		c0, c1 := vec(regs-1), vec(regs-2)
		acc := func(i int) Vec { return vec(i) }
		w := vec(r)
		x := func(kh, i, kw int) Mem {
			return At(SI, (kh*s.DH*s.Wp+i*s.SW+kw*s.DW)*s.C*4).Idx(CX, 1)
		}
		for i := range r {
			if s.Bias {
				fn.VMOVUPS(At(BX, 0).Idx(CX, 1), acc(i))
			} else {
				zero(acc(i))
			}
		}
		for kh := range s.KH {
			for kw := range s.KW {
				fn.VMOVUPS(At(DI, (kh*s.KW+kw)*s.C*4).Idx(CX, 1), w)
				for i := range r {
					fn.VFMADD231PS(x(kh, i, kw), w, acc(i))
				}
			}
		}
		for i := range r {
			a := acc(i)
			if s.Epi.Resid {
				fn.VADDPS(At(R9, i*s.C*4).Idx(CX, 1), a, a)
			}
			dwAct(fn, s.Epi.Act, a, vec(r), vec(r+1), vec(r+2), vec(r+3), c0, c1, avx512)
			fn.VMOVUPS(a, At(DX, i*s.C*4).Idx(CX, 1))
		}
	}
	channels := func(r int, label string) {
		fn.MOVQ(Imm(0), CX)
		if nb > 0 {
			fn.Align(64)
			fn.Label(Label(label))
			block(r, lanes)
			fn.ADDQ(Imm(lanes*4), CX)
			fn.CMPQ(CX, Imm(nb*lanes*4))
			fn.JLT(Label(label))
		}
		if half {
			block(r, 8)
		}
	}
	tiles, tail := s.OW/R, s.OW%R
	if tiles > 0 {
		fn.MOVQ(Imm(tiles), R8)
		fn.Label("tile")
		channels(R, "ch")
		fn.ADDQ(Imm(R*s.SW*s.C*4), SI)
		fn.ADDQ(Imm(R*s.C*4), DX)
		if s.Epi.Resid {
			fn.ADDQ(Imm(R*s.C*4), R9)
		}
		fn.DECQ(R8)
		fn.JNZ(Label("tile"))
	}
	if tail > 0 {
		channels(tail, "tailch")
	}
	fn.VZEROUPPER()
	fn.RET()
	return fn
}

// dwAct applies activation act to a in place, with t0…t3 free and c0,
// c1 holding the bounds of its clamps (depthwise's clamps), ActVec at
// AX, ExpVec at R10 and ErfVec at R11.
func dwAct(fn *Func, act string, a, t0, t1, t2, t3, c0, c1 Vec, avx512 bool) {
	A := func(i int) Mem { return At(AX, 64*i) }
	E := func(i int) VM { return At(R10, 64*i) }
	// exp replaces x by e^x in p (numerics.Exp32's steps; x clamped to
	// [ExpLo, ActExpHi] by c0 and c1, so e^x overflows to +Inf above
	// ExpHi as Exp32 does); n is clobbered.
	exp := func(x, n, p Vec) {
		fn.VMAXPS(x, c0, x) // x second: NaN stays
		fn.VMINPS(x, c1, x)
		expSteps(fn, E, x, n, p, avx512)
	}
	switch act {
	case "":
	case "relu":
		fn.VMAXPS(a, c0, a)
	case "relu6":
		fn.VMAXPS(a, c0, a)
		fn.VMINPS(a, c1, a)
	case "hardsigmoid":
		fn.VMULPS(A(numerics.ActVecSixth), a, a)
		fn.VADDPS(A(numerics.ActVecHalf), a, a)
		fn.VMAXPS(a, c0, a)
		fn.VMINPS(a, c1, a)
	case "hardswish":
		fn.VMULPS(A(numerics.ActVecSixth), a, t0)
		fn.VADDPS(A(numerics.ActVecHalf), t0, t0)
		fn.VMAXPS(t0, c0, t0)
		fn.VMINPS(t0, c1, t0)
		fn.VMULPS(t0, a, a)
	case "sigmoid", "silu", "gelu_tanh":
		if act == "gelu_tanh" {
			fn.Comment("gelu_tanh(x) = x/(1 + e^−u), u = 2·√(2/π)·(x + 0.044715·x³) (numerics.GeluTanh32)")
			fn.VMULPS(a, a, t0)
			fn.VMULPS(A(numerics.ActVecGeluC), t0, t0)
			fn.VFMADD213PS(a, a, t0) // t = x·t + x
			fn.VMULPS(A(numerics.ActVecNegGeluK), t0, t0)
		} else {
			fn.VMULPS(A(numerics.ActVecNegOne), a, t0)
		}
		exp(t0, t1, t2)
		fn.VADDPS(A(numerics.ActVecOne), t2, t2) // 1 + e^−u
		if act == "sigmoid" {
			fn.VMOVUPS(A(numerics.ActVecOne), t0)
			fn.VDIVPS(t2, t0, a)
		} else {
			fn.VDIVPS(t2, a, a)
		}
	case "gelu":
		k := func(idx int) Mem { return At(R11, idx*64) }
		h, u, x2, pq := t0, t1, t2, t3
		fn.Comment("gelu(x) = h + h·erf(x/√2), h = x/2 (numerics.Gelu32)")
		fn.VMULPS(k(numerics.VecHalf), a, h)
		fn.VMULPS(k(numerics.VecInvSqrt2), a, u)
		fn.VMINPS(k(numerics.VecClampHi), u, u)
		fn.VMAXPS(k(numerics.VecClampLo), u, u)
		fn.VMULPS(u, u, x2)
		fn.VMOVUPS(k(numerics.VecA13), pq)
		for c := 1; c < 7; c++ {
			fn.VFMADD213PS(k(numerics.VecA13+c), x2, pq)
		}
		fn.VMULPS(u, pq, pq)
		fn.VMOVUPS(k(numerics.VecB8), u)
		for c := 1; c < 5; c++ {
			fn.VFMADD213PS(k(numerics.VecB8+c), x2, u)
		}
		fn.VDIVPS(u, pq, pq)
		fn.VFMADD213PS(h, h, pq)
		fn.VMOVAPS(pq, a)
	default:
		panic("BUG: amd64: no depthwise epilogue for activation " + act)
	}
}
