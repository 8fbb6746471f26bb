//go:build ignore

// gen_instr writes zinstr.go: one method of *Func per instruction form the
// kernels use, with an operand type per position, so an operand of the
// wrong kind fails when the generator compiles (avo's approach, on a
// table small enough to read). Run it with `go generate` in this folder;
// TestInstructionsGenerated checks zinstr.go is what it writes.
//
// A row is a method name and its operands in Plan 9 order (sources
// first, destination last), by class: v (Vec), k (KReg), r (GP), i
// (Imm), l (Label), and the unions vm, rm, rmi and m (see asm.go). The
// mnemonic is the method name with "_" read as "." (VMOVUPS_Z is
// VMOVUPS.Z); a row whose name ends in _K is the merge-masked form of the
// mnemonic before it (VMOVUPS_K is VMOVUPS with an opmask).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"strings"
)

var table = []struct{ name, ops, doc string }{
	// General-purpose.
	{"MOVQ", "rmi rm", "dst = src (64 bits)"},
	{"MOVL", "rmi rm", "dst = src (32 bits, zero-extended)"},
	{"LEAQ", "m r", "dst = the address of src"},
	{"ADDQ", "rmi rm", "dst += src"},
	{"SUBQ", "rmi rm", "dst -= src"},
	{"ANDQ", "rmi rm", "dst &= src"},
	{"SHRQ", "i rm", "dst >>= n (logical)"},
	{"DECQ", "rm", "dst--, setting the flags"},
	{"TESTQ", "r rm", "flags of a & b"},
	{"CMPQ", "rm rmi", "flags of a − b"},
	{"KMOVW", "rm k", "opmask = the low 16 bits of src"},
	{"JMP", "l", "jump"},
	{"JZ", "l", "jump if zero"},
	{"JNZ", "l", "jump if not zero"},
	{"JEQ", "l", "jump if equal"},
	{"JLT", "l", "jump if less (signed)"},
	{"RET", "", "return"},
	{"VZEROUPPER", "", "clear the upper halves of the vector registers (before returning to SSE code)"},
	// Moves and shuffles.
	{"VMOVUPS", "vm vm", "dst = src, unaligned floats"},
	{"VMOVUPS_K", "vm k vm", "dst = src in the lanes the mask sets"},
	{"VMOVUPS_Z", "vm k v", "dst = src in the lanes the mask sets, zero elsewhere"},
	{"VMOVAPS", "vm vm", "dst = src, aligned floats"},
	{"VMOVAPS_Z", "vm k v", "dst = src in the lanes the mask sets, zero elsewhere"},
	{"VMOVDQU", "vm vm", "dst = src, unaligned integers"},
	{"VMOVDQU32", "vm vm", "dst = src, unaligned integers (AVX-512)"},
	{"VMASKMOVPS", "vm v vm", "masked load or store (mask: sign bits of the middle operand)"},
	{"VBROADCASTSS", "vm v", "every lane of dst = the float src"},
	{"VPERMILPS", "i vm v", "dst = src's lanes permuted within 128-bit halves by the immediate"},
	{"VEXTRACTF128", "i v vm", "dst = 128-bit half i of src"},
	{"VEXTRACTF64X4", "i v vm", "dst = 256-bit half i of src"},
	{"VBLENDVPS", "v vm v v", "dst = mask ? b : a, lane by lane (mask: the first operand's sign bits)"},
	// Float arithmetic: dst = src1 op src2, Plan 9 order src2, src1, dst.
	{"VADDPS", "vm v v", "dst = src1 + src2"},
	{"VSUBPS", "vm v v", "dst = src1 − src2"},
	{"VMULPS", "vm v v", "dst = src1 · src2"},
	{"VDIVPS", "vm v v", "dst = src1 / src2"},
	{"VMAXPS", "vm v v", "dst = max(src1, src2), src2 when either is NaN"},
	{"VMINPS", "vm v v", "dst = min(src1, src2), src2 when either is NaN"},
	{"VANDPS", "vm v v", "dst = src1 & src2"},
	{"VXORPS", "vm v v", "dst = src1 ^ src2"},
	{"VSCALEFPS", "vm v v", "dst = src1 · 2^floor(src2)"},
	{"VSQRTPS", "vm v", "dst = √src"},
	{"VROUNDPS", "i vm v", "dst = src rounded as the immediate says"},
	{"VRNDSCALEPS", "i vm v", "dst = src rounded as the immediate says (AVX-512)"},
	{"VFMADD213PS", "vm v v", "dst = src1 · dst + src2"},
	{"VFMADD231PS", "vm v v", "dst += src1 · src2"},
	{"VFMADD231PS_BCST", "m v v", "dst += src1 · the float at src2, broadcast"},
	{"VFNMADD231PS", "vm v v", "dst −= src1 · src2"},
	{"VFNMADD231PS_BCST", "m v v", "dst −= src1 · the float at src2, broadcast"},
	// Integer lanes.
	{"VPXORD", "vm v v", "dst = src1 ^ src2 (AVX-512)"},
	{"VPADDD", "vm v v", "dst = src1 + src2, 32-bit lanes"},
	{"VPSUBD", "vm v v", "dst = src1 − src2, 32-bit lanes"},
	{"VPSLLD", "i vm v", "dst = src << n, 32-bit lanes"},
	{"VPSRAD", "i vm v", "dst = src >> n (arithmetic), 32-bit lanes"},
	{"VCVTTPS2DQ", "vm v", "dst = int32(src), truncated"},
	// Integer dot products (qgemm.go).
	{"VPBROADCASTD", "vm v", "every 32-bit lane of dst = the dword src"},
	{"VPMOVSXBW", "vm v", "dst's 16-bit lanes = src's bytes, sign-extended"},
	{"VPMOVZXBW", "vm v", "dst's 16-bit lanes = src's bytes, zero-extended"},
	{"VPMADDWD", "vm v v", "dst's 32-bit lanes = src1·src2 of each pair of 16-bit lanes, the pair summed (exact)"},
	{"VPHADDD", "vm v v", "dst = sums of adjacent 32-bit lanes of src1, then of src2, per 128-bit half"},
	{"VPERMQ", "i vm v", "dst's 64-bit lanes = src's, in the order the immediate gives"},
	{"VPDPBUSD", "vm v v", "dst's 32-bit lanes += Σ of 4 u8(src1)·s8(src2) products (AVX512-VNNI, EVEX)"},
}

var class = map[string]string{
	"v": "Vec", "k": "KReg", "r": "GP", "i": "Imm", "l": "Label",
	"vm": "VM", "rm": "RM", "rmi": "RMI", "m": "M",
}

func main() {
	out := flag.String("out", "zinstr.go", "file to write")
	flag.Parse()
	var b bytes.Buffer
	b.WriteString("// Code generated by go run gen_instr.go. DO NOT EDIT.\n\npackage amd64\n")
	for _, row := range table {
		mnem := strings.ReplaceAll(strings.TrimSuffix(row.name, "_K"), "_", ".")
		var params, args []string
		for i, c := range strings.Fields(row.ops) {
			t, ok := class[c]
			if !ok {
				log.Fatalf("%s: unknown operand class %q", row.name, c)
			}
			params = append(params, fmt.Sprintf("o%d %s", i, t))
			args = append(args, fmt.Sprintf("o%d", i))
		}
		fmt.Fprintf(&b, "\n// %s: %s.\nfunc (f *Func) %s(%s) { f.inst(%q%s) }\n",
			row.name, row.doc, row.name, strings.Join(params, ", "), mnem, prefixed(args))
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

func prefixed(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return ", " + strings.Join(args, ", ")
}
