// Package asm is a small typed builder for the assembly kernels modelc
// generates: functions made of instructions whose operands are registers,
// memory references, immediates and labels, with loop alignment
// (PCALIGN), printed by one printer per ISA (Plan 9 syntax for Go's
// assembler; amd64 today).
//
// It is deliberately not an assembler: it encodes only the few
// instructions Go's assembler lacks (encode.go), and it has no register
// allocator. Each kernel generator assigns registers explicitly
// per variant (an MR×NR tile's accumulators, its operand registers), which
// is what the kernels' performance depends on and what a reader of the
// generated file wants to see. Go's assembler checks the instructions;
// go vet's asmdecl checks the frames against the Go declarations.
//
// Operands are written in Plan 9 order: sources first, destination last.
//
// # Instructions Go's assembler lacks
//
// Probed with go build on Go 1.26: it encodes AVX512-VNNI (VPDPBUSD,
// VPDPBUSDS, VPDPWSSD, VPDPWSSDS) at every width, but always with EVEX,
// even for X/Y registers 0–15 without a mask, so those need AVX512VL and
// fault on AVX-VNNI-only CPUs; it has no syntax for the VEX form. It
// rejects AVX512-BF16 (VDPBF16PS, VCVTNE2PS2BF16, VCVTNEPS2BF16),
// AVX-VNNI-INT8 (VPDPBSSD, VPDPBSUD, VPDPBUUD and their S forms) and
// AVX-NE-CONVERT as unrecognized. Func.Encode emits those as BYTE
// directives with the instruction in Intel syntax in a comment; the
// tests check every form against GNU as and, where the CPU has the
// feature, run it against a Go reference. asm2plan9s (minio) is no
// substitute: it tries yasm first, and yasm 1.3.0 encodes none of them
// (no AVX-512, no VNNI), so it falls back to GNU as for the whole file.
// docs/x86-encodings.md has the details.
package amd64

//go:generate go run gen_instr.go

import (
	"fmt"
	"strings"
)

// Operand is anything an instruction takes. The operand classes below
// are what the instruction methods (zinstr.go) accept, so an operand of
// the wrong kind fails when the generator compiles:
//
//	VM   a vector register or memory
//	RM   a general-purpose register or memory (a frame argument too)
//	RMI  RM or an immediate
//	M    memory (a frame argument too)
type Operand interface{ plan9() string }

type (
	VM interface {
		Operand
		vm()
	}
	RM interface {
		Operand
		rm()
	}
	RMI interface {
		Operand
		rmi()
	}
	M interface {
		Operand
		m()
	}
)

// GP is a general-purpose register, named as Go's assembler names it.
type GP string

func (r GP) plan9() string { return string(r) }
func (GP) rm()             {}
func (GP) rmi()            {}

// General-purpose registers of amd64 that kernels may use. BP, R14 (g
// in ABIInternal), R15 (clobbered by dynamic linking) and SP are left out
// on purpose.
const (
	AX  GP = "AX"
	BX  GP = "BX"
	CX  GP = "CX"
	DX  GP = "DX"
	SI  GP = "SI"
	DI  GP = "DI"
	R8  GP = "R8"
	R9  GP = "R9"
	R10 GP = "R10"
	R11 GP = "R11"
	R12 GP = "R12"
	R13 GP = "R13"
)

// Vec is a vector register: X0–X31 (128 bits), Y0–Y31 (256), Z0–Z31
// (512).
type Vec string

func (r Vec) plan9() string { return string(r) }
func (Vec) vm()             {}

// KReg is an AVX-512 opmask register, K0–K7.
type KReg string

func (r KReg) plan9() string { return string(r) }

// X, Y and Z name the 128-, 256- and 512-bit vector registers; K names
// an AVX-512 opmask register.
func X(n int) Vec { return vreg("X", n) }
func Y(n int) Vec { return vreg("Y", n) }
func Z(n int) Vec { return vreg("Z", n) }
func K(n int) KReg {
	if n < 0 || n > 7 {
		panic(fmt.Sprintf("asm: K%d: opmask registers are K0–K7", n))
	}
	return KReg(fmt.Sprintf("K%d", n))
}

func vreg(prefix string, n int) Vec {
	if n < 0 || n > 31 {
		panic(fmt.Sprintf("asm: %s%d: vector registers are 0–31", prefix, n))
	}
	return Vec(fmt.Sprintf("%s%d", prefix, n))
}

// Mem is a memory reference Disp(Base)(Index*Scale).
type Mem struct {
	Base  GP
	Disp  int
	Index GP
	Scale int // 1, 2, 4 or 8 when Index is set
}

// At returns the reference Disp(base).
func At(base GP, disp int) Mem { return Mem{Base: base, Disp: disp} }

// Idx adds an index register scaled by 1, 2, 4 or 8.
func (m Mem) Idx(index GP, scale int) Mem {
	if scale != 1 && scale != 2 && scale != 4 && scale != 8 {
		panic(fmt.Sprintf("asm: scale %d: want 1, 2, 4 or 8", scale))
	}
	m.Index, m.Scale = index, scale
	return m
}

func (m Mem) plan9() string {
	s := fmt.Sprintf("(%s)", m.Base)
	if m.Disp != 0 {
		s = fmt.Sprint(m.Disp) + s
	}
	if m.Index != "" {
		s += fmt.Sprintf("(%s*%d)", m.Index, m.Scale)
	}
	return s
}
func (Mem) vm()  {}
func (Mem) rm()  {}
func (Mem) rmi() {}
func (Mem) m()   {}

// Arg is a named argument of the function's frame: name+off(FP).
type Arg struct {
	Name string
	Off  int
}

func (a Arg) plan9() string { return fmt.Sprintf("%s+%d(FP)", a.Name, a.Off) }
func (Arg) rm()             {}
func (Arg) rmi()            {}
func (Arg) m()              {}

// Imm is an immediate.
type Imm int64

func (i Imm) plan9() string { return fmt.Sprintf("$%d", int64(i)) }
func (Imm) rmi()            {}

// Op3 is a three-operand vector instruction as a method expression
// ((*Func).VADDPS), for kernels that choose one at generation time.
type Op3 func(f *Func, src2 VM, src1, dst Vec)

// vectorRegs returns the register constructor and the zeroing instruction
// for vectors of lanes floats: Z and VPXORD with 16 (AVX-512), Y and
// VXORPS with 8 (AVX2, which lacks VPXORD).
func vectorRegs(lanes int) (func(int) Vec, Op3) {
	if lanes == 16 {
		return Z, (*Func).VPXORD
	}
	return Y, (*Func).VXORPS
}

// Label is a branch target inside a function.
type Label string

func (l Label) plan9() string { return string(l) }

// Func is one TEXT symbol.
type Func struct {
	Name string // Go name, without the package's middle dot
	// GoDecl is the Go declaration that goes with it, e.g.
	// "func k(a *args)"; GoDecls prints them for a file.
	GoDecl string
	Doc    []string
	Frame  int // local frame size
	Args   int // argument size, as go vet checks it against the Go declaration
	lines  []line
}

type line struct {
	op      string
	ops     []Operand
	label   Label
	comment string
	align   int
	raw     []byte // machine code from Encode; comment names the instruction
}

// inst appends an instruction; op is the mnemonic as Go's assembler
// spells it, with any suffix (VFMADD231PS.BCST). The typed methods of
// zinstr.go call it; kernels call them.
func (f *Func) inst(op string, ops ...Operand) {
	mem := 0
	for _, o := range ops {
		if _, ok := o.(M); ok {
			mem++
		}
	}
	if mem > 1 {
		panic(fmt.Sprintf("BUG: amd64: %s %s: at most one memory operand", op, plan9List(ops)))
	}
	f.lines = append(f.lines, line{op: op, ops: ops})
}

// Label places l at the next instruction.
func (f *Func) Label(l Label) { f.lines = append(f.lines, line{label: l}) }

// Align pads with NOPs to an n-byte boundary (PCALIGN): a hot loop that
// crosses a 64-byte boundary ran at half speed on the Zen 4 measured.
func (f *Func) Align(n int) { f.lines = append(f.lines, line{align: n}) }

// Comment adds a comment line.
func (f *Func) Comment(format string, args ...any) {
	f.lines = append(f.lines, line{comment: fmt.Sprintf(format, args...)})
}

// File is a set of functions for one architecture.
type File struct {
	Header []string // comment lines at the top (after any build constraint)
	Build  string   // the //go:build expression, if any
	Funcs  []*Func
}

// Func adds a new function to the file.
func (file *File) Func(name string, args int, doc ...string) *Func {
	f := &Func{Name: name, Args: args, Doc: doc}
	file.Funcs = append(file.Funcs, f)
	return f
}

// AMD64 prints the file in Go's amd64 assembler syntax.
func (file *File) AMD64() string {
	var b strings.Builder
	for _, h := range file.Header {
		fmt.Fprintf(&b, "// %s\n", h)
	}
	if len(file.Header) > 0 {
		b.WriteString("\n")
	}
	if file.Build != "" {
		fmt.Fprintf(&b, "//go:build %s\n\n", file.Build)
	}
	b.WriteString("#include \"textflag.h\"\n")
	for _, f := range file.Funcs {
		b.WriteString("\n")
		for _, d := range f.Doc {
			fmt.Fprintf(&b, "// %s\n", d)
		}
		fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $%d-%d\n", f.Name, f.Frame, f.Args)
		for _, l := range f.lines {
			switch {
			case l.label != "":
				fmt.Fprintf(&b, "%s:\n", l.label)
			case l.align > 0:
				fmt.Fprintf(&b, "\tPCALIGN $%d\n", l.align)
			case l.raw != nil:
				fmt.Fprintf(&b, "\t%s // %s\n", rawPlan9(l.raw), l.comment)
			case l.comment != "":
				fmt.Fprintf(&b, "\t// %s\n", l.comment)
			default:
				ops := make([]string, len(l.ops))
				for i, o := range l.ops {
					ops[i] = o.plan9()
				}
				if len(ops) == 0 {
					fmt.Fprintf(&b, "\t%s\n", l.op)
				} else {
					fmt.Fprintf(&b, "\t%s %s\n", l.op, strings.Join(ops, ", "))
				}
			}
		}
	}
	return b.String()
}

// GoDecls returns the Go declarations of the file's functions, each
// marked //go:noescape: the kernels keep no pointer they are given, so
// their arguments can stay on the caller's stack.
func (file *File) GoDecls() string {
	var b strings.Builder
	for _, f := range file.Funcs {
		fmt.Fprintf(&b, "//go:noescape\n%s\n\n", f.GoDecl)
	}
	return b.String()
}
