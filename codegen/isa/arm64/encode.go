package arm64

// This file encodes the NEON instructions the kernels use that Go's
// arm64 assembler (Go 1.26) does not know: vector floating-point
// arithmetic (FADD, FMUL, FMAX, FDIV, … on .4S), the multiply-adds by
// element (FMLA, FMLS, FMUL with a lane of the second source, the step of
// every NEON GEMM microkernel), the conversions and rounding the exp
// polynomial needs, and the signed shift. Func.Encode appends the word as
// a WORD directive with the instruction, as GNU as reads it, in a
// comment. TestEncodingsMatchBinutils checks every form against GNU as
// for aarch64 (binutils-aarch64-linux-gnu) and objdump; docs/arm64-encodings.md
// has the list.

import "fmt"

// EncOp is an instruction Func.Encode can encode; all work on four
// single-precision (or 32-bit integer) lanes.
type EncOp int

const (
	FADD   EncOp = iota // dst = a + b
	FSUB                // dst = a − b
	FMUL                // dst = a · b
	FDIV                // dst = a / b
	FMAX                // dst = max(a, b), NaN if either is NaN
	FMIN                // dst = min(a, b), NaN if either is NaN
	FADDP               // dst = pairwise sums of a then b
	FMAXP               // dst = pairwise maxima of a then b
	FSQRT               // dst = √a
	FNEG                // dst = −a
	FRINTM              // dst = floor(a)
	FCVTZS              // dst = int32(a), toward zero
	SCVTF               // dst = float32(a), a as int32
	FMLAE               // dst += a · b.S[i]
	FMLSE               // dst −= a · b.S[i]
	FMULE               // dst = a · b.S[i]
	SSHR                // dst = a >> n, arithmetic, 32-bit lanes
	SHL                 // dst = a << n, 32-bit lanes
	numEncOps
)

type encKind int

const (
	three   encKind = iota // Rd, Rn, Rm
	two                    // Rd, Rn
	element                // Rd, Rn, Rm.S[i]
	shift                  // Rd, Rn, #n
)

var encForms = [numEncOps]struct {
	name string // GNU as mnemonic
	kind encKind
	base uint32
}{
	FADD:   {"fadd", three, 0x4e20d400},
	FSUB:   {"fsub", three, 0x4ea0d400},
	FMUL:   {"fmul", three, 0x6e20dc00},
	FDIV:   {"fdiv", three, 0x6e20fc00},
	FMAX:   {"fmax", three, 0x4e20f400},
	FMIN:   {"fmin", three, 0x4ea0f400},
	FADDP:  {"faddp", three, 0x6e20d400},
	FMAXP:  {"fmaxp", three, 0x6e20f400},
	FSQRT:  {"fsqrt", two, 0x6ea1f800},
	FNEG:   {"fneg", two, 0x6ea0f800},
	FRINTM: {"frintm", two, 0x4e219800},
	FCVTZS: {"fcvtzs", two, 0x4ea1b800},
	SCVTF:  {"scvtf", two, 0x4e21d800},
	FMLAE:  {"fmla", element, 0x4f801000},
	FMLSE:  {"fmls", element, 0x4f805000},
	FMULE:  {"fmul", element, 0x4f809000},
	SSHR:   {"sshr", shift, 0x4f000400},
	SHL:    {"shl", shift, 0x4f005400},
}

func (op EncOp) String() string {
	if op < 0 || op >= numEncOps {
		return fmt.Sprintf("EncOp(%d)", int(op))
	}
	return encForms[op].name
}

// Encode returns the word of op and the instruction as GNU as reads it.
// Operands, in Plan 9 order as for the other methods, are the sources
// then the destination: three-register forms take (b, a, dst) for dst =
// a op b, two-register forms (a, dst), by-element forms (b.S[i], a, dst)
// and shifts (n, a, dst).
func Encode(op EncOp, ops ...Operand) (uint32, string, error) {
	if op < 0 || op >= numEncOps {
		return 0, "", fmt.Errorf("arm64: encode: unknown op %d", int(op))
	}
	f := encForms[op]
	reg := func(o Operand) (uint32, bool) {
		a, ok := o.(Arr)
		if !ok || a.Arr != "S4" {
			return 0, false
		}
		return uint32(a.V), true
	}
	want := map[encKind]int{three: 3, two: 2, element: 3, shift: 3}[f.kind]
	if len(ops) != want {
		return 0, "", fmt.Errorf("arm64: %s takes %d operands, got %d", f.name, want, len(ops))
	}
	d, ok := reg(ops[len(ops)-1])
	if !ok {
		return 0, "", fmt.Errorf("arm64: %s: the destination must be a .S4 register", f.name)
	}
	var w uint32
	var text string
	switch f.kind {
	case three:
		m, ok1 := reg(ops[0])
		n, ok2 := reg(ops[1])
		if !ok1 || !ok2 {
			return 0, "", fmt.Errorf("arm64: %s: sources must be .S4 registers", f.name)
		}
		w = f.base | m<<16 | n<<5 | d
		text = fmt.Sprintf("%s v%d.4s, v%d.4s, v%d.4s", f.name, d, n, m)
	case two:
		n, ok := reg(ops[0])
		if !ok {
			return 0, "", fmt.Errorf("arm64: %s: the source must be a .S4 register", f.name)
		}
		w = f.base | n<<5 | d
		text = fmt.Sprintf("%s v%d.4s, v%d.4s", f.name, d, n)
	case element:
		e, ok1 := ops[0].(Elem)
		n, ok2 := reg(ops[1])
		if !ok1 || e.Size != 'S' || !ok2 {
			return 0, "", fmt.Errorf("arm64: %s: want a .S[i] element and a .S4 register", f.name)
		}
		m, i := uint32(e.V), uint32(e.Index)
		if m > 31 || i > 3 {
			return 0, "", fmt.Errorf("arm64: %s: element V%d.S[%d] out of range", f.name, m, i)
		}
		w = f.base | (i&1)<<21 | (m>>4)<<20 | (m&15)<<16 | (i>>1)<<11 | n<<5 | d
		text = fmt.Sprintf("%s v%d.4s, v%d.4s, v%d.s[%d]", f.name, d, n, m, i)
	case shift:
		sh, ok1 := ops[0].(Imm)
		n, ok2 := reg(ops[1])
		if !ok1 || !ok2 {
			return 0, "", fmt.Errorf("arm64: %s: want an immediate and a .S4 register", f.name)
		}
		var enc int64
		if op == SSHR {
			if sh < 1 || sh > 32 {
				return 0, "", fmt.Errorf("arm64: sshr: shift %d not in 1–32", sh)
			}
			enc = 64 - int64(sh)
		} else {
			if sh < 0 || sh > 31 {
				return 0, "", fmt.Errorf("arm64: shl: shift %d not in 0–31", sh)
			}
			enc = 32 + int64(sh)
		}
		w = f.base | uint32(enc)<<16 | n<<5 | d
		text = fmt.Sprintf("%s v%d.4s, v%d.4s, #%d", f.name, d, n, sh)
	}
	return w, text, nil
}

// Encode appends op to the function as a WORD directive; it panics on
// operands the form cannot take: the generator, not its input, is wrong.
func (f *Func) Encode(op EncOp, ops ...Operand) {
	w, text, err := Encode(op, ops...)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	f.lines = append(f.lines, line{raw: true, word: w, comment: text})
}
