package amd64

// This file encodes the few x86 instructions that Go's assembler (Go
// 1.26) does not know, so that a kernel can still use them: Func.Encode
// appends the machine code as BYTE directives with the instruction, in
// Intel syntax as GNU as reads it, in a trailing comment. The package
// comment lists what Go lacks; docs/x86-encodings.md has the longer
// story and how the bytes are checked.
//
// The encoder is one table of forms (encForms) and two prefix builders,
// VEX and EVEX, sharing one ModRM/SIB/displacement writer. It covers only
// what the table lists: three-operand "dst += f(src1, src2)" forms and
// one-source conversions with the second source (ModRM.rm) a register or
// a memory reference; nothing here is needed by Go-encodable code.

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// EncOp is an instruction Func.Encode can encode. Bcst and Z add Go's
// .BCST and .Z suffixes.
type EncOp uint16

// The encodable instructions. The Vex… ones are the AVX-VNNI (VEX)
// forms of instructions Go's assembler only encodes with EVEX, which
// needs AVX512-VNNI and AVX512VL; CPUs with AVX-VNNI but no AVX-512
// (Alder Lake and later client cores) only run the VEX form.
const (
	VexVPDPBUSD    EncOp = iota // AVX-VNNI: dword += Σ4 u8×s8
	VexVPDPBUSDS                // AVX-VNNI: as VPDPBUSD, saturating
	VexVPDPWSSD                 // AVX-VNNI: dword += Σ2 s16×s16
	VexVPDPWSSDS                // AVX-VNNI: as VPDPWSSD, saturating
	VPDPBSSD                    // AVX-VNNI-INT8: dword += Σ4 s8×s8
	VPDPBSSDS                   // AVX-VNNI-INT8: saturating
	VPDPBSUD                    // AVX-VNNI-INT8: dword += Σ4 s8(src1)×u8(src2)
	VPDPBSUDS                   // AVX-VNNI-INT8: saturating
	VPDPBUUD                    // AVX-VNNI-INT8: dword += Σ4 u8×u8
	VPDPBUUDS                   // AVX-VNNI-INT8: saturating
	VDPBF16PS                   // AVX512-BF16: fp32 += Σ2 bf16×bf16
	VCVTNE2PS2BF16              // AVX512-BF16: two fp32 vectors → one bf16 vector
	VCVTNEPS2BF16X              // AVX512-BF16: 4 fp32 (X or m128) → 4 bf16 in X
	VCVTNEPS2BF16Y              // AVX512-BF16: 8 fp32 (Y or m256) → 8 bf16 in X
	VCVTNEPS2BF16               // AVX512-BF16: 16 fp32 (Z or m512) → 16 bf16 in Y
	numEncOps
)

const (
	bcstFlag EncOp = 1 << 14
	zeroFlag EncOp = 1 << 15
)

// Bcst makes the memory operand a broadcast element ({1toN}, Go's .BCST).
func (op EncOp) Bcst() EncOp { return op | bcstFlag }

// Z zeroes the lanes the mask clears instead of keeping them ({z}, Go's .Z).
func (op EncOp) Z() EncOp { return op | zeroFlag }

func (op EncOp) String() string {
	f := encForms[op&^(bcstFlag|zeroFlag)]
	s := f.name
	if op&bcstFlag != 0 {
		s += ".BCST"
	}
	if op&zeroFlag != 0 {
		s += ".Z"
	}
	return s
}

// encForm is one row of the encoding table: the fields of the SDM's
// opcode column ("VEX.256.66.0F38.W0 50 /r") plus what the operands may be.
type encForm struct {
	name    string // the EncOp's name
	intel   string // mnemonic as GNU as reads it; "{vex} " picks VEX where EVEX exists too
	feature string // CPUID feature, as the SDM names it
	evex    bool
	pp      byte // implied prefix: 0 none, 1 66, 2 F3, 3 F2
	mmm     byte // opcode map: 1 0F, 2 0F38, 3 0F3A
	w       byte
	opcode  byte
	unary   bool // one source: VEX.vvvv / EVEX.vvvv unused (all ones)
	vl      int  // source vector length in bits; 0: the destination's
	bcst    int  // broadcast element size in bytes; 0: no {1toN} form
}

var encForms = [numEncOps]encForm{
	VexVPDPBUSD:    {name: "VexVPDPBUSD", intel: "{vex} vpdpbusd", feature: "AVX-VNNI", pp: 1, mmm: 2, opcode: 0x50},
	VexVPDPBUSDS:   {name: "VexVPDPBUSDS", intel: "{vex} vpdpbusds", feature: "AVX-VNNI", pp: 1, mmm: 2, opcode: 0x51},
	VexVPDPWSSD:    {name: "VexVPDPWSSD", intel: "{vex} vpdpwssd", feature: "AVX-VNNI", pp: 1, mmm: 2, opcode: 0x52},
	VexVPDPWSSDS:   {name: "VexVPDPWSSDS", intel: "{vex} vpdpwssds", feature: "AVX-VNNI", pp: 1, mmm: 2, opcode: 0x53},
	VPDPBSSD:       {name: "VPDPBSSD", intel: "vpdpbssd", feature: "AVX-VNNI-INT8", pp: 3, mmm: 2, opcode: 0x50},
	VPDPBSSDS:      {name: "VPDPBSSDS", intel: "vpdpbssds", feature: "AVX-VNNI-INT8", pp: 3, mmm: 2, opcode: 0x51},
	VPDPBSUD:       {name: "VPDPBSUD", intel: "vpdpbsud", feature: "AVX-VNNI-INT8", pp: 2, mmm: 2, opcode: 0x50},
	VPDPBSUDS:      {name: "VPDPBSUDS", intel: "vpdpbsuds", feature: "AVX-VNNI-INT8", pp: 2, mmm: 2, opcode: 0x51},
	VPDPBUUD:       {name: "VPDPBUUD", intel: "vpdpbuud", feature: "AVX-VNNI-INT8", pp: 0, mmm: 2, opcode: 0x50},
	VPDPBUUDS:      {name: "VPDPBUUDS", intel: "vpdpbuuds", feature: "AVX-VNNI-INT8", pp: 0, mmm: 2, opcode: 0x51},
	VDPBF16PS:      {name: "VDPBF16PS", intel: "vdpbf16ps", feature: "AVX512-BF16", evex: true, pp: 2, mmm: 2, opcode: 0x52, bcst: 4},
	VCVTNE2PS2BF16: {name: "VCVTNE2PS2BF16", intel: "vcvtne2ps2bf16", feature: "AVX512-BF16", evex: true, pp: 3, mmm: 2, opcode: 0x72, bcst: 4},
	VCVTNEPS2BF16X: {name: "VCVTNEPS2BF16X", intel: "vcvtneps2bf16", feature: "AVX512-BF16", evex: true, pp: 2, mmm: 2, opcode: 0x72, bcst: 4, unary: true, vl: 128},
	VCVTNEPS2BF16Y: {name: "VCVTNEPS2BF16Y", intel: "vcvtneps2bf16", feature: "AVX512-BF16", evex: true, pp: 2, mmm: 2, opcode: 0x72, bcst: 4, unary: true, vl: 256},
	VCVTNEPS2BF16:  {name: "VCVTNEPS2BF16", intel: "vcvtneps2bf16", feature: "AVX512-BF16", evex: true, pp: 2, mmm: 2, opcode: 0x72, bcst: 4, unary: true, vl: 512},
}

// Feature returns the CPUID feature the instruction needs, as the SDM
// names it (AVX-VNNI, AVX-VNNI-INT8, AVX512-BF16; EVEX forms of 128 and
// 256 bits also need AVX512VL).
func (op EncOp) Feature() string { return encForms[op&^(bcstFlag|zeroFlag)].feature }

// Encode appends op to the function as machine code: one BYTE directive
// per byte, the instruction in Intel syntax in the comment. Operands are
// in Plan 9 order as for I: src2 (register or Mem), src1, an optional
// opmask K1–K7 (EVEX only), then the destination; one-source forms drop
// src1. Mem is a hardware address: (SP) is the real stack pointer, not
// Go's pseudo-register, and Arg is refused, since Go's assembler does not
// see inside the bytes to fix frame offsets. Encode panics on operands
// the form cannot take: the generator, not its input, is wrong.
func (f *Func) Encode(op EncOp, ops ...Operand) {
	code, intel, err := Encode(op, ops...)
	if err != nil {
		panic(err)
	}
	f.lines = append(f.lines, line{raw: code, comment: intel})
}

// Encode returns the machine code of op with its operands (in Plan 9
// order, as for Func.Encode) and the instruction in Intel syntax.
func Encode(op EncOp, ops ...Operand) (code []byte, intel string, err error) {
	base := op &^ (bcstFlag | zeroFlag)
	if base >= numEncOps {
		return nil, "", fmt.Errorf("asm: encode: unknown op %d", op)
	}
	code, intel, err = encForms[base].encode(op&bcstFlag != 0, op&zeroFlag != 0, ops)
	if err != nil {
		return nil, "", fmt.Errorf("asm: encode %v %s: %w", op, plan9List(ops), err)
	}
	return code, intel, nil
}

func plan9List(ops []Operand) string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = o.plan9()
	}
	return strings.Join(s, ", ")
}

func (f *encForm) encode(bcst, zero bool, ops []Operand) ([]byte, string, error) {
	nsrc := 2
	if f.unary {
		nsrc = 1
	}
	// Split the Plan 9 operand list: sources, [mask], destination.
	mask := 0
	if len(ops) == nsrc+2 {
		k, ok := ops[nsrc].(KReg)
		kc, kn, _ := regInfo(string(k))
		if !ok || kc != 'K' {
			return nil, "", fmt.Errorf("operand %d: want an opmask register", nsrc+1)
		}
		if !f.evex {
			return nil, "", fmt.Errorf("VEX forms take no opmask")
		}
		if kn == 0 {
			return nil, "", fmt.Errorf("K0 as a mask means no mask; leave it out")
		}
		mask = kn
		ops = append(append([]Operand{}, ops[:nsrc]...), ops[nsrc+1])
	}
	if len(ops) != nsrc+1 {
		return nil, "", fmt.Errorf("want %d operands", nsrc+1)
	}
	if zero && mask == 0 {
		return nil, "", fmt.Errorf(".Z needs an opmask")
	}

	// Vector length: from the destination, or fixed by the form (the
	// conversions narrow: their destination is half the source).
	dc, dn, ok := vecReg(ops[nsrc])
	if !ok {
		return nil, "", fmt.Errorf("destination: want a vector register")
	}
	vl, wantDst := f.vl, dc
	if vl == 0 {
		vl = vecBits[dc]
	} else {
		wantDst = 'X'
		if vl == 512 {
			wantDst = 'Y'
		}
	}
	srcClass := vecClass[vl]
	switch {
	case dc != wantDst:
		return nil, "", fmt.Errorf("destination: want a %c register", wantDst)
	case !f.evex && vl == 512:
		return nil, "", fmt.Errorf("VEX forms are 128 or 256 bits")
	}
	v := 0 // src1, VEX/EVEX.vvvv (+ EVEX.V')
	if !f.unary {
		c, n, ok := vecReg(ops[1])
		if !ok || c != srcClass {
			return nil, "", fmt.Errorf("src1: want a %c register", srcClass)
		}
		v = n
	}
	mem, isMem := ops[0].(Mem)
	rm := 0
	if !isMem {
		c, n, ok := vecReg(ops[0])
		if !ok || c != srcClass {
			return nil, "", fmt.Errorf("src2: want a %c register or memory", srcClass)
		}
		rm = n
	}
	if bcst && (!isMem || f.bcst == 0) {
		return nil, "", fmt.Errorf(".BCST needs a memory source and a form with {1toN}")
	}
	if !f.evex && (dn > 15 || v > 15 || rm > 15) {
		return nil, "", fmt.Errorf("VEX reaches registers 0–15 only")
	}

	// REX-like extension bits: R extends ModRM.reg (the destination), X
	// the SIB index, B ModRM.rm or the SIB base. EVEX adds R' (reg bit 4)
	// and, for a register in rm, reuses X as its bit 4.
	var x, b int
	if isMem {
		bn, err := gpr(mem.Base)
		if err != nil {
			return nil, "", fmt.Errorf("base: %w", err)
		}
		b = bn >> 3
		if mem.Index != "" {
			in, err := gpr(mem.Index)
			if err != nil {
				return nil, "", fmt.Errorf("index: %w", err)
			}
			x = in >> 3
		}
	} else {
		b, x = rm>>3&1, rm>>4
	}
	ll := map[int]byte{128: 0, 256: 1, 512: 2}[vl]
	inv := func(bit int) byte { return byte(^bit & 1) }
	var code []byte
	if f.evex {
		// 62 | R X B R' 0 mmm | W vvvv 1 pp | z L'L b V' aaa, the
		// register bits stored inverted as in VEX.
		p2 := ll<<5 | inv(v>>4)<<3 | byte(mask)
		if zero {
			p2 |= 0x80
		}
		if bcst {
			p2 |= 0x10
		}
		code = []byte{0x62,
			inv(dn>>3&1)<<7 | inv(x)<<6 | inv(b)<<5 | inv(dn>>4)<<4 | f.mmm,
			f.w<<7 | byte(^v&15)<<3 | 0x04 | f.pp,
			p2}
	} else {
		// C4 | R X B mmmmm | W vvvv L pp. The two-byte C5 form only
		// reaches map 0F, which no VEX form here uses.
		code = []byte{0xC4,
			inv(dn>>3)<<7 | inv(x)<<6 | inv(b)<<5 | f.mmm,
			f.w<<7 | byte(^v&15)<<3 | ll<<2 | f.pp}
	}
	code = append(code, f.opcode)

	intel := f.intel + " " + intelVec(dc, dn)
	if mask != 0 {
		intel += fmt.Sprintf("{k%d}", mask)
		if zero {
			intel += "{z}"
		}
	}
	if !f.unary {
		intel += ", " + intelVec(srcClass, v)
	}
	if !isMem {
		code = append(code, 0xC0|byte(dn&7)<<3|byte(rm&7))
		return code, intel + ", " + intelVec(srcClass, rm), nil
	}
	// EVEX compresses an 8-bit displacement by the memory operand's size
	// (disp8*N): the whole vector, or one element when broadcast.
	n := 1
	if f.evex {
		n = vl / 8
		if bcst {
			n = f.bcst
		}
	}
	code, err := appendMem(code, dn&7, mem, n)
	if err != nil {
		return nil, "", err
	}
	size := map[int]string{128: "xmmword", 256: "ymmword", 512: "zmmword"}[vl]
	m := intelMem(mem)
	if bcst {
		size = "dword"
		m += fmt.Sprintf("{1to%d}", vl/(8*f.bcst))
	}
	return code, intel + ", " + size + " ptr " + m, nil
}

// appendMem appends ModRM, SIB and displacement for reg and m; n is the
// disp8 scale (1 for VEX).
func appendMem(code []byte, reg int, m Mem, n int) ([]byte, error) {
	base, _ := gpr(m.Base)
	var mod byte
	var disp []byte
	switch d := m.Disp; {
	case d == 0 && base&7 != 5:
		// RBP and R13 in a base field with mod 00 mean "no base, disp32"
		// (RIP-relative without a SIB), so they take a zero disp8 below.
		mod = 0
	case d%n == 0 && d/n >= -128 && d/n <= 127:
		mod, disp = 1, []byte{byte(int8(d / n))}
	case d >= -1<<31 && d < 1<<31:
		mod, disp = 2, binary.LittleEndian.AppendUint32(nil, uint32(int32(d)))
	default:
		return nil, fmt.Errorf("displacement %d does not fit 32 bits", d)
	}
	if m.Index == "" && base&7 != 4 {
		code = append(code, mod<<6|byte(reg)<<3|byte(base&7))
	} else {
		// RSP and R12 in ModRM.rm mean "a SIB byte follows", so they are
		// always addressed through one, with index 100 (none) if unindexed.
		idx, scale := 4, 0
		if m.Index != "" {
			idx, _ = gpr(m.Index)
			if idx == 4 {
				return nil, fmt.Errorf("SP cannot be an index")
			}
			scale = map[int]int{1: 0, 2: 1, 4: 2, 8: 3}[m.Scale]
			if m.Scale != 1<<scale {
				return nil, fmt.Errorf("scale %d: want 1, 2, 4 or 8", m.Scale)
			}
		}
		code = append(code, mod<<6|byte(reg)<<3|4, byte(scale)<<6|byte(idx&7)<<3|byte(base&7))
	}
	return append(code, disp...), nil
}

var (
	vecBits  = map[byte]int{'X': 128, 'Y': 256, 'Z': 512}
	vecClass = map[int]byte{128: 'X', 256: 'Y', 512: 'Z'}
	gprNames = [16]string{"AX", "CX", "DX", "BX", "SP", "BP", "SI", "DI",
		"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"}
	intelGPR = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}
)

// regInfo splits a vector or mask register name into its class (X, Y,
// Z, K) and number.
func regInfo(r string) (class byte, n int, ok bool) {
	if len(r) < 2 || !strings.ContainsRune("XYZK", rune(r[0])) {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(string(r[1:]), "%d", &n); err != nil || fmt.Sprint(n) != string(r[1:]) {
		return 0, 0, false
	}
	return r[0], n, true
}

func vecReg(o Operand) (class byte, n int, ok bool) {
	r, isReg := o.(Vec)
	if !isReg {
		return 0, 0, false
	}
	class, n, ok = regInfo(string(r))
	return class, n, ok && class != 'K' && n <= 31
}

// gpr numbers a 64-bit general-purpose register as the encoding does:
// AX CX DX BX SP BP SI DI R8…R15. All sixteen may address memory here,
// including SP, BP, R14 and R15, which the package's constants leave out.
func gpr(r GP) (int, error) {
	for i, n := range gprNames {
		if string(r) == n {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%q is not a general-purpose register", r)
}

func intelVec(class byte, n int) string {
	return fmt.Sprintf("%smm%d", strings.ToLower(string(class)), n)
}

func intelMem(m Mem) string {
	base, _ := gpr(m.Base)
	s := "[" + intelGPR[base]
	if m.Index != "" {
		idx, _ := gpr(m.Index)
		s += fmt.Sprintf("+%s*%d", intelGPR[idx], m.Scale)
	}
	switch {
	case m.Disp > 0:
		s += fmt.Sprintf("+%#x", m.Disp)
	case m.Disp < 0:
		s += fmt.Sprintf("-%#x", -m.Disp)
	}
	return s + "]"
}

// rawPlan9 prints encoded bytes as BYTE directives.
func rawPlan9(code []byte) string {
	s := make([]string, len(code))
	for i, c := range code {
		s[i] = fmt.Sprintf("BYTE $0x%02x", c)
	}
	return strings.Join(s, "; ")
}
