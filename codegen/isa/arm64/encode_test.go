package arm64

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// encCases are every encodable op with operands at the register and lane
// limits (V0, V15, V16, V31; lanes 0–3; shifts at their ends) and random
// ones from a fixed seed.
func encCases() [][]any {
	var cs [][]any
	regs := []int{0, 1, 15, 16, 31}
	r := rand.New(rand.NewSource(1))
	for op := EncOp(0); op < numEncOps; op++ {
		for i := 0; i < 40; i++ {
			d, n, m := regs[i%5], regs[(i/5)%5], regs[(i+3)%5]
			if i >= 25 {
				d, n, m = r.Intn(32), r.Intn(32), r.Intn(32)
			}
			f := encForms[op]
			da, na, ma := f.arrs()
			var ops []Operand
			switch f.kind {
			case three:
				ops = []Operand{Arr{V(m), ma}, Arr{V(n), na}, Arr{V(d), da}}
			case two:
				ops = []Operand{Arr{V(n), na}, Arr{V(d), da}}
			case element:
				e := V(m).S(i % 4)
				if f.elem == '4' {
					e = V(m).B4(i % 4)
				}
				ops = []Operand{e, Arr{V(n), na}, Arr{V(d), da}}
			case shift:
				sh := []int{1, 2, 23, 31}[i%4]
				if op == SSHR && i%5 == 4 {
					sh = 32
				}
				ops = []Operand{Imm(sh), V(n).S4(), V(d).S4()}
			}
			cs = append(cs, []any{op, ops})
		}
	}
	return cs
}

// TestEncodingsMatchBinutils assembles every case's GNU as text with
// aarch64-linux-gnu-as, disassembles the object with objdump, and checks
// each word is Encode's.
func TestEncodingsMatchBinutils(t *testing.T) {
	as := requireTool(t, "aarch64-linux-gnu-as")
	objdump := requireTool(t, "aarch64-linux-gnu-objdump")
	var src strings.Builder
	var words []uint32
	for _, c := range encCases() {
		w, text, err := Encode(c[0].(EncOp), c[1].([]Operand)...)
		require.NoError(t, err)
		words = append(words, w)
		src.WriteString("\t" + text + "\n")
	}
	dir := t.TempDir()
	s, o := filepath.Join(dir, "enc.s"), filepath.Join(dir, "enc.o")
	require.NoError(t, os.WriteFile(s, []byte(src.String()), 0o644))
	out, err := exec.Command(as, "-march=armv8.2-a+dotprod", "-o", o, s).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(objdump, "-d", o).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var got []uint32
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && strings.HasSuffix(f[0], ":") && len(f[1]) == 8 {
			v, err := strconv.ParseUint(f[1], 16, 32)
			if err == nil {
				got = append(got, uint32(v))
			}
		}
	}
	lines := strings.Split(strings.TrimSpace(src.String()), "\n")
	require.Len(t, got, len(words), "objdump's words")
	for i := range words {
		require.Equal(t, fmt.Sprintf("%08x", got[i]), fmt.Sprintf("%08x", words[i]), "%s", strings.TrimSpace(lines[i]))
	}
}

// TestEncodeRefuses: operands a form cannot take are errors.
func TestEncodeRefuses(t *testing.T) {
	for _, c := range []struct {
		op  EncOp
		ops []Operand
	}{
		{FADD, []Operand{V(1).S4(), V(2).S4()}},
		{FADD, []Operand{V(1).B16(), V(2).S4(), V(3).S4()}},
		{FMLAE, []Operand{V(1).S4(), V(2).S4(), V(3).S4()}},
		{SSHR, []Operand{Imm(0), V(2).S4(), V(3).S4()}},
		{SHL, []Operand{Imm(32), V(2).S4(), V(3).S4()}},
		{FSQRT, []Operand{R(1), V(3).S4()}},
		{SDOT, []Operand{V(1).S4(), V(2).B16(), V(3).S4()}},
		{SDOTE, []Operand{V(1).S(2), V(2).B16(), V(3).S4()}},
		{FMLAE, []Operand{V(1).B4(2), V(2).S4(), V(3).S4()}},
		{SMULL, []Operand{V(1).B16(), V(2).B16(), V(3).H8()}},
		{SQXTNB, []Operand{V(1).S4(), V(3).B8()}},
	} {
		_, _, err := Encode(c.op, c.ops...)
		require.Error(t, err, "%v %v", c.op, c.ops)
	}
}

// requireTool finds a program a test needs: with CI=true its absence is
// a failure, elsewhere a skip.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (apt-get install binutils-aarch64-linux-gnu)", name)
		}
		t.Skipf("%s is missing (apt-get install binutils-aarch64-linux-gnu)", name)
	}
	return p
}
