package amd64

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"
)

// checkerPath keeps the program TestEncodedRuns builds (or reuses it if
// the file exists), so the run half can be repeated on a machine without
// Go: copy it and the test binary there and pass the same flag.
var checkerPath = flag.String("encode.checker", "", "build the encoded-instruction checker here, or run this one if it exists")

// Rows checked by hand against GNU as 2.40 (objdump -d -M intel).
func TestEncodeGolden(t *testing.T) {
	for _, tc := range []struct {
		op    EncOp
		ops   []Operand
		hex   string
		intel string
	}{
		{VexVPDPBUSD, []Operand{Y(1), Y(2), Y(3)}, "c4e26d50d9", "{vex} vpdpbusd ymm3, ymm2, ymm1"},
		{VexVPDPBUSD, []Operand{At("SP", 0x40).Idx(R12, 4), Y(2), Y(3)}, "c4a26d505ca440",
			"{vex} vpdpbusd ymm3, ymm2, ymmword ptr [rsp+r12*4+0x40]"},
		{VPDPBSSD, []Operand{Y(1), Y(2), Y(3)}, "c4e26f50d9", "vpdpbssd ymm3, ymm2, ymm1"},
		{VPDPBUUD, []Operand{X(1), X(2), X(3)}, "c4e26850d9", "vpdpbuud xmm3, xmm2, xmm1"},
		{VDPBF16PS.Bcst().Z(), []Operand{At(R13, 0), Z(17), K(1), Z(31)}, "624276d1527d00",
			"vdpbf16ps zmm31{k1}{z}, zmm17, dword ptr [r13]{1to16}"},
		{VCVTNEPS2BF16Y.Bcst(), []Operand{At(AX, 0), X(1)}, "62f27e387208", "vcvtneps2bf16 xmm1, dword ptr [rax]{1to8}"},
		{VCVTNEPS2BF16Y, []Operand{At(AX, 0), X(1)}, "62f27e287208", "vcvtneps2bf16 xmm1, ymmword ptr [rax]"},
		{VCVTNEPS2BF16, []Operand{Z(2), Y(1)}, "62f27e4872ca", "vcvtneps2bf16 ymm1, zmm2"},
	} {
		code, intel, err := Encode(tc.op, tc.ops...)
		require.NoError(t, err)
		require.Equal(t, tc.hex, hex.EncodeToString(code), "%v %s", tc.op, plan9List(tc.ops))
		require.Equal(t, tc.intel, intel)
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, tc := range []struct {
		op  EncOp
		ops []Operand
	}{
		{VexVPDPBUSD, []Operand{Y(16), Y(2), Y(3)}},                // VEX has no bit 4
		{VexVPDPBUSD, []Operand{Z(1), Z(2), Z(3)}},                 // VEX has no 512
		{VexVPDPBUSD, []Operand{Y(1), Y(2), K(1), Y(3)}},           // VEX has no mask
		{VexVPDPBUSD.Bcst(), []Operand{At(AX, 0), Y(2), Y(3)}},     // no broadcast form
		{VDPBF16PS.Z(), []Operand{Z(1), Z(2), Z(3)}},               // .Z without a mask
		{VDPBF16PS, []Operand{Z(1), Z(2), K(0), Z(3)}},             // K0 is no mask
		{VDPBF16PS.Bcst(), []Operand{Z(1), Z(2), Z(3)}},            // broadcast of a register
		{VDPBF16PS, []Operand{Y(1), Z(2), Z(3)}},                   // mixed widths
		{VDPBF16PS, []Operand{At(AX, 0).Idx("SP", 1), Z(2), Z(3)}}, // SP cannot index
		{VDPBF16PS, []Operand{Arg{"p", 0}, Z(2), Z(3)}},            // frame pseudo-registers
		{VDPBF16PS, []Operand{At(AX, 1<<33), Z(2), Z(3)}},          // disp beyond 32 bits
		{VCVTNEPS2BF16, []Operand{Z(1), Z(3)}},                     // narrows: Z → Y
		{VCVTNEPS2BF16X, []Operand{Y(1), X(3)}},                    // X source
		{VDPBF16PS, []Operand{Z(2), Z(3)}},                         // too few
	} {
		_, _, err := Encode(tc.op, tc.ops...)
		require.Error(t, err, "%v %s", tc.op, plan9List(tc.ops))
	}
	require.Panics(t, func() { new(Func).Encode(VexVPDPBUSD, Z(1), Z(2), Z(3)) })
}

func TestEncodePrinted(t *testing.T) {
	var f File
	fn := f.Func("dot", 8, "func dot(p *args)")
	fn.MOVQ(Arg{"p", 0}, AX)
	fn.Encode(VexVPDPBUSD, At(AX, 32), Y(1), Y(0))
	fn.VZEROUPPER()
	fn.RET()
	require.Contains(t, f.AMD64(), "\tMOVQ p+0(FP), AX\n"+
		"\tBYTE $0xc4; BYTE $0xe2; BYTE $0x75; BYTE $0x50; BYTE $0x40; BYTE $0x20 // {vex} vpdpbusd ymm0, ymm1, ymmword ptr [rax+0x20]\n"+
		"\tVZEROUPPER\n")
}

type encCase struct {
	op  EncOp
	ops []Operand
}

// encCases returns the forms compared with GNU as: for a few ops every
// base × index × a displacement list around the disp8 (and disp8*N)
// limits, then random operands from a fixed seed for every op.
func encCases() []encCase {
	var cs []encCase
	disps := []int{0, 1, -1, 4, -4, 127, 128, -128, -129, 508, 512, -512, -516,
		2032, 2048, -2048, -2064, 4064, 4096, -4096, -4128, 8128, 8192, -8192, -8256,
		0x12345678, -0x80000000, 0x7fffffff}
	indexes := []GP{"", AX, R12, R13, "BP", "R15"}
	for _, e := range []struct {
		op       EncOp
		src, dst Vec
		mid      []Operand
	}{
		{VexVPDPBUSD, Y(15), Y(8), nil},
		{VPDPBSUD, X(7), X(9), nil},
		{VDPBF16PS, Z(16), Z(31), nil},
		{VDPBF16PS.Bcst(), Y(3), Y(20), []Operand{K(7)}},
		{VCVTNEPS2BF16X, "", X(17), nil},
	} {
		for b := range gprNames {
			for _, idx := range indexes {
				for i, d := range disps {
					m := At(GP(gprNames[b]), d)
					if idx != "" {
						m = m.Idx(idx, 1<<(i%4))
					}
					ops := []Operand{m}
					if e.src != "" {
						ops = append(ops, e.src)
					}
					cs = append(cs, encCase{e.op, append(append(ops, e.mid...), e.dst)})
				}
			}
		}
	}
	r := rand.New(rand.NewSource(1))
	for op := EncOp(0); op < numEncOps; op++ {
		for range 300 {
			cs = append(cs, randCase(r, op))
		}
	}
	return cs
}

func randCase(r *rand.Rand, op EncOp) encCase {
	f := encForms[op]
	nreg, vls := 16, []int{128, 256}
	if f.evex {
		nreg, vls = 32, []int{128, 256, 512}
	}
	vl := f.vl
	if vl == 0 {
		vl = vls[r.Intn(len(vls))]
	}
	src, dst := vecClass[vl], vecClass[vl]
	if f.vl != 0 {
		dst = map[bool]byte{false: 'X', true: 'Y'}[vl == 512]
	}
	reg := func(c byte) Vec { return Vec(fmt.Sprintf("%c%d", c, r.Intn(nreg))) }
	var ops []Operand
	if r.Intn(2) == 0 {
		ops = append(ops, reg(src))
	} else {
		m := At(GP(gprNames[r.Intn(16)]), 0)
		if r.Intn(2) == 0 {
			idx := r.Intn(15)
			if idx >= 4 {
				idx++ // not SP
			}
			m = m.Idx(GP(gprNames[idx]), 1<<r.Intn(4))
		}
		switch r.Intn(4) {
		case 1:
			m.Disp = r.Intn(512) - 256
		case 2:
			m.Disp = (r.Intn(300) - 150) * []int{4, 16, 32, 64}[r.Intn(4)]
		case 3:
			m.Disp = int(int32(r.Uint32()))
		}
		ops = append(ops, m)
		if f.bcst > 0 && r.Intn(3) == 0 {
			op = op.Bcst()
		}
	}
	if !f.unary {
		ops = append(ops, reg(src))
	}
	if f.evex && r.Intn(2) == 0 {
		ops = append(ops, K(1+r.Intn(7)))
		if r.Intn(2) == 0 {
			op = op.Z()
		}
	}
	return encCase{op, append(ops, reg(dst))}
}

// requireTool finds a program the comparison needs: in CI its absence is
// a failure, elsewhere a skip.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found, and CI=true: install binutils", name)
		}
		t.Skipf("%s not found; the encodings are checked against it when it is installed", name)
	}
	return p
}

// TestEncodeBinutils assembles each case's Intel-syntax comment with GNU
// as and compares the bytes, so the comment and the code are checked
// together. Each instruction sits in its own 16-byte slot (none is
// longer than 11 bytes), padded with INT3, so a mismatch names its case.
func TestEncodeBinutils(t *testing.T) {
	as := requireTool(t, "as")
	cs := encCases()
	var src strings.Builder
	src.WriteString(".intel_syntax noprefix\n.text\n")
	want := make([][]byte, len(cs))
	for i, c := range cs {
		code, intel, err := Encode(c.op, c.ops...)
		require.NoError(t, err, "%v %s", c.op, plan9List(c.ops))
		require.LessOrEqual(t, len(code), 16)
		want[i] = code
		fmt.Fprintf(&src, ".balign 16, 0xcc\n%s\n", intel)
	}
	src.WriteString(".balign 16, 0xcc\n")
	dir := t.TempDir()
	s, o := filepath.Join(dir, "enc.s"), filepath.Join(dir, "enc.o")
	require.NoError(t, os.WriteFile(s, []byte(src.String()), 0o644))
	out, err := exec.Command(as, "--64", "-o", o, s).CombinedOutput()
	require.NoError(t, err, "%s", firstLines(string(out), 20))
	text := elfText(t, o)
	require.Len(t, text, 16*len(cs))
	bad := 0
	for i, c := range cs {
		slot := text[16*i : 16*i+16]
		mine := append(append([]byte{}, want[i]...), bytes.Repeat([]byte{0xcc}, 16-len(want[i]))...)
		if !bytes.Equal(slot, mine) {
			_, intel, _ := Encode(c.op, c.ops...)
			t.Errorf("%v %s (%s):\n\tgot  % x\n\tas   % x", c.op, plan9List(c.ops), intel, want[i], slot)
			if bad++; bad > 20 {
				t.FailNow()
			}
		}
	}
	t.Logf("%d encodings identical to GNU as", len(cs))
}

func elfText(t *testing.T, path string) []byte {
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	data, err := f.Section(".text").Data()
	require.NoError(t, err)
	return data
}

func firstLines(s string, n int) string {
	l := strings.SplitN(s, "\n", n+1)
	if len(l) > n {
		l = l[:n]
	}
	return strings.Join(l, "\n")
}

// TestEncodeAsm2plan9s feeds the Intel comments to minio's asm2plan9s
// (stdin to stdout) and compares the QUAD/LONG/WORD/BYTE lines it writes.
// asm2plan9s tries yasm first and falls back to GNU as for the whole file
// when yasm rejects a line; yasm 1.3.0 rejects all of these (no AVX-512,
// no VNNI, and no "ptr" in its NASM syntax), so today this checks the
// GAS path of asm2plan9s, and the yasm subtest records what yasm itself
// encodes of the register forms.
func TestEncodeAsm2plan9s(t *testing.T) {
	tool, err := exec.LookPath("asm2plan9s")
	if err != nil {
		t.Skip("asm2plan9s not on PATH (go install github.com/minio/asm2plan9s@latest)")
	}
	cs := encCases()
	cs = cs[len(cs)-300*int(numEncOps):] // the random ones
	var in strings.Builder
	want := make([][]byte, len(cs))
	for i, c := range cs {
		code, intel, err := Encode(c.op, c.ops...)
		require.NoError(t, err)
		want[i] = code
		// asm2plan9s only rewrites a comment starting in column 66.
		fmt.Fprintf(&in, "%s// %s\n", strings.Repeat(" ", 65), intel)
	}
	cmd := exec.Command(tool)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", firstLines(string(out), 20))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, len(cs), "%s", firstLines(string(out), 5))
	for i, l := range lines {
		got, err := parseDirectives(strings.SplitN(l, "//", 2)[0])
		require.NoError(t, err, l)
		require.Equal(t, hex.EncodeToString(want[i]), hex.EncodeToString(got), "%v %s: %s", cs[i].op, plan9List(cs[i].ops), l)
	}
	t.Logf("%d encodings identical to asm2plan9s", len(cs))

	t.Run("yasm", func(t *testing.T) {
		yasm, err := exec.LookPath("yasm")
		if err != nil {
			t.Skip("yasm not on PATH")
		}
		var took []string
		for op := EncOp(0); op < numEncOps; op++ {
			f := encForms[op]
			vl, dst := f.vl, byte('X')
			if vl == 0 {
				vl, dst = 256, 'Y'
			} else if vl == 512 {
				dst = 'Y'
			}
			ops := []Operand{Vec(fmt.Sprintf("%c1", vecClass[vl]))}
			if !f.unary {
				ops = append(ops, Vec(fmt.Sprintf("%c2", vecClass[vl])))
			}
			ops = append(ops, Vec(fmt.Sprintf("%c3", dst)))
			code, intel, err := Encode(op, ops...)
			require.NoError(t, err)
			dir := t.TempDir()
			src := "[bits 64]\n" + strings.TrimPrefix(intel, "{vex} ") + "\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "y.asm"), []byte(src), 0o644))
			if exec.Command(yasm, "-o", filepath.Join(dir, "y.bin"), filepath.Join(dir, "y.asm")).Run() != nil {
				continue
			}
			got, err := os.ReadFile(filepath.Join(dir, "y.bin"))
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(code), hex.EncodeToString(got), intel)
			took = append(took, op.String())
		}
		t.Logf("yasm encodes %d of %d ops: %v", len(took), numEncOps, took)
	})
}

// parseDirectives reads "QUAD $0x…; LONG $0x…; WORD $0x…; BYTE $0x…"
// back into bytes (little-endian, as Go's assembler lays them out).
func parseDirectives(s string) ([]byte, error) {
	var code []byte
	for _, d := range strings.Split(s, ";") {
		f := strings.Fields(d)
		if len(f) != 2 || !strings.HasPrefix(f[1], "$0x") {
			return nil, fmt.Errorf("directive %q", d)
		}
		n := map[string]int{"QUAD": 8, "LONG": 4, "WORD": 2, "BYTE": 1}[f[0]]
		v, err := strconv.ParseUint(f[1][3:], 16, 64)
		if n == 0 || err != nil {
			return nil, fmt.Errorf("directive %q", d)
		}
		code = append(code, binary.LittleEndian.AppendUint64(nil, v)[:n]...)
	}
	return code, nil
}

// runCase is one kernel of the checker program: acc (the destination's
// old value), a (src1) and b (src2, in a register or read through mem)
// go in, the destination comes out.
type runCase struct {
	op          EncOp
	vl          int // source bits
	dst, s1, s2 int // register numbers
	base, index GP  // base "" means src2 is the register s2
	scale, disp int
	mask        uint16 // K1 when non-zero
}

func (c runCase) form() encForm { return encForms[c.op&^(bcstFlag|zeroFlag)] }

func (c runCase) dstClass() byte {
	if f := c.form(); f.vl != 0 {
		return map[bool]byte{false: 'X', true: 'Y'}[f.vl == 512]
	}
	return vecClass[c.vl]
}

func (c runCase) kernel(fn *Func) {
	f := c.form()
	mov := (*Func).VMOVDQU // VEX: runs on AVX-VNNI CPUs without AVX-512
	if f.evex {
		mov = (*Func).VMOVDQU32
	}
	d := Vec(fmt.Sprintf("%c%d", c.dstClass(), c.dst))
	s1 := Vec(fmt.Sprintf("%c%d", vecClass[c.vl], c.s1))
	fn.MOVQ(Arg{"acc", 0}, AX)
	fn.MOVQ(Arg{"a", 8}, BX)
	fn.MOVQ(Arg{"b", 16}, CX)
	mov(fn, At(AX, 0), d)
	var ops []Operand
	if c.base == "" {
		s2 := Vec(fmt.Sprintf("%c%d", vecClass[c.vl], c.s2))
		mov(fn, At(CX, 0), s2)
		ops = append(ops, s2)
	} else {
		// Point base+index*scale+disp at b.
		fn.MOVQ(CX, c.base)
		off := c.disp
		m := At(c.base, c.disp)
		if c.index != "" {
			fn.MOVQ(Imm(3), c.index)
			off += 3 * c.scale
			m = m.Idx(c.index, c.scale)
		}
		fn.SUBQ(Imm(off), c.base)
		ops = append(ops, m)
	}
	if !f.unary {
		mov(fn, At(BX, 0), s1)
		ops = append(ops, s1)
	}
	if c.mask != 0 {
		fn.MOVQ(Imm(int64(c.mask)), DX)
		fn.KMOVW(DX, K(1))
		ops = append(ops, K(1))
	}
	fn.Encode(c.op, append(ops, d)...)
	mov(fn, d, At(AX, 0))
	fn.VZEROUPPER()
	fn.RET()
}

// runCases: register and memory forms of every op, with the operand
// registers above 7 (and above 15 for EVEX) and the awkward bases.
func runCases() []runCase {
	var cs []runCase
	for op := EncOp(0); op < numEncOps; op++ {
		f := encForms[op]
		vls, hi := []int{128, 256}, 0
		if f.evex {
			vls, hi = []int{128, 256, 512}, 16
		}
		if f.vl != 0 {
			vls = []int{f.vl}
		}
		for _, vl := range vls {
			cs = append(cs,
				runCase{op: op, vl: vl, dst: 9 + hi, s1: 2, s2: 15 + hi},
				runCase{op: op, vl: vl, dst: 3, s1: 14 + hi, s2: 0, base: R12, index: R9, scale: 4, disp: -vl / 8},
				runCase{op: op, vl: vl, dst: 12 + hi, s1: 1, base: R13},
				runCase{op: op, vl: vl, dst: 0, s1: 8, base: R13, index: R12, scale: 8, disp: 1000})
			if f.evex {
				cs = append(cs,
					runCase{op: op.Bcst(), vl: vl, dst: 31, s1: 30, base: SI, disp: 64},
					runCase{op: op.Z(), vl: vl, dst: 5, s1: 6, s2: 7, mask: 0xa5c3},
					runCase{op: op, vl: vl, dst: 5, s1: 6, s2: 7, mask: 0x5a3c})
			}
		}
	}
	return cs
}

// checkerFiles returns the checker program: kernels k0, k1, … in a .s
// file and a main that reads "kN acc a b" hex lines and prints acc.
func checkerFiles(cs []runCase) (asmSrc, goSrc string) {
	var f File
	f.Header = []string{"Code generated by modelc's encode_test.go. DO NOT EDIT."}
	var table strings.Builder
	for i, c := range cs {
		name := fmt.Sprintf("k%d", i)
		fn := f.Func(name, 24, fmt.Sprintf("%v %s", c.op, c.form().feature))
		fn.GoDecl = fmt.Sprintf("func %s(acc, a, b *byte)", name)
		c.kernel(fn)
		fmt.Fprintf(&table, "\t%q: %s,\n", name, name)
	}
	goSrc = `// Code generated by modelc's encode_test.go. DO NOT EDIT.

package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

` + f.GoDecls() + `var kernels = map[string]func(acc, a, b *byte){
` + table.String() + `}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 1<<20)
	for in.Scan() {
		f := strings.Fields(in.Text())
		var v [3][]byte
		for i := range v {
			v[i], _ = hex.DecodeString(f[i+1])
		}
		kernels[f[0]](&v[0][0], &v[1][0], &v[2][0])
		fmt.Println(hex.EncodeToString(v[0]))
	}
}
`
	return f.AMD64(), goSrc
}

// hasFeature reports whether this CPU runs op (x/sys/cpu names).
func hasFeature(op EncOp) bool {
	switch op.Feature() {
	case "AVX-VNNI":
		return cpu.X86.HasAVXVNNI
	case "AVX-VNNI-INT8":
		return cpu.X86.HasAVXVNNIInt8
	case "AVX512-BF16":
		return cpu.X86.HasAVX512BF16 && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW
	}
	return false
}

// TestEncodedRuns builds a Go program whose kernels use the encoded
// bytes amid ordinary instructions (go vet checks its frames), then, for
// the ops this CPU has, runs them on random inputs and compares every
// byte of the result with the Go reference (ref).
func TestEncodedRuns(t *testing.T) {
	cs := runCases()
	bin := *checkerPath
	if _, err := os.Stat(bin); bin == "" || err != nil {
		goTool := requireTool(t, "go")
		dir := t.TempDir()
		asmSrc, goSrc := checkerFiles(cs)
		for name, src := range map[string]string{
			"go.mod": "module enccheck\n\ngo 1.26\n", "main.go": goSrc, "kernels_amd64.s": asmSrc} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
		}
		if bin == "" {
			bin = filepath.Join(dir, "checker")
		}
		for _, args := range [][]string{{"vet", "."}, {"build", "-o", bin, "."}} {
			cmd := exec.Command(goTool, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "GOARCH=amd64", "GOOS=linux", "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), firstLines(string(out), 20))
		}
	}
	r := rand.New(rand.NewSource(2))
	var in strings.Builder
	var run []int
	missing := map[string]bool{}
	for i, c := range cs {
		if !hasFeature(c.op) {
			missing[c.op.Feature()] = true
			continue
		}
		run = append(run, i)
		fmt.Fprintf(&in, "k%d", i)
		for _, v := range c.inputs(r) {
			fmt.Fprintf(&in, " %s", hex.EncodeToString(v))
		}
		in.WriteString("\n")
	}
	if len(run) == 0 {
		t.Skipf("this CPU has none of %v; built only", keys(missing))
	}
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	require.NoError(t, err)
	got := bufio.NewScanner(bytes.NewReader(out))
	got.Buffer(nil, 1<<20)
	lines := strings.Split(in.String(), "\n")
	for j, i := range run {
		require.True(t, got.Scan(), "checker stopped at k%d", i)
		c, f := cs[i], strings.Fields(lines[j])
		var v [3][]byte
		for k := range v {
			v[k], _ = hex.DecodeString(f[k+1])
		}
		want := c.ref(v[0], v[1], v[2])
		if hex.EncodeToString(want) != got.Text() {
			t.Errorf("k%d %s:\n\tcpu %s\n\tref %s", i, c.intel(), got.Text(), hex.EncodeToString(want))
		}
	}
	t.Logf("%d kernels ran on this CPU and matched the Go reference; no CPU feature for %v", len(run), keys(missing))
}

func keys(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	return s
}

// intel returns the encoded instruction of c's kernel, for messages.
func (c runCase) intel() string {
	fn := new(Func)
	c.kernel(fn)
	for _, l := range fn.lines {
		if l.raw != nil {
			return l.comment
		}
	}
	return ""
}

// inputs returns acc, a and b for one run. Floats are normal numbers
// (2^-8…2^8): the BF16 instructions flush denormals, which the reference
// need not model then.
func (c runCase) inputs(r *rand.Rand) [3][]byte {
	f := c.form()
	dstBytes := vecBits[c.dstClass()] / 8
	n := c.vl / 8
	var v [3][]byte
	v[0], v[1], v[2] = make([]byte, dstBytes), make([]byte, n), make([]byte, n)
	if f.evex {
		for i := 0; i < dstBytes; i += 4 {
			binary.LittleEndian.PutUint32(v[0][i:], math.Float32bits(randFloat(r)))
		}
		for _, b := range v[1:] {
			for i := 0; i < n; i += 4 {
				x := math.Float32bits(randFloat(r))
				if f.opcode == 0x52 { // VDPBF16PS reads bf16 pairs
					x = x&0xffff0000 | math.Float32bits(randFloat(r))>>16
				}
				binary.LittleEndian.PutUint32(b[i:], x)
			}
		}
		return v
	}
	for _, b := range v {
		r.Read(b)
	}
	// Put three of every four accumulators within 2^16 of where the
	// saturating forms clamp (signed max, signed min, unsigned max), so
	// saturation and wrap-around differ in the result.
	for i := 4; i < dstBytes; i += 16 {
		binary.LittleEndian.PutUint32(v[0][i:], math.MaxInt32-uint32(r.Intn(1<<16)))
		binary.LittleEndian.PutUint32(v[0][i+4:], 1<<31+uint32(r.Intn(1<<16)))
		binary.LittleEndian.PutUint32(v[0][i+8:], math.MaxUint32-uint32(r.Intn(1<<16)))
	}
	return v
}

func randFloat(r *rand.Rand) float32 {
	return float32(math.Ldexp(float64(1+r.Float32()), r.Intn(17)-8)) * float32(1-2*r.Intn(2))
}

// ref is the Go reference of one run, from the SDM's pseudo-code.
func (c runCase) ref(acc, a, b []byte) []byte {
	f := c.form()
	out := append([]byte{}, acc...)
	src2 := func(i int) uint32 { // dword i of src2, or the broadcast one
		if c.op&bcstFlag != 0 {
			i = 0
		}
		return binary.LittleEndian.Uint32(b[4*i:])
	}
	lanes := c.vl / 32
	switch base := c.op &^ (bcstFlag | zeroFlag); base {
	case VCVTNE2PS2BF16, VCVTNEPS2BF16X, VCVTNEPS2BF16Y, VCVTNEPS2BF16:
		// word lanes: the low half from src2, the high half from src1 (VCVTNE2PS2BF16)
		words := make([]uint16, len(out)/2)
		n := lanes
		if base == VCVTNE2PS2BF16 {
			n = 2 * lanes
		}
		for i := range n {
			if i < lanes {
				words[i] = bf16(src2(i))
			} else {
				words[i] = bf16(binary.LittleEndian.Uint32(a[4*(i-lanes):]))
			}
		}
		for i := range words {
			old := binary.LittleEndian.Uint16(acc[2*i:])
			switch {
			case i >= n:
				words[i] = 0 // EVEX zeroes the destination above the result
			case c.mask != 0 && c.mask>>i&1 == 0 && c.op&zeroFlag != 0:
				words[i] = 0
			case c.mask != 0 && c.mask>>i&1 == 0:
				words[i] = old
			}
			binary.LittleEndian.PutUint16(out[2*i:], words[i])
		}
		return out
	case VDPBF16PS:
		for i := range lanes {
			x, y := binary.LittleEndian.Uint32(a[4*i:]), src2(i)
			s := math.Float32frombits(binary.LittleEndian.Uint32(acc[4*i:]))
			s += float32(bfHi(x) * bfHi(y)) // the exact product, then one rounding
			s += float32(bfLo(x) * bfLo(y))
			switch {
			case c.mask != 0 && c.mask>>i&1 == 0 && c.op&zeroFlag != 0:
				s = 0
			case c.mask != 0 && c.mask>>i&1 == 0:
				s = math.Float32frombits(binary.LittleEndian.Uint32(acc[4*i:]))
			}
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(s))
		}
		for i := 4 * lanes; i < len(out); i++ {
			out[i] = 0
		}
		return out
	}
	// The integer dot products: four byte or two word products per dword.
	signed1, signed2, words, sat := true, true, false, f.opcode&1 == 1
	switch {
	case f.intel == "{vex} vpdpbusd" || f.intel == "{vex} vpdpbusds":
		signed1 = false
	case f.intel == "{vex} vpdpwssd" || f.intel == "{vex} vpdpwssds":
		words = true
	case f.pp == 2: // VPDPBSUD(S)
		signed2 = false
	case f.pp == 0: // VPDPBUUD(S)
		signed1, signed2 = false, false
	}
	elem := func(v []byte, k int, signed bool) int64 {
		if words {
			return int64(int16(binary.LittleEndian.Uint16(v[2*k:])))
		}
		if signed {
			return int64(int8(v[k]))
		}
		return int64(v[k])
	}
	per := 4
	if words {
		per = 2
	}
	for i := range lanes {
		sum := int64(0)
		for k := range per {
			sum += elem(a, i*per+k, signed1) * elem(b, i*per+k, signed2)
		}
		old := binary.LittleEndian.Uint32(acc[4*i:])
		var d uint32
		switch {
		case !sat:
			d = old + uint32(sum)
		case !signed1 && !signed2: // VPDPBUUDS saturates unsigned
			d = uint32(min(max(int64(old)+sum, 0), math.MaxUint32))
		default:
			d = uint32(int32(min(max(int64(int32(old))+sum, math.MinInt32), math.MaxInt32)))
		}
		binary.LittleEndian.PutUint32(out[4*i:], d)
	}
	return out
}

func bfHi(x uint32) float64 { return float64(math.Float32frombits(x & 0xffff0000)) }
func bfLo(x uint32) float64 { return float64(math.Float32frombits(x << 16)) }

// bf16 rounds a normal float32 to bfloat16, to nearest even.
func bf16(x uint32) uint16 { return uint16((x + 0x7fff + x>>16&1) >> 16) }
