package ptx

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Version is the PTX ISA version every module declares: 7.8, the newest
// that Debian's ptxas (CUDA 11.8) assembles, and enough for sm_90.
const Version = "7.8"

// Targets are the architectures each module is emitted for: sm_80
// (A100, and by JIT every later GPU) and sm_90 (H100/H200).
var Targets = []string{"sm_80", "sm_90"}

// Class is a register file: PTX registers are declared by type, and the
// builder keeps one numbered family per class.
type Class uint8

const (
	Pred Class = iota // %p: .pred
	B32               // %r: .b32 (integers, also read as .u32/.s32)
	B64               // %rd: .b64 (addresses, 64-bit integers)
	F32               // %f: .f32
	numClasses
)

var classPrefix = [numClasses]string{"%p", "%r", "%rd", "%f"}
var classType = [numClasses]string{".pred", ".b32", ".b64", ".f32"}

// Reg is a virtual register; ptxas allocates the machine registers.
type Reg struct {
	C Class
	N int
}

func (r Reg) String() string { return fmt.Sprintf("%s%d", classPrefix[r.C], r.N) }

// Imm is an integer immediate operand.
type Imm int64

func (i Imm) String() string { return fmt.Sprint(int64(i)) }

// FImm is a float32 immediate, written as PTX's exact hex form 0fXXXXXXXX.
type FImm float32

func (f FImm) String() string { return fmt.Sprintf("0f%08X", math.Float32bits(float32(f))) }

// Addr is a memory operand [base+off].
type Addr struct {
	Base fmt.Stringer
	Off  int
}

func (a Addr) String() string {
	if a.Off == 0 {
		return "[" + a.Base.String() + "]"
	}
	return fmt.Sprintf("[%s%+d]", a.Base, a.Off)
}

// Sym is a named operand: a parameter, a shared array, a special register
// (%tid.x) or a label.
type Sym string

func (s Sym) String() string { return string(s) }

// Vec is a vector operand {a, b, c, d} of ld/st .v2/.v4.
type Vec []Reg

func (v Vec) String() string {
	s := make([]string, len(v))
	for i, r := range v {
		s[i] = r.String()
	}
	return "{" + strings.Join(s, ", ") + "}"
}

func operand(a any) string {
	switch v := a.(type) {
	case fmt.Stringer:
		return v.String()
	case int:
		return fmt.Sprint(v)
	case string:
		return v
	}
	panic(fmt.Sprintf("ptx: operand %T", a))
}

// Param is a kernel parameter: .u64 pointers and .u32 integers.
type Param struct {
	Name string
	Type string // ".u64" or ".u32"
}

// Kernel is one .entry being built. Instructions are appended in order;
// registers and labels are numbered as they are asked for.
type Kernel struct {
	Name    string
	Threads int // the block size (x), declared as .maxntid
	// MinBlocks, when > 0, is declared as .minnctapersm: the blocks an SM
	// must hold at once, which bounds ptxas's register budget by
	// occupancy rather than its own default (that spills GEMM tiles).
	MinBlocks int
	Params    []Param
	nreg      [numClasses]int
	shared    []sharedArray
	body      []string
	labels    int
}

type sharedArray struct {
	name  string
	bytes int
}

// NewKernel starts a kernel of the given block size.
func NewKernel(name string, threads int) *Kernel { return &Kernel{Name: name, Threads: threads} }

// Reg returns a fresh register of class c.
func (k *Kernel) Reg(c Class) Reg {
	r := Reg{c, k.nreg[c]}
	k.nreg[c]++
	return r
}

// Regs returns n fresh registers of class c.
func (k *Kernel) Regs(c Class, n int) []Reg {
	rs := make([]Reg, n)
	for i := range rs {
		rs[i] = k.Reg(c)
	}
	return rs
}

// Param adds a parameter and returns its name as an operand.
func (k *Kernel) Param(name, typ string) Sym {
	k.Params = append(k.Params, Param{name, typ})
	return Sym(name)
}

// Shared declares a 16-byte aligned shared array of bytes and returns a
// 32-bit register holding its address.
func (k *Kernel) Shared(name string, bytes int) Reg {
	k.shared = append(k.shared, sharedArray{name, bytes})
	r := k.Reg(B32)
	k.Op("mov.u32", r, Sym(name))
	return r
}

// SharedBytes is the kernel's static shared memory.
func (k *Kernel) SharedBytes() int {
	n := 0
	for _, s := range k.shared {
		n += (s.bytes + 15) &^ 15
	}
	return n
}

// Op appends an instruction: op, then its operands (registers, Imm,
// FImm, Addr, Sym, Vec, int).
func (k *Kernel) Op(op string, args ...any) {
	k.body = append(k.body, "\t"+op+" "+joinOperands(args)+";")
}

// If appends an instruction guarded by predicate p (or by !p when neg).
func (k *Kernel) If(p Reg, neg bool, op string, args ...any) {
	g := "@" + p.String()
	if neg {
		g = "@!" + p.String()
	}
	k.body = append(k.body, "\t"+g+" "+op+" "+joinOperands(args)+";")
}

// Comment appends a comment line.
func (k *Kernel) Comment(format string, args ...any) {
	k.body = append(k.body, "\t// "+fmt.Sprintf(format, args...))
}

// NewLabel returns a fresh label; Place puts it at the current position.
func (k *Kernel) NewLabel() Sym {
	k.labels++
	return Sym(fmt.Sprintf("$L%d", k.labels))
}

// Place marks the current position with label l.
func (k *Kernel) Place(l Sym) { k.body = append(k.body, string(l)+":") }

func joinOperands(args []any) string {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = operand(a)
	}
	return strings.Join(s, ", ")
}

// render writes the kernel's .entry.
func (k *Kernel) render(sb *strings.Builder) {
	fmt.Fprintf(sb, ".visible .entry %s(\n", k.Name)
	for i, p := range k.Params {
		sep := ","
		if i == len(k.Params)-1 {
			sep = ""
		}
		fmt.Fprintf(sb, "\t.param %s %s%s\n", p.Type, p.Name, sep)
	}
	fmt.Fprintf(sb, ")\n.maxntid %d, 1, 1\n", k.Threads)
	if k.MinBlocks > 0 {
		fmt.Fprintf(sb, ".minnctapersm %d\n", k.MinBlocks)
	}
	sb.WriteString("{\n")
	for c := Class(0); c < numClasses; c++ {
		if k.nreg[c] > 0 {
			fmt.Fprintf(sb, "\t.reg %s %s<%d>;\n", classType[c], classPrefix[c], k.nreg[c])
		}
	}
	for _, s := range k.shared {
		fmt.Fprintf(sb, "\t.shared .align 16 .b8 %s[%d];\n", s.name, s.bytes)
	}
	for _, l := range k.body {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	sb.WriteString("\tret;\n}\n")
}

// Module is a set of kernels rendered as one PTX file per target.
type Module struct {
	kernels map[string]*Kernel
}

// Add adds k unless a kernel of that name is already there (kernel names
// encode everything the code depends on, so equal names are equal code).
func (m *Module) Add(k *Kernel) {
	if m.kernels == nil {
		m.kernels = map[string]*Kernel{}
	}
	if _, ok := m.kernels[k.Name]; !ok {
		m.kernels[k.Name] = k
	}
}

// Kernel returns the kernel named name, or nil.
func (m *Module) Kernel(name string) *Kernel { return m.kernels[name] }

// Names lists the kernels, sorted.
func (m *Module) Names() []string {
	names := make([]string, 0, len(m.kernels))
	for n := range m.kernels {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Render writes the module for target (sm_80 or sm_90), kernels sorted
// by name, so equal modules render to equal bytes.
func (m *Module) Render(target string) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, "// Generated by modelc. DO NOT EDIT.\n.version %s\n.target %s\n.address_size 64\n", Version, target)
	for _, n := range m.Names() {
		sb.WriteByte('\n')
		m.kernels[n].render(&sb)
	}
	return []byte(sb.String())
}
