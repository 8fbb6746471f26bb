package arm64

import "fmt"

// ewOps are the element-wise operations with NEON kernels, with the
// encoded instruction of the binary ones (on two operands of the same
// shape).
var ewOps = map[string]EncOp{"relu": -1, "affine": -1, "add": FADD, "sub": FSUB, "mul": FMUL}

// hasElementwise reports whether op has an element-wise kernel.
func hasElementwise(op string) bool { _, ok := ewOps[op]; return ok }

// elementwise emits the microkernel for op over whole vectors of four
// floats (driver.Elementwise's contract): dst = relu(a) (FMAX with zero,
// so NaN stays NaN, as in Go's max), dst = a·s + t, or dst = a op b, four
// vectors per iteration, then one at a time.
func elementwise(name, op string) *Func {
	ins, ok := ewOps[op]
	if !ok {
		panic("BUG: arm64: no element-wise kernel for " + op)
	}
	fn := &Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *ewArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *ewArgs)", name),
		fmt.Sprintf("Element-wise %s over whole vectors of four floats.", op),
	}}
	args := R(0)
	fn.MOVD(Arg{Name: "a", Off: 0}, args)
	fn.MOVD(At(args, 0), R(1))
	fn.MOVD(At(args, 8), R(2))
	fn.MOVD(At(args, 16), R(3))
	fn.MOVD(At(args, 24), R(4))
	zero, sc, sh := V(31), V(30), V(29)
	switch op {
	case "relu":
		fn.VEOR(zero.B16(), zero.B16(), zero.B16())
	case "affine":
		fn.FMOVS(At(args, 32), sc.F())
		fn.VDUP(sc.S(0), sc.S4())
		fn.FMOVS(At(args, 36), sh.F())
		fn.VDUP(sh.S(0), sh.S4())
	}
	body := func(n int) {
		fn.VLD1_P(At(R(2), 16*n), V(0).S4s(n))
		if ins >= 0 {
			fn.VLD1_P(At(R(3), 16*n), V(4).S4s(n))
		}
		for u := range n {
			x := V(u)
			switch op {
			case "relu":
				fn.Encode(FMAX, zero.S4(), x.S4(), x.S4())
			case "affine":
				t := V(8 + u) // t + x·s, then back into x
				fn.VMOV(sh.B16(), t.B16())
				fn.VFMLA(sc.S4(), x.S4(), t.S4())
				fn.VMOV(t.B16(), x.B16())
			default:
				fn.Encode(ins, V(4+u).S4(), x.S4(), x.S4()) // a op b
			}
		}
		fn.VST1_P(V(0).S4s(n), At(R(1), 16*n))
	}
	fn.Align(32)
	fn.Label("loop4")
	fn.CMP(Imm(4), R(4))
	fn.BLT(Label("loop1"))
	body(4)
	fn.SUB(Imm(4), R(4))
	fn.B(Label("loop4"))
	fn.Label("loop1")
	fn.CBZ(R(4), Label("done"))
	body(1)
	fn.SUB(Imm(1), R(4))
	fn.B(Label("loop1"))
	fn.Label("done")
	fn.RET()
	return fn
}
