package rows

import (
	"fmt"

	"github.com/modelc/modelc/codegen/asm"
)

// EWArgsDecl declares the parameter block of the element-wise kernels.
const EWArgsDecl = `// ewArgs is the parameter block of the element-wise kernels (offsets
// fixed in the assembly: dst 0, a 8, b 16, vectors 24, s 32, t 36).
type ewArgs struct {
	dst, a, b unsafe.Pointer
	vectors   int
	s, t      float32 // affine: dst = a·s + t
}
`

// ewOps are the element-wise operations with x86 kernels: the binary
// ones on two operands of the same shape.
var ewOps = map[string]string{"relu": "", "affine": "", "add": "VADDPS", "sub": "VSUBPS", "mul": "VMULPS"}

// HasElementwise reports whether op has an x86 element-wise kernel.
func HasElementwise(op string) bool { _, ok := ewOps[op]; return ok }

// Elementwise emits the kernel for op over whole vectors of lanes floats
// (the caller finishes the tail in Go): dst = relu(a), dst = a·s + t
// (affine; s and t from the arguments) or dst = a op b, four
// vectors per iteration. ReLU is max(0, x) with x as the second source,
// so a NaN x comes out NaN as in Go's max. Its Go declaration is
// func name(a *ewArgs).
func Elementwise(name, op string, lanes int) *asm.Func {
	ins, ok := ewOps[op]
	if !ok {
		panic("rows: no element-wise kernel for " + op)
	}
	vec, zero := asm.Z, "VPXORD"
	if lanes == 8 {
		vec, zero = asm.Y, "VXORPS"
	}
	vb := lanes * 4
	fn := &asm.Func{Name: name, Args: 8, GoDecl: fmt.Sprintf("func %s(a *ewArgs)", name), Doc: []string{
		fmt.Sprintf("func %s(a *ewArgs)", name),
		fmt.Sprintf("Element-wise %s over whole %d-float vectors.", op, lanes),
	}}
	args := asm.R13
	fn.I("MOVQ", asm.Arg{Name: "a", Off: 0}, args)
	fn.I("MOVQ", asm.At(args, 0), asm.DI)
	fn.I("MOVQ", asm.At(args, 8), asm.SI)
	fn.I("MOVQ", asm.At(args, 16), asm.DX)
	fn.I("MOVQ", asm.At(args, 24), asm.CX)
	zr, sc, sh := vec(15), vec(14), vec(13)
	unary := op == "relu" || op == "affine"
	switch op {
	case "relu":
		fn.I(zero, zr, zr, zr)
	case "affine":
		fn.I("VBROADCASTSS", asm.At(args, 32), sc)
		fn.I("VBROADCASTSS", asm.At(args, 36), sh)
	}
	body := func(n int) {
		for u := range n {
			fn.I("VMOVUPS", asm.At(asm.SI, u*vb), vec(u))
			switch op {
			case "relu":
				fn.I("VMAXPS", vec(u), zr, vec(u))
			case "affine":
				fn.I("VFMADD213PS", sh, sc, vec(u)) // x·s + t
			default:
				fn.I(ins, asm.At(asm.DX, u*vb), vec(u), vec(u)) // a op b: b is the second source
			}
			fn.I("VMOVUPS", vec(u), asm.At(asm.DI, u*vb))
		}
		fn.I("ADDQ", asm.Imm(n*vb), asm.SI)
		fn.I("ADDQ", asm.Imm(n*vb), asm.DI)
		if !unary {
			fn.I("ADDQ", asm.Imm(n*vb), asm.DX)
		}
	}
	fn.Align(64)
	fn.Label("loop4")
	fn.I("CMPQ", asm.CX, asm.Imm(4))
	fn.I("JLT", asm.Label("loop1"))
	body(4)
	fn.I("SUBQ", asm.Imm(4), asm.CX)
	fn.I("JMP", asm.Label("loop4"))
	fn.Label("loop1")
	fn.I("TESTQ", asm.CX, asm.CX)
	fn.I("JZ", asm.Label("done"))
	body(1)
	fn.I("DECQ", asm.CX)
	fn.I("JMP", asm.Label("loop1"))
	fn.Label("done")
	fn.I("VZEROUPPER")
	fn.I("RET")
	return fn
}

// ElementwiseDriver returns the Go function name(avx512 bool, dst, a, b
// []float32, s, t float32) int that runs op's kernels on the whole vectors
// of dst (a and b at least as long; b read only by binary ops, s and t
// only by affine) and returns how many elements it did, so the caller's Go
// loop finishes the rest.
func ElementwiseDriver(name, op string) string {
	extra := ""
	switch op {
	case "relu":
	case "affine":
		extra = "args.s, args.t = s, t\n"
	default:
		extra = "_ = b[n-1]\nargs.b = unsafe.Pointer(&b[0])\n"
	}
	return fmt.Sprintf(`// %[1]s runs element-wise %[2]s on dst's whole vectors with the x86 kernels and returns how many elements it did.
func %[1]s(avx512 bool, dst, a, b []float32, s, t float32) int {
n := len(dst)
if n < 16 {
return 0
}
_ = a[n-1]
args := ewArgs{dst: unsafe.Pointer(&dst[0]), a: unsafe.Pointer(&a[0])}
%[3]sif avx512 {
args.vectors = n / 16
%[1]s_avx512(&args)
return n / 16 * 16
}
args.vectors = n / 8
%[1]s_avx2(&args)
return n / 8 * 8
}
`, name, op, extra)
}

// ElementwiseStub is what stands in for ElementwiseDriver's function off
// amd64 and with the purego tag.
func ElementwiseStub(name string) string {
	return fmt.Sprintf("func %s(avx512 bool, dst, a, b []float32, s, t float32) int { panic(\"unreachable\") }\n", name)
}
