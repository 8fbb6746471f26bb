package arm64

// This file encodes the NEON instructions the kernels use that Go's
// arm64 assembler (Go 1.26) does not know: vector floating-point
// arithmetic (FADD, FMUL, FMAX, FDIV, … on .4S), the multiply-adds by
// element (FMLA, FMLS, FMUL with a lane of the second source, the step of
// every NEON GEMM microkernel), the conversions and rounding the exp
// polynomial needs, the signed shift, and the integer forms of the int8
// kernels (the dot products SDOT/UDOT of ARMv8.2's dotprod, the widening
// multiply-adds SMULL/SMLAL of ARMv8.0, pairwise accumulation, narrowing
// with saturation, the rounding shift and doubling multiply of
// requantization). Func.Encode appends the word as
// a WORD directive with the instruction, as GNU as reads it, in a
// comment. TestEncodingsMatchBinutils checks every form against GNU as
// for aarch64 (binutils-aarch64-linux-gnu) and objdump; docs/arm64-encodings.md
// has the list.

import (
	"fmt"
	"strings"
)

// EncOp is an instruction Func.Encode can encode, in one arrangement:
// the floating-point forms work on four single-precision (or 32-bit
// integer) lanes; each integer form names the arrangements it takes.
type EncOp int

const (
	FADD     EncOp = iota // dst = a + b
	FSUB                  // dst = a − b
	FMUL                  // dst = a · b
	FDIV                  // dst = a / b
	FMAX                  // dst = max(a, b), NaN if either is NaN
	FMIN                  // dst = min(a, b), NaN if either is NaN
	FADDP                 // dst = pairwise sums of a then b
	FMAXP                 // dst = pairwise maxima of a then b
	FSQRT                 // dst = √a
	FNEG                  // dst = −a
	FRINTM                // dst = floor(a)
	FCVTZS                // dst = int32(a), toward zero
	SCVTF                 // dst = float32(a), a as int32
	FMLAE                 // dst += a · b.S[i]
	FMLSE                 // dst −= a · b.S[i]
	FMULE                 // dst = a · b.S[i]
	SSHR                  // dst = a >> n, arithmetic, 32-bit lanes
	SHL                   // dst = a << n, 32-bit lanes
	SDOT                  // dst.4S += Σ of four a.16B·b.16B, signed
	UDOT                  // dst.4S += Σ of four a.16B·b.16B, unsigned
	SDOTE                 // dst.4S += Σ of four a.16B·b.4B[i], signed
	UDOTE                 // dst.4S += Σ of four a.16B·b.4B[i], unsigned
	SMULL                 // dst.8H = a.8B · b.8B (low halves), signed
	SMULL2                // dst.8H = a.16B · b.16B (high halves), signed
	SMLAL                 // dst.8H += a.8B · b.8B (low halves), signed
	SMLAL2                // dst.8H += a.16B · b.16B (high halves), signed
	SADALP                // dst.4S += pairwise sums of a.8H, signed
	SXTLB                 // dst.8H = a.8B widened, signed
	SXTLB2                // dst.8H = a.16B's high half widened, signed
	SXTLH                 // dst.4S = a.4H widened, signed
	SXTLH2                // dst.4S = a.8H's high half widened, signed
	SQXTN                 // dst.4H = a.4S narrowed with signed saturation
	SQXTN2                // dst.8H's high half = a.4S narrowed, saturating
	SQXTNB                // dst.8B = a.8H narrowed with signed saturation
	SQXTNB2               // dst.16B's high half = a.8H narrowed, saturating
	SQXTUNB               // dst.8B = a.8H narrowed to unsigned, saturating
	SQXTUNB2              // dst.16B's high half = a.8H narrowed to unsigned
	SRSHL                 // dst.4S = a shifted by b's lanes, rounding (b < 0: right)
	SQRDMULH              // dst.4S = (2·a·b + 2³¹) >> 32, saturating
	numEncOps
)

type encKind int

const (
	three   encKind = iota // Rd, Rn, Rm
	two                    // Rd, Rn
	element                // Rd, Rn, Rm.S[i]
	shift                  // Rd, Rn, #n
)

// encForm is one instruction form: its mnemonic, operand kind, the word
// with every register field zero, and the arrangements of the
// destination and the sources (empty: S4). By-element forms read their
// element's lane size from elem: 'S' for a single, '4' for a group of
// four bytes (the dot products' b.4B[i]).
type encForm struct {
	name    string // GNU as mnemonic
	kind    encKind
	base    uint32
	d, n, m string
	elem    byte
}

var encForms = [numEncOps]encForm{
	FADD:   {name: "fadd", kind: three, base: 0x4e20d400},
	FSUB:   {name: "fsub", kind: three, base: 0x4ea0d400},
	FMUL:   {name: "fmul", kind: three, base: 0x6e20dc00},
	FDIV:   {name: "fdiv", kind: three, base: 0x6e20fc00},
	FMAX:   {name: "fmax", kind: three, base: 0x4e20f400},
	FMIN:   {name: "fmin", kind: three, base: 0x4ea0f400},
	FADDP:  {name: "faddp", kind: three, base: 0x6e20d400},
	FMAXP:  {name: "fmaxp", kind: three, base: 0x6e20f400},
	FSQRT:  {name: "fsqrt", kind: two, base: 0x6ea1f800},
	FNEG:   {name: "fneg", kind: two, base: 0x6ea0f800},
	FRINTM: {name: "frintm", kind: two, base: 0x4e219800},
	FCVTZS: {name: "fcvtzs", kind: two, base: 0x4ea1b800},
	SCVTF:  {name: "scvtf", kind: two, base: 0x4e21d800},
	FMLAE:  {name: "fmla", kind: element, base: 0x4f801000},
	FMLSE:  {name: "fmls", kind: element, base: 0x4f805000},
	FMULE:  {name: "fmul", kind: element, base: 0x4f809000},
	SSHR:   {name: "sshr", kind: shift, base: 0x4f000400},
	SHL:    {name: "shl", kind: shift, base: 0x4f005400},

	SDOT:     {name: "sdot", kind: three, base: 0x4e809400, n: "B16", m: "B16"},
	UDOT:     {name: "udot", kind: three, base: 0x6e809400, n: "B16", m: "B16"},
	SDOTE:    {name: "sdot", kind: element, base: 0x4f80e000, n: "B16", elem: '4'},
	UDOTE:    {name: "udot", kind: element, base: 0x6f80e000, n: "B16", elem: '4'},
	SMULL:    {name: "smull", kind: three, base: 0x0e20c000, d: "H8", n: "B8", m: "B8"},
	SMULL2:   {name: "smull2", kind: three, base: 0x4e20c000, d: "H8", n: "B16", m: "B16"},
	SMLAL:    {name: "smlal", kind: three, base: 0x0e208000, d: "H8", n: "B8", m: "B8"},
	SMLAL2:   {name: "smlal2", kind: three, base: 0x4e208000, d: "H8", n: "B16", m: "B16"},
	SADALP:   {name: "sadalp", kind: two, base: 0x4e606800, n: "H8"},
	SXTLB:    {name: "sxtl", kind: two, base: 0x0f08a400, d: "H8", n: "B8"},
	SXTLB2:   {name: "sxtl2", kind: two, base: 0x4f08a400, d: "H8", n: "B16"},
	SXTLH:    {name: "sxtl", kind: two, base: 0x0f10a400, n: "H4"},
	SXTLH2:   {name: "sxtl2", kind: two, base: 0x4f10a400, n: "H8"},
	SQXTN:    {name: "sqxtn", kind: two, base: 0x0e614800, d: "H4"},
	SQXTN2:   {name: "sqxtn2", kind: two, base: 0x4e614800, d: "H8"},
	SQXTNB:   {name: "sqxtn", kind: two, base: 0x0e214800, d: "B8", n: "H8"},
	SQXTNB2:  {name: "sqxtn2", kind: two, base: 0x4e214800, d: "B16", n: "H8"},
	SQXTUNB:  {name: "sqxtun", kind: two, base: 0x2e212800, d: "B8", n: "H8"},
	SQXTUNB2: {name: "sqxtun2", kind: two, base: 0x6e212800, d: "B16", n: "H8"},
	SRSHL:    {name: "srshl", kind: three, base: 0x4ea05400},
	SQRDMULH: {name: "sqrdmulh", kind: three, base: 0x6ea0b400},
}

// arrs returns the form's arrangements of the destination and the two
// sources, S4 where the form leaves one empty.
func (f encForm) arrs() (d, n, m string) {
	or := func(a string) string {
		if a == "" {
			return "S4"
		}
		return a
	}
	return or(f.d), or(f.n), or(f.m)
}

// gnuArr is an arrangement as GNU as writes it: S4 is 4s, B16 is 16b.
func gnuArr(a string) string {
	return strings.ToLower(a[1:] + a[:1])
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
	da, na, ma := f.arrs()
	reg := func(o Operand, want string) (uint32, bool) {
		a, ok := o.(Arr)
		if !ok || a.Arr != want {
			return 0, false
		}
		return uint32(a.V), true
	}
	want := map[encKind]int{three: 3, two: 2, element: 3, shift: 3}[f.kind]
	if len(ops) != want {
		return 0, "", fmt.Errorf("arm64: %s takes %d operands, got %d", f.name, want, len(ops))
	}
	d, ok := reg(ops[len(ops)-1], da)
	if !ok {
		return 0, "", fmt.Errorf("arm64: %s: the destination must be a .%s register", f.name, da)
	}
	var w uint32
	var text string
	switch f.kind {
	case three:
		m, ok1 := reg(ops[0], ma)
		n, ok2 := reg(ops[1], na)
		if !ok1 || !ok2 {
			return 0, "", fmt.Errorf("arm64: %s: sources must be .%s and .%s registers", f.name, na, ma)
		}
		w = f.base | m<<16 | n<<5 | d
		text = fmt.Sprintf("%s v%d.%s, v%d.%s, v%d.%s", f.name, d, gnuArr(da), n, gnuArr(na), m, gnuArr(ma))
	case two:
		n, ok := reg(ops[0], na)
		if !ok {
			return 0, "", fmt.Errorf("arm64: %s: the source must be a .%s register", f.name, na)
		}
		w = f.base | n<<5 | d
		text = fmt.Sprintf("%s v%d.%s, v%d.%s", f.name, d, gnuArr(da), n, gnuArr(na))
	case element:
		elem := f.elem
		if elem == 0 {
			elem = 'S'
		}
		e, ok1 := ops[0].(Elem)
		n, ok2 := reg(ops[1], na)
		if !ok1 || e.Size != elem || !ok2 {
			return 0, "", fmt.Errorf("arm64: %s: want a %s element and a .%s register", f.name, elemName(elem), na)
		}
		m, i := uint32(e.V), uint32(e.Index)
		if m > 31 || i > 3 {
			return 0, "", fmt.Errorf("arm64: %s: element V%d[%d] out of range", f.name, m, i)
		}
		w = f.base | (i&1)<<21 | (m>>4)<<20 | (m&15)<<16 | (i>>1)<<11 | n<<5 | d
		lane := "s"
		if elem == '4' {
			lane = "4b"
		}
		text = fmt.Sprintf("%s v%d.%s, v%d.%s, v%d.%s[%d]", f.name, d, gnuArr(da), n, gnuArr(na), m, lane, i)
	case shift:
		sh, ok1 := ops[0].(Imm)
		n, ok2 := reg(ops[1], na)
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

func elemName(size byte) string {
	if size == '4' {
		return ".4B[i]"
	}
	return ".S[i]"
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
