package ptxvm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Module is a parsed PTX module: its kernels by name.
type Module struct {
	Version, Target string
	Kernels         map[string]*Kernel
}

// Kernel is one parsed .entry, ready to run.
type Kernel struct {
	Name    string
	Params  []param
	MaxNTid int
	regs    map[string]int // "%r3" → index in a thread's register file
	nregs   int
	shared  map[string]int // array name → byte offset in the block's shared memory
	smem    int
	code    []inst
	labels  map[string]int
}

type param struct {
	name string
	size int // bytes: 4 (.u32) or 8 (.u64)
	off  int // offset in the parameter block
}

// Parse reads a module in the subset of PTX modelc emits (PTX ISA 7.8):
// anything else is an error naming the line.
func Parse(src string) (*Module, error) {
	m := &Module{Kernels: map[string]*Kernel{}}
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		line := clean(lines[i])
		switch {
		case line == "":
		case strings.HasPrefix(line, ".version "):
			m.Version = strings.TrimSpace(line[len(".version "):])
		case strings.HasPrefix(line, ".target "):
			m.Target = strings.TrimSpace(line[len(".target "):])
		case strings.HasPrefix(line, ".address_size "):
			if strings.TrimSpace(line[len(".address_size "):]) != "64" {
				return nil, fmt.Errorf("line %d: only .address_size 64 is supported", i+1)
			}
		case strings.HasPrefix(line, ".visible .entry "):
			k, next, err := parseKernel(lines, i)
			if err != nil {
				return nil, err
			}
			m.Kernels[k.Name] = k
			i = next
		default:
			return nil, fmt.Errorf("line %d: unexpected %q", i+1, line)
		}
	}
	return m, nil
}

func clean(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// parseKernel reads the .entry starting at line i and returns the index of
// its closing brace.
func parseKernel(lines []string, i int) (*Kernel, int, error) {
	head := clean(lines[i])
	name := strings.TrimSuffix(strings.TrimPrefix(head, ".visible .entry "), "(")
	k := &Kernel{Name: name, regs: map[string]int{}, shared: map[string]int{}, labels: map[string]int{}}
	off := 0
	for i++; i < len(lines); i++ {
		l := strings.TrimSuffix(clean(lines[i]), ",")
		if l == ")" {
			break
		}
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != ".param" {
			return nil, 0, fmt.Errorf("line %d: bad parameter %q", i+1, l)
		}
		size := map[string]int{".u64": 8, ".u32": 4, ".s32": 4, ".f32": 4}[f[1]]
		if size == 0 {
			return nil, 0, fmt.Errorf("line %d: parameter type %s", i+1, f[1])
		}
		off = (off + size - 1) / size * size
		k.Params = append(k.Params, param{name: f[2], size: size, off: off})
		off += size
	}
	var body []string
	var bodyLine []int
	for i++; i < len(lines); i++ {
		l := clean(lines[i])
		switch {
		case l == "" || l == "{":
		case strings.HasPrefix(l, ".maxntid "):
			n, err := strconv.Atoi(strings.TrimSpace(strings.Split(l[len(".maxntid "):], ",")[0]))
			if err != nil {
				return nil, 0, fmt.Errorf("line %d: %v", i+1, err)
			}
			k.MaxNTid = n
		case strings.HasPrefix(l, ".minnctapersm "):
			// A register-allocation hint for ptxas: nothing to interpret.
		case l == "}":
			if err := k.assemble(body, bodyLine); err != nil {
				return nil, 0, fmt.Errorf("kernel %s: %w", k.Name, err)
			}
			return k, i, nil
		case strings.HasPrefix(l, ".reg "):
			// .reg .b32 %r<12>;
			f := strings.Fields(strings.TrimSuffix(l, ";"))
			if len(f) != 3 {
				return nil, 0, fmt.Errorf("line %d: bad .reg %q", i+1, l)
			}
			lt := strings.Index(f[2], "<")
			if lt < 0 || !strings.HasSuffix(f[2], ">") {
				return nil, 0, fmt.Errorf("line %d: bad .reg %q", i+1, l)
			}
			n, err := strconv.Atoi(f[2][lt+1 : len(f[2])-1])
			if err != nil {
				return nil, 0, fmt.Errorf("line %d: %v", i+1, err)
			}
			for j := range n {
				k.regs[fmt.Sprintf("%s%d", f[2][:lt], j)] = k.nregs
				k.nregs++
			}
		case strings.HasPrefix(l, ".shared "):
			// .shared .align 16 .b8 name[bytes];
			f := strings.Fields(strings.TrimSuffix(l, ";"))
			decl := f[len(f)-1]
			lb := strings.Index(decl, "[")
			if lb < 0 || f[len(f)-2] != ".b8" {
				return nil, 0, fmt.Errorf("line %d: bad .shared %q", i+1, l)
			}
			n, err := strconv.Atoi(strings.TrimSuffix(decl[lb+1:], "]"))
			if err != nil {
				return nil, 0, fmt.Errorf("line %d: %v", i+1, err)
			}
			k.smem = (k.smem + 15) &^ 15
			k.shared[decl[:lb]] = k.smem
			k.smem += n
		default:
			body = append(body, l)
			bodyLine = append(bodyLine, i+1)
		}
	}
	return nil, 0, fmt.Errorf("kernel %s: no closing brace", name)
}

// operand kinds
const (
	opReg = iota
	opImm
	opMem
	opVec
	opSym
)

type operand struct {
	kind int
	reg  int    // register index (opReg, or opMem's base when baseReg)
	imm  uint64 // opImm's bits; opMem's offset
	// opMem: base register, or a symbol (a parameter or a shared array)
	baseReg bool
	sym     string
	vec     []int // opVec's registers
	text    string
}

func (k *Kernel) parseOperand(s string) (operand, error) {
	s = strings.TrimSpace(s)
	o := operand{text: s}
	switch {
	case s == "":
		return o, fmt.Errorf("empty operand")
	case strings.HasPrefix(s, "{"):
		o.kind = opVec
		for _, r := range strings.Split(strings.Trim(s, "{}"), ",") {
			idx, ok := k.regs[strings.TrimSpace(r)]
			if !ok {
				return o, fmt.Errorf("unknown register %q", r)
			}
			o.vec = append(o.vec, idx)
		}
	case strings.HasPrefix(s, "["):
		o.kind = opMem
		inner := strings.Trim(s, "[]")
		if inner == "" {
			return o, fmt.Errorf("empty address %q", s)
		}
		base, off := inner, "0"
		if j := strings.IndexAny(inner[1:], "+-"); j >= 0 {
			base, off = inner[:j+1], inner[j+1:]
		}
		v, err := strconv.ParseInt(strings.TrimPrefix(off, "+"), 0, 64)
		if err != nil {
			return o, fmt.Errorf("bad offset in %q", s)
		}
		o.imm = uint64(v)
		if idx, ok := k.regs[base]; ok {
			o.baseReg, o.reg = true, idx
		} else {
			o.sym = base
		}
	case strings.HasPrefix(s, "%"):
		if idx, ok := k.regs[s]; ok {
			o.kind, o.reg = opReg, idx
		} else {
			o.kind, o.sym = opSym, s // a special register
		}
	case strings.HasPrefix(s, "0f") || strings.HasPrefix(s, "0F"):
		v, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return o, fmt.Errorf("bad float %q", s)
		}
		o.kind, o.imm = opImm, v
	case s[0] == '-' || (s[0] >= '0' && s[0] <= '9'):
		v, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			u, err2 := strconv.ParseUint(s, 0, 64)
			if err2 != nil {
				return o, fmt.Errorf("bad integer %q", s)
			}
			v = int64(u)
		}
		o.kind, o.imm = opImm, uint64(v)
	default:
		o.kind, o.sym = opSym, s
	}
	return o, nil
}

// splitOperands splits on commas outside braces.
func splitOperands(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

func f32bits(v float32) uint64 { return uint64(math.Float32bits(v)) }
func bitsf32(b uint64) float32 { return math.Float32frombits(uint32(b)) }
