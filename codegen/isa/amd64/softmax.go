package amd64

import (
	"fmt"

	"github.com/modelc/modelc/runtime/numerics"
)

// softmax emits the kernel for softmax over contiguous rows of l floats
// (any l ≥ 1) with lanes 16 (AVX-512) or 8 (AVX2). Per row, three passes:
//
//  1. m = max(x), four (AVX2: two) vector accumulators reduced across
//     lanes;
//  2. e = exp(x − m) by numerics.Exp32's steps and constants on vectors
//     (numerics.ExpVec), written to dst and summed in float32;
//  3. dst = e · (1/Σe).
//
// Whole vectors run in a loop unrolled by the accumulator count; the last
// l mod lanes floats are read and written under a mask (an opmask
// register on AVX-512, VMASKMOVPS on AVX2), so nothing outside the row is
// touched. Its Go declaration is
//
//	func name(src, dst *float32, rows int, consts *float32, tail *int32)
//
// with consts = &numerics.ExpVec[0][0] and, for AVX2 when l mod 8 ≠ 0,
// tail pointing at 8 int32 lanes, −1 in the first l mod 8 (AVX-512 builds
// its mask itself and ignores tail).
//
// Special values, as in the pure-Go kernel and PyTorch: a row holding a
// NaN, or +Inf (Inf − Inf), or only −Inf (−Inf − (−Inf)) comes out all
// NaN; −Inf elements of any other row give 0. How NaN gets through:
// pass 1's VMAXPS takes the accumulator as Intel's second source, which
// VMAXPS returns when either is NaN, so the maximum skips NaN elements
// and stays finite or ±Inf; the exp clamps take x as their second source,
// so exp(NaN) = NaN, which makes Σe NaN and with it every output.
func softmax(name string, l, lanes int) *Func {
	if l < 1 || (lanes != 16 && lanes != 8) {
		panic(fmt.Sprintf("rows: softmax of %d floats with %d-float vectors", l, lanes))
	}
	avx512 := lanes == 16
	vec, nacc := Z, 4
	if !avx512 {
		vec, nacc = Y, 2
	}
	fn := &Func{Name: name, Args: 40,
		GoDecl: fmt.Sprintf("func %s(src, dst *float32, rows int, consts *float32, tail *int32)", name),
		Doc: []string{
			fmt.Sprintf("func %s(src, dst *float32, rows int, consts *float32, tail *int32)", name),
			fmt.Sprintf("Softmax over rows of %d floats, %d-float vectors.", l, lanes),
		}}
	vb, nfull, tail := lanes*4, l/lanes, l%lanes
	// Registers: per unrolled slot u a value x, an exponent n and a
	// polynomial p; one accumulator per slot; the row's maximum m and
	// 1/Σe. AVX-512 keeps every ExpVec constant in Z16–Z29; AVX2 keeps the
	// clamps (the NaN-keeping VMAXPS/VMINPS need them in a register), −Inf
	// and the tail mask, and reads the rest from memory.
	x := func(u int) Vec { return vec(3 * u) }
	n := func(u int) Vec { return vec(3*u + 1) }
	p := func(u int) Vec { return vec(3*u + 2) }
	accBase := 12
	if !avx512 {
		accBase = 6
	}
	acc := func(u int) Vec { return vec(accBase + u) }
	var m, inv, mask Vec
	cst := func(i int) VM { return vec(16 + i) }
	if avx512 {
		m, inv = vec(30), vec(31)
	} else {
		m, inv, mask = vec(13), vec(10), vec(12)
		cst = func(i int) VM {
			switch i {
			case numerics.ExpVecHi:
				return vec(14)
			case numerics.ExpVecLo:
				return vec(15)
			case numerics.ExpVecNegInf:
				return vec(11)
			}
			return At(R8, 64*i)
		}
	}

	fn.MOVQ(Arg{Name: "src", Off: 0}, SI)
	fn.MOVQ(Arg{Name: "dst", Off: 8}, DI)
	fn.MOVQ(Arg{Name: "rows", Off: 16}, CX)
	fn.MOVQ(Arg{Name: "consts", Off: 24}, R8)
	fn.TESTQ(CX, CX)
	fn.JZ(Label("done"))
	for i := range numerics.ExpVecNegInf + 1 {
		if r, ok := cst(i).(Vec); ok {
			fn.VMOVUPS(At(R8, 64*i), r)
		}
	}
	if tail > 0 {
		if avx512 {
			fn.MOVL(Imm(1<<tail-1), BX)
			fn.KMOVW(BX, K(1))
		} else {
			fn.MOVQ(Arg{Name: "tail", Off: 32}, BX)
			fn.VMOVDQU(At(BX, 0), mask)
		}
	}

	// vectors emits body(u, off, masked) over the row's whole vectors, a
	// loop of nacc at a time from cursor AX (and DX) and the rest
	// unrolled, then once for the masked tail.
	vectors := func(pass string, dx bool, body func(u, off int, masked bool)) {
		fn.MOVQ(SI, AX)
		if dx {
			fn.MOVQ(DI, DX)
		}
		if groups := nfull / nacc; groups > 0 {
			fn.MOVQ(Imm(groups), BX)
			fn.Label(Label(pass))
			for u := range nacc {
				body(u, u*vb, false)
			}
			fn.ADDQ(Imm(nacc*vb), AX)
			if dx {
				fn.ADDQ(Imm(nacc*vb), DX)
			}
			fn.DECQ(BX)
			fn.JNZ(Label(pass))
		}
		rest := nfull % nacc
		for u := range rest {
			body(u, u*vb, false)
		}
		if tail > 0 {
			body(0, rest*vb, true)
		}
	}
	// reduce combines the accumulators with op across lanes into every
	// lane of dst, using slot 0's x as scratch.
	reduce := func(op Op3, dst Vec) {
		if nacc == 4 {
			op(fn, acc(1), acc(0), acc(0))
			op(fn, acc(3), acc(2), acc(2))
			op(fn, acc(2), acc(0), acc(0))
		} else {
			op(fn, acc(1), acc(0), acc(0))
		}
		num := accBase
		if avx512 {
			fn.VEXTRACTF64X4(Imm(1), Z(num), Y(0))
			op(fn, Y(0), Y(num), Y(num))
		}
		fn.VEXTRACTF128(Imm(1), Y(num), X(0))
		op(fn, X(0), X(num), X(num))
		fn.VPERMILPS(Imm(0x4e), X(num), X(0))
		op(fn, X(0), X(num), X(num))
		fn.VPERMILPS(Imm(0xb1), X(num), X(0))
		op(fn, X(0), X(num), X(num))
		fn.VBROADCASTSS(X(num), dst)
	}
	// load reads a vector of the row into r; masked lanes read as fill
	// (AVX2: fill is a register, or "" for zeros).
	load := func(mem Mem, r Vec, masked bool, fill Vec) {
		switch {
		case !masked:
			fn.VMOVUPS(mem, r)
		case avx512 && fill != "":
			fn.VMOVAPS(fill, r)
			fn.VMOVUPS_K(mem, K(1), r)
		case avx512:
			fn.VMOVUPS_Z(mem, K(1), r)
		default:
			fn.VMASKMOVPS(mem, mask, r)
			if fill != "" {
				fn.VBLENDVPS(mask, r, fill, r) // mask ? r : fill
			}
		}
	}
	store := func(r Vec, mem Mem, masked bool) {
		switch {
		case !masked:
			fn.VMOVUPS(r, mem)
		case avx512:
			fn.VMOVUPS_K(r, K(1), mem)
		default:
			fn.VMASKMOVPS(r, mask, mem)
		}
	}
	// reg is constant i where it must be a register (as the first
	// source of VMAXPS and VMINPS, to keep NaN).
	reg := func(i int) Vec { return cst(i).(Vec) }
	// exp replaces x(u) by numerics.Exp32 of it, in p(u).
	exp := func(u int) {
		x, n, p := x(u), n(u), p(u)
		fn.VMAXPS(x, reg(numerics.ExpVecLo), x) // x second: NaN stays
		fn.VMINPS(x, reg(numerics.ExpVecHi), x)
		expSteps(fn, cst, x, n, p, avx512)
	}

	fn.Align(64)
	fn.Label("row")
	fn.Comment("pass 1: m = max(x); the accumulator is VMAXPS's second source, so NaN elements are skipped")
	for u := range nacc {
		fn.VMOVAPS(cst(numerics.ExpVecNegInf), acc(u))
	}
	vectors("max", false, func(u, off int, masked bool) {
		load(At(AX, off), x(u), masked, reg(numerics.ExpVecNegInf))
		fn.VMAXPS(acc(u), x(u), acc(u))
	})
	reduce((*Func).VMAXPS, m)
	fn.Comment("pass 2: e = exp(x − m) to dst, Σe")
	for u := range nacc {
		fn.VXORPS(acc(u), acc(u), acc(u))
	}
	vectors("exp", true, func(u, off int, masked bool) {
		load(At(AX, off), x(u), masked, "")
		fn.VSUBPS(m, x(u), x(u))
		exp(u)
		if masked { // the lanes past the row must not reach the sum
			if avx512 {
				fn.VMOVAPS_Z(p(u), K(1), p(u))
			} else {
				fn.VANDPS(mask, p(u), p(u))
			}
		}
		fn.VADDPS(p(u), acc(u), acc(u))
		store(p(u), At(DX, off), masked)
	})
	reduce((*Func).VADDPS, inv)
	if avx512 {
		fn.VDIVPS(inv, reg(numerics.ExpVecOne), inv)
	} else {
		fn.VMOVUPS(cst(numerics.ExpVecOne), x(0))
		fn.VDIVPS(inv, x(0), inv)
	}
	fn.Comment("pass 3: dst = e · (1/Σe)")
	fn.MOVQ(DI, AX)
	if groups := nfull / nacc; groups > 0 {
		fn.MOVQ(Imm(groups), BX)
		fn.Label("scale")
		for u := range nacc {
			fn.VMULPS(At(AX, u*vb), inv, x(u))
			fn.VMOVUPS(x(u), At(AX, u*vb))
		}
		fn.ADDQ(Imm(nacc*vb), AX)
		fn.DECQ(BX)
		fn.JNZ(Label("scale"))
	}
	rest := nfull % nacc
	for u := range rest {
		fn.VMULPS(At(AX, u*vb), inv, x(u))
		fn.VMOVUPS(x(u), At(AX, u*vb))
	}
	if tail > 0 {
		load(At(AX, rest*vb), x(0), true, "")
		fn.VMULPS(inv, x(0), x(0))
		store(x(0), At(AX, rest*vb), true)
	}
	nextRow(fn, l*4)
	return fn
}

// expSteps replaces x, already clamped to numerics.Exp32's range, by
// e^x in p, by Exp32's steps (n = ⌊x·log2e + ½⌋, r = x − n·C1 − n·C2, the
// degree-6 polynomial in r, scaled by 2^n); n is clobbered and x left
// as r. c gives ExpVec constant i as a register or memory operand. The
// softmax rows and the depthwise activations both run it.
func expSteps(fn *Func, c func(int) VM, x, n, p Vec, avx512 bool) {
	fn.VMULPS(c(numerics.ExpVecLog2e), x, n)
	fn.VADDPS(c(numerics.ExpVecHalf), n, n)
	if avx512 {
		fn.VRNDSCALEPS(Imm(9), n, n) // floor
	} else {
		fn.VROUNDPS(Imm(9), n, n)
	}
	fn.VFNMADD231PS(c(numerics.ExpVecC1), n, x) // r = x − n·C1 − n·C2
	fn.VFNMADD231PS(c(numerics.ExpVecC2), n, x)
	fn.VMOVUPS(c(numerics.ExpVecP0), p)
	for i := 1; i <= 5; i++ {
		fn.VFMADD213PS(c(numerics.ExpVecP0+i), x, p) // p = p·r + Pi
	}
	fn.VMULPS(x, p, p)
	fn.VFMADD213PS(x, x, p) // p·r·r + r
	fn.VADDPS(c(numerics.ExpVecOne), p, p)
	if avx512 {
		// y·2^n rounded once, as y·2^h·2^(n−h) is (y·2^h is exact).
		fn.VSCALEFPS(n, p, p)
		return
	}
	// 2^n as 2^h · 2^(n−h), h = n>>1, each built in the exponent field
	// by adding the bits of 1.0.
	fn.VCVTTPS2DQ(n, n)
	fn.VPSRAD(Imm(1), n, x)
	fn.VPSUBD(x, n, n)
	fn.VPSLLD(Imm(23), x, x)
	fn.VPADDD(c(numerics.ExpVecOne), x, x)
	fn.VPSLLD(Imm(23), n, n)
	fn.VPADDD(c(numerics.ExpVecOne), n, n)
	fn.VMULPS(x, p, p)
	fn.VMULPS(n, p, p)
}
