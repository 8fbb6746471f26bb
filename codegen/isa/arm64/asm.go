// Package arm64 is the arm64 target: NEON kernels in Plan 9 assembly for
// Go's arm64 assembler, behind the drivers of codegen/isa/driver. Its
// files mirror codegen/isa/amd64's: asm.go (the typed builder and its
// printer), gen_instr.go and zinstr.go (an instruction method per form
// the kernels use), encode.go (the instructions Go's assembler lacks,
// emitted as WORD directives), gemm.go, conv.go, attention.go, qgemm.go
// (the int8 GEMM), the row kernels, target.go and render.go.
//
// Like amd64's it is not an assembler: registers are assigned by each
// kernel generator explicitly, Go's assembler checks the instructions it
// knows, and the encoder's words are checked against GNU as for aarch64
// in the tests (docs/arm64-encodings.md).
//
// Operands are written in Plan 9 order: sources first, destination last.
package arm64

//go:generate go run gen_instr.go

import (
	"fmt"
	"strings"
)

// Operand is anything an instruction takes. The operand classes below
// are what the instruction methods (zinstr.go) accept, so an operand of
// the wrong kind fails when the generator compiles:
//
//	RI   a general-purpose register or an immediate
//	RM   a general-purpose register or memory
//	RIM  any of the three
//	M    memory (a register base and offset, or a frame argument)
//	FM   a vector register's scalar view or memory
type Operand interface{ plan9() string }

type (
	RI interface {
		Operand
		ri()
	}
	RM interface {
		Operand
		rm()
	}
	RIM interface {
		Operand
		rim()
	}
	M interface {
		Operand
		m()
	}
	FM interface {
		Operand
		fm()
	}
)

// GP is a general-purpose register, R0–R25 as Go's assembler names them.
// R18 (the platform's), R26–R30 (closure context, the assembler's
// scratch, g, the frame pointer, the link register) are left out.
type GP int

func (r GP) plan9() string { return fmt.Sprintf("R%d", int(r)) }
func (GP) ri()             {}
func (GP) rm()             {}
func (GP) rim()            {}

// R returns general-purpose register n.
func R(n int) GP {
	if n < 0 || n > 25 || n == 18 {
		panic(fmt.Sprintf("arm64: R%d: kernels use R0–R17 and R19–R25", n))
	}
	return GP(n)
}

// VReg is a vector register V0–V31.
type VReg int

// V returns vector register n.
func V(n int) VReg {
	if n < 0 || n > 31 {
		panic(fmt.Sprintf("arm64: V%d: vector registers are V0–V31", n))
	}
	return VReg(n)
}

// Arr is a vector register with an arrangement, e.g. V3.S4.
type Arr struct {
	V   VReg
	Arr string // "S4", "B16", …
}

func (a Arr) plan9() string { return fmt.Sprintf("V%d.%s", int(a.V), a.Arr) }

// S4 and B16 view v as four floats or words, or sixteen bytes; H8 as
// eight halfwords; B8 and H4 as the low 64 bits' eight bytes or four
// halfwords.
func (v VReg) S4() Arr  { return Arr{v, "S4"} }
func (v VReg) B16() Arr { return Arr{v, "B16"} }
func (v VReg) H8() Arr  { return Arr{v, "H8"} }
func (v VReg) B8() Arr  { return Arr{v, "B8"} }
func (v VReg) H4() Arr  { return Arr{v, "H4"} }

// Elem is one lane of a vector register, e.g. V3.S[1], or for the dot
// products a group of four bytes, V3.4B[1] (Size '4').
type Elem struct {
	V     VReg
	Size  byte // 'S', or '4' for a group of four bytes
	Index int
}

func (e Elem) plan9() string {
	if e.Size == '4' {
		return fmt.Sprintf("V%d.B4[%d]", int(e.V), e.Index)
	}
	return fmt.Sprintf("V%d.%c[%d]", int(e.V), e.Size, e.Index)
}

// S returns lane i of v as a single-precision element.
func (v VReg) S(i int) Elem {
	if i < 0 || i > 3 {
		panic(fmt.Sprintf("arm64: V%d.S[%d]: lanes are 0–3", int(v), i))
	}
	return Elem{v, 'S', i}
}

// B4 returns the group i of four bytes of v (the lane S[i] as bytes),
// the by-element operand of SDOT and UDOT.
func (v VReg) B4(i int) Elem {
	if i < 0 || i > 3 {
		panic(fmt.Sprintf("arm64: V%d.4B[%d]: groups are 0–3", int(v), i))
	}
	return Elem{v, '4', i}
}

// FReg is a vector register as a scalar or whole-register view: F3 for
// FMOVS (its low 32 bits) and FMOVQ (all 128).
type FReg int

func (f FReg) plan9() string { return fmt.Sprintf("F%d", int(f)) }
func (FReg) fm()             {}

// F returns the scalar view of v.
func (v VReg) F() FReg { return FReg(v) }

// List is a register list for VLD1 and VST1: consecutive registers of
// one arrangement.
type List []Arr

func (l List) plan9() string {
	s := make([]string, len(l))
	for i, a := range l {
		s[i] = a.plan9()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// S4s returns the list of n consecutive registers from v, as S4.
func (v VReg) S4s(n int) List {
	if n < 1 || n > 4 || int(v)+n > 32 {
		panic(fmt.Sprintf("arm64: V%d: a list of %d registers", int(v), n))
	}
	l := make(List, n)
	for i := range l {
		l[i] = (v + VReg(i)).S4()
	}
	return l
}

// Mem is a memory reference Off(Base), or with Index, (Base)(Index) —
// which only the post-indexed loads and stores take, as their increment.
type Mem struct {
	Base  GP
	Off   int
	Index GP
	idx   bool
}

// At returns the reference off(base).
func At(base GP, off int) Mem { return Mem{Base: base, Off: off} }

// ByReg returns (base)(index): a post-indexed access that adds index.
func ByReg(base, index GP) Mem { return Mem{Base: base, Index: index, idx: true} }

func (m Mem) plan9() string {
	if m.idx {
		return fmt.Sprintf("(%s)(%s)", m.Base.plan9(), m.Index.plan9())
	}
	if m.Off != 0 {
		return fmt.Sprintf("%d(%s)", m.Off, m.Base.plan9())
	}
	return fmt.Sprintf("(%s)", m.Base.plan9())
}
func (Mem) m()   {}
func (Mem) rm()  {}
func (Mem) rim() {}
func (Mem) fm()  {}

// Arg is a named argument of the function's frame: name+off(FP).
type Arg struct {
	Name string
	Off  int
}

func (a Arg) plan9() string { return fmt.Sprintf("%s+%d(FP)", a.Name, a.Off) }
func (Arg) m()              {}
func (Arg) rim()            {}

// Imm is an immediate.
type Imm int64

func (i Imm) plan9() string { return fmt.Sprintf("$%d", int64(i)) }
func (Imm) ri()             {}
func (Imm) rim()            {}

// Label is a branch target inside a function.
type Label string

func (l Label) plan9() string { return string(l) }

// Func is one TEXT symbol.
type Func struct {
	Name string // Go name, without the package's middle dot
	// GoDecl is the Go declaration that goes with it, e.g.
	// "func k(a *args)"; File.GoDecls prints them.
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
	word    uint32 // machine code from Encode; comment names the instruction
	raw     bool
}

// inst appends an instruction; op is the mnemonic as Go's assembler
// spells it, with any suffix (VLD1.P). The typed methods of zinstr.go
// call it; kernels call them.
func (f *Func) inst(op string, ops ...Operand) { f.lines = append(f.lines, line{op: op, ops: ops}) }

// Label places l at the next instruction.
func (f *Func) Label(l Label) { f.lines = append(f.lines, line{label: l}) }

// Align pads with NOPs to an n-byte boundary (PCALIGN).
func (f *Func) Align(n int) { f.lines = append(f.lines, line{align: n}) }

// Comment adds a comment line.
func (f *Func) Comment(format string, args ...any) {
	f.lines = append(f.lines, line{comment: fmt.Sprintf(format, args...)})
}

// File is a set of functions for one architecture.
type File struct {
	Header []string // comment lines at the top
	Build  string   // the //go:build expression, if any
	Funcs  []*Func
}

// ARM64 prints the file in Go's arm64 assembler syntax.
func (file *File) ARM64() string {
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
			case l.raw:
				fmt.Fprintf(&b, "\tWORD $0x%08x // %s\n", l.word, l.comment)
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
// marked //go:noescape: the kernels keep no pointer they are given.
func (file *File) GoDecls() string {
	var b strings.Builder
	for _, f := range file.Funcs {
		fmt.Fprintf(&b, "//go:noescape\n%s\n\n", f.GoDecl)
	}
	return b.String()
}
