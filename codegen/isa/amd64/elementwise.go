package amd64

import (
	"fmt"
)

// ewOps are the element-wise operations with x86 kernels: the binary
// ones on two operands of the same shape.
var ewOps = map[string]Op3{"relu": nil, "affine": nil, "add": (*Func).VADDPS, "sub": (*Func).VSUBPS, "mul": (*Func).VMULPS}

// hasElementwise reports whether op has an element-wise kernel.
func hasElementwise(op string) bool { _, ok := ewOps[op]; return ok }

// elementwise emits the kernel for op over whole vectors of lanes floats
// (the caller finishes the tail in Go): dst = relu(a), dst = a·s + t
// (affine; s and t from the arguments) or dst = a op b, four
// vectors per iteration. ReLU is max(0, x) with x as the second source,
// so a NaN x comes out NaN as in Go's max. Its Go declaration is
// func name(a *ewArgs).
func elementwise(name, op string, lanes int) *Func {
	ins, ok := ewOps[op]
	if !ok {
		panic("BUG: amd64: no element-wise kernel for " + op)
	}
	vec, zero := vectorRegs(lanes)
	vb := lanes * 4
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *ewArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *ewArgs)", name),
		fmt.Sprintf("Element-wise %s over whole %d-float vectors.", op, lanes),
	}}
	args := R13
	fn.MOVQ(Arg{Name: "a", Off: 0}, args)
	fn.MOVQ(At(args, 0), DI)
	fn.MOVQ(At(args, 8), SI)
	fn.MOVQ(At(args, 16), DX)
	fn.MOVQ(At(args, 24), CX)
	zr, sc, sh := vec(15), vec(14), vec(13)
	unary := op == "relu" || op == "affine"
	switch op {
	case "relu":
		zero(fn, zr, zr, zr)
	case "affine":
		fn.VBROADCASTSS(At(args, 32), sc)
		fn.VBROADCASTSS(At(args, 36), sh)
	}
	body := func(n int) {
		for u := range n {
			fn.VMOVUPS(At(SI, u*vb), vec(u))
			switch op {
			case "relu":
				fn.VMAXPS(vec(u), zr, vec(u))
			case "affine":
				fn.VFMADD213PS(sh, sc, vec(u)) // x·s + t
			default:
				ins(fn, At(DX, u*vb), vec(u), vec(u)) // a op b: b is the second source
			}
			fn.VMOVUPS(vec(u), At(DI, u*vb))
		}
		fn.ADDQ(Imm(n*vb), SI)
		fn.ADDQ(Imm(n*vb), DI)
		if !unary {
			fn.ADDQ(Imm(n*vb), DX)
		}
	}
	fn.Align(64)
	fn.Label("loop4")
	fn.CMPQ(CX, Imm(4))
	fn.JLT(Label("loop1"))
	body(4)
	fn.SUBQ(Imm(4), CX)
	fn.JMP(Label("loop4"))
	fn.Label("loop1")
	fn.TESTQ(CX, CX)
	fn.JZ(Label("done"))
	body(1)
	fn.DECQ(CX)
	fn.JMP(Label("loop1"))
	fn.Label("done")
	fn.VZEROUPPER()
	fn.RET()
	return fn
}
