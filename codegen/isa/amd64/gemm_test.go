package amd64

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
)

// x86Params are the layers the assembly kernels are checked on: every
// panel width (16–64, so every AVX-512 tile), N not a multiple of the
// panel or of 8, K = 1, K < 4 and K % 4 ≠ 0 (the unrolled loop's tail),
// with and without bias.
var x86Params = []gemm.Params{
	{N: 1, K: 1},
	{N: 16, K: 4, Bias: true},
	{N: 17, K: 3},
	{N: 31, K: 9, Bias: true},
	{N: 40, K: 64},
	{N: 48, K: 7, Bias: true},
	{N: 64, K: 33},
	{N: 100, K: 130, Bias: true},
	{N: 129, K: 2},
	{N: 20, K: 1500, Bias: true}, // MC = 18 rows: m > 18 crosses a row block
}

// TestX86MatchesGo builds one package holding every x86Params layer's
// assembly drivers (AVX-512 and AVX2) and its pure-Go twin, and runs a
// test in it that compares them over row counts 0…25 (every tail of
// every tile height) by design.md's kernel rule, with guard values
// around each output that must stay untouched. go vet (asmdecl) runs on
// the package too.
func TestX86MatchesGo(t *testing.T) {
	tiers := x86Tiers(t)
	var goSrc, table strings.Builder
	file := newX86File()
	goSrc.WriteString(x86PackageHead)
	table.WriteString("var layers = []layer{\n")
	for i := range x86Params {
		p := gemm.VectorParams(x86Params[i].N, x86Params[i].K, 1)
		p.Bias = x86Params[i].Bias
		goName := fmt.Sprintf("g%d", i)
		goSrc.WriteString(gemm.Emit(p, goName))
		// Every epilogue on every layer: none, gelu, relu with a residual.
		ep := []isa.Epilogue{{}, {Act: "gelu"}, {Act: "relu", Resid: true}, {Act: "gelu", Resid: true}}[i%4]
		drivers := map[string]string{}
		for _, tile := range linearTiles(p.Panel()) {
			name := fmt.Sprintf("%s_%s", goName, tile.Tier)
			src, fns := emitLinear(isa.LinearSpec{N: p.N, K: p.K, PW: p.Panel(), Bias: p.Bias, Epi: ep}, name, tile)
			goSrc.WriteString(src + "\n")
			file.add(fns)
			drivers[tile.Tier] = name
		}
		fmt.Fprintf(&table, "{%d, %d, %d, %d, %d, %d, %v, %q, %v, %s, map[string]func(m, lo, hi int, y, x, wp, bias, resid []float32){\"avx512\": %s, \"avx2\": %s}},\n",
			p.N, p.K, p.NR, p.Panel(), p.Blocks(), p.Panels(), p.Bias, ep.Act, ep.Resid, goName, drivers["avx512"], drivers["avx2"])
	}
	table.WriteString("}\n")
	goSrc.WriteString(table.String())
	goSrc.WriteString(file.GoDecls())
	runX86Package(t, tiers, goSrc.String(), file.AMD64(), x86TestMain)
}

// x86File collects the assembly of a test package, each function once
// (drivers of the same shape share their microkernels).
type x86File struct {
	File
	seen map[string]bool
}

func newX86File() *x86File {
	return &x86File{File: File{Build: "amd64"}, seen: map[string]bool{}}
}

func (f *x86File) add(fns []*Func) {
	for _, fn := range fns {
		if !f.seen[fn.Name] {
			f.seen[fn.Name] = true
			f.Funcs = append(f.Funcs, fn)
		}
	}
}

// x86PackageHead opens the Go source of a package of generated drivers.
const x86PackageHead = "package x86test\n\nimport (\n\"unsafe\"\n\n\"github.com/modelc/modelc/runtime/numerics\"\n)\n\nvar _ = numerics.Gelu32\n\n" + gemmArgsDecl + "\n"

// x86Tiers returns the assembly tiers this CPU runs, skipping the test
// when there are none (a failure in CI, unless GODEBUG turned them off).
func x86Tiers(t *testing.T) []string {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("x86 kernels run on amd64 only")
	}
	if testing.Short() {
		t.Skip("builds a package")
	}
	var tiers []string
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		tiers = append(tiers, "avx2")
		if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL {
			tiers = append(tiers, "avx512")
		}
	}
	if len(tiers) == 0 {
		if strings.Contains(os.Getenv("GODEBUG"), "cpu.") {
			t.Skip("GODEBUG turned AVX2 off (the dispatch matrix): no assembly tier to test")
		}
		if os.Getenv("CI") == "true" {
			t.Fatal("CI needs an AVX2 machine to test the x86 kernels")
		}
		t.Skip("no AVX2 here")
	}
	return tiers
}

// runX86Package writes a module holding the kernels' Go source, their
// assembly and a test, with modelc replaced by this checkout, and runs
// go vet (asmdecl) and the test in it with X86_TIERS set.
func runX86Package(t *testing.T, tiers []string, goSrc, asmSrc, testSrc string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, s string) { require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644)) }
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	write("go.mod", "module x86test\n\ngo 1.22\n\nrequire github.com/modelc/modelc v0.0.0\n\nreplace github.com/modelc/modelc => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	write("go.sum", string(sum))
	write("kernels_amd64.s", asmSrc)
	write("kernels.go", goSrc)
	write("x86_test.go", testSrc)
	for _, args := range [][]string{{"vet", "."}, {"test", "-count=1", "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "X86_TIERS="+strings.Join(tiers, ","))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	}
}

// x86TestMain is the test that runs inside the generated package.
const x86TestMain = `package x86test

import (
	"math"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/modelc/modelc/runtime/numerics"
)

type layer struct {
	n, k, nr, pw, blocks, panels int
	bias                         bool
	act                          string
	resid                        bool
	goKernel                     func(m, lo, hi int, y, x, wp, bias []float32)
	asm                          map[string]func(m, lo, hi int, y, x, wp, bias, resid []float32)
}

// epilogue is the Go twin of the kernels' epilogue.
func (l layer) epilogue(v, r float32) float32 {
	if l.resid {
		v += r
	}
	switch l.act {
	case "relu":
		v = max(v, 0)
	case "gelu":
		v = numerics.Gelu32(v)
	}
	return v
}

const guard = 16

var sentinel = math.Float32frombits(0x7fc0dead)

func TestMatches(t *testing.T) {
	tiers := strings.Split(os.Getenv("X86_TIERS"), ",")
	rng := rand.New(rand.NewSource(1))
	for _, l := range layers {
		wp := make([]float32, l.panels*l.k*l.pw)
		for q := 0; q < l.panels; q++ {
			for k := 0; k < l.k; k++ {
				for j := 0; j < l.pw; j++ {
					if q*l.pw+j < l.n {
						wp[(q*l.k+k)*l.pw+j] = float32(rng.NormFloat64())
					}
				}
			}
		}
		bias := make([]float32, l.panels*l.pw)
		for i := range bias {
			bias[i] = float32(rng.NormFloat64())
		}
		for m := 0; m <= 25; m++ {
			x := make([]float32, m*l.k)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			// Special values in the first rows: NaN must come out NaN through
			// every epilogue (ReLU and the erf clamp keep it), ±Inf as the
			// Go twin gives it (relu(−Inf) = 0, gelu(−Inf) = NaN as in the
			// evaluator).
			if m >= 4 {
				x[0] = float32(math.NaN())
				x[l.k] = float32(math.Inf(1))
				x[2*l.k] = float32(math.Inf(-1))
			}
			want := make([]float32, m*l.n)
			l.goKernel(m, 0, l.blocks, want, x, wp, bias)
			resid := make([]float32, m*l.n)
			for i := range resid {
				resid[i] = float32(rng.NormFloat64())
			}
			pre := append([]float32(nil), want...)
			for i := range want {
				want[i] = l.epilogue(want[i], resid[i])
			}
			for _, tier := range tiers {
				buf := make([]float32, m*l.n+2*guard)
				for i := range buf {
					buf[i] = sentinel
				}
				y := buf[guard : guard+m*l.n]
				// Two chunks of panels, as two workers would split them.
				half := l.panels / 2
				l.asm[tier](m, 0, half, y, x, wp, bias, resid)
				l.asm[tier](m, half, l.panels, y, x, wp, bias, resid)
				for i := range buf {
					if (i < guard || i >= guard+m*l.n) && math.Float32bits(buf[i]) != math.Float32bits(sentinel) {
						t.Fatalf("%s n=%d k=%d m=%d: guard %d overwritten", tier, l.n, l.k, m, i)
					}
				}
				for i := 0; i < m; i++ {
					for j := 0; j < l.n; j++ {
						// design.md: 4·K·2⁻²⁴·Σ|aᵢbᵢ| in float64.
						var mag float64
						if i < 3 && m >= 4 {
							mag = math.Inf(1) // the special rows: compared exactly above
						}
						for p := 0; p < l.k; p++ {
							mag += math.Abs(float64(x[i*l.k+p]) * float64(wp[((j/l.pw)*l.k+p)*l.pw+j%l.pw]))
						}
						if l.bias {
							mag += math.Abs(float64(bias[j]))
						}
						// The GEMM's rule, through the epilogue (slope ≤ 1.13),
						// plus the epilogue's own rounding: a few ulp of the
						// value, as vector and scalar evaluation of the same
						// formula may round differently.
						tol := 1.2*4*float64(l.k)*math.Pow(2, -24)*mag + 1e-6*math.Max(1, math.Abs(float64(pre[i*l.n+j]))+math.Abs(float64(resid[i*l.n+j])))
						got, exp := float64(y[i*l.n+j]), float64(want[i*l.n+j])
						if math.IsNaN(exp) || math.IsInf(exp, 0) || math.IsNaN(got) || math.IsInf(got, 0) {
							if !(math.IsNaN(got) && math.IsNaN(exp)) && got != exp {
								t.Fatalf("%s n=%d k=%d m=%d act=%q: y[%d,%d] = %g, Go twin %g", tier, l.n, l.k, m, l.act, i, j, got, exp)
							}
							continue
						}
						if d := math.Abs(got - exp); !(d <= tol) {
							t.Fatalf("%s n=%d k=%d m=%d: y[%d,%d] = %g, Go twin %g (tolerance %g)", tier, l.n, l.k, m, i, j, y[i*l.n+j], want[i*l.n+j], tol)
						}
					}
				}
			}
		}
	}
}
`
