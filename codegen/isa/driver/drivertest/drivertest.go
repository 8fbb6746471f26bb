// Package drivertest checks a vector target's kernels through the shared
// drivers: one conformance suite, in the style of gonum's testblas, that
// every target runs. It builds a package holding the drivers of a set of
// linear layers and convolution rows at each of the target's tiers, their
// microkernels and the pure-Go twins, and a test inside it that compares
// them by design.md's kernel rule, with guard values around every output,
// NaN and ±Inf rows, and every tail of every tile. The target's test runs
// the package where its kernels run: natively, or cross-compiled under an
// emulator (qemu for arm64).
package drivertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
)

// Kernels is what a target gives the suite: its drivers for a spec at a
// tier (registering the microkernels they call), then its assembly.
type Kernels interface {
	Linear(s isa.LinearSpec, name, tier string) string
	ConvRow(s isa.ConvRowSpec, name, tier string) string
	// Depthwise returns the tier's driver for s, or "" when the tier has
	// no kernel for it.
	Depthwise(s isa.DepthwiseSpec, name, tier string) string
	// Asm returns the Go declarations of the microkernels registered so
	// far (each once) and the assembly file defining them.
	Asm() (decls, file string)
}

// LinearCases are the layers the kernels are checked on: every panel
// width (16–64, so every tile), N not a multiple of the panel or of 8,
// K = 1, K < 4 and K % 4 ≠ 0 (the unrolled loop's tail), with and
// without bias, and every epilogue (none, gelu, relu with a residual,
// gelu with a residual, in turn).
var LinearCases = []gemm.Params{
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

var epilogues = []isa.Epilogue{{}, {Act: "gelu"}, {Act: "relu", Resid: true}, {Act: "gelu", Resid: true}}

// CNNEpilogues are the activations of real CNNs, with and without a
// residual, for targets whose GEMM kernels apply them (Linear's epis).
var CNNEpilogues = []isa.Epilogue{{Act: "relu6"}, {Act: "hardswish", Resid: true}, {Act: "silu"}, {Act: "sigmoid", Resid: true}, {Act: "hardsigmoid"}}

// ConvCases are the direct-convolution rows the kernels are checked on:
// 3–64 input channels, output channels that are whole panels and that
// leave a column tail (10, 33), 1×1, 3×1, 3×3 and 5×5 windows, strides 1
// and 2, padded rows wider than the windows need (Wp), output rows of
// 7–32 pixels (tails of every tile height), and every epilogue.
var ConvCases = []isa.ConvRowSpec{
	{C: 3, O: 10, KH: 3, KW: 3, SW: 1, Wp: 13, OW: 11, Bias: true, Epi: isa.Epilogue{Resid: true, Act: "relu"}},
	{C: 16, O: 16, KH: 3, KW: 3, SW: 1, Wp: 34, OW: 32, Bias: true, Epi: isa.Epilogue{Resid: true, Act: "relu"}},
	{C: 16, O: 32, KH: 3, KW: 3, SW: 2, Wp: 34, OW: 16},
	{C: 32, O: 64, KH: 3, KW: 3, SW: 1, Wp: 11, OW: 8, Bias: true, Epi: isa.Epilogue{Resid: true, Act: "gelu"}},
	{C: 5, O: 33, KH: 1, KW: 1, SW: 1, Wp: 7, OW: 7, Bias: true, Epi: isa.Epilogue{Act: "gelu"}},
	{C: 8, O: 48, KH: 5, KW: 5, SW: 2, Wp: 22, OW: 9, Epi: isa.Epilogue{Act: "relu"}},
	{C: 64, O: 16, KH: 3, KW: 1, SW: 1, Wp: 20, OW: 20},
}

// DepthwiseCases are the depthwise rows the kernels are checked on:
// windows 3×3 to 7×7 (square, 3×5, 4×4, 6×6), strides 1 and 2, dilation
// 1 and 2 (vertical, horizontal, both), channel counts that are whole
// 16-float vectors, 8 past one (AVX-512's half vector), and with a tail
// of 1–7 channels left to Go, output rows shorter than a tile, a whole
// tile, and with a tail of every height class, and every activation of
// isa.Acts with and without bias and residual. Wp leaves two spare
// pixels.
var DepthwiseCases = []isa.DepthwiseSpec{
	{C: 16, KH: 3, KW: 3, SW: 1, DH: 1, DW: 1, OW: 16, Bias: true, Epi: isa.Epilogue{Act: "relu6"}},
	{C: 24, KH: 3, KW: 3, SW: 2, DH: 1, DW: 1, OW: 9, Bias: true, Epi: isa.Epilogue{Act: "hardswish", Resid: true}},
	{C: 40, KH: 5, KW: 5, SW: 1, DH: 1, DW: 1, OW: 17, Bias: true, Epi: isa.Epilogue{Act: "silu"}},
	{C: 13, KH: 5, KW: 5, SW: 2, DH: 1, DW: 1, OW: 7, Epi: isa.Epilogue{Act: "sigmoid"}},
	{C: 32, KH: 7, KW: 7, SW: 1, DH: 1, DW: 1, OW: 8, Bias: true, Epi: isa.Epilogue{Act: "gelu", Resid: true}},
	{C: 72, KH: 3, KW: 3, SW: 1, DH: 2, DW: 2, OW: 30, Bias: true, Epi: isa.Epilogue{Act: "hardsigmoid"}},
	{C: 8, KH: 7, KW: 7, SW: 2, DH: 1, DW: 1, OW: 3, Bias: true, Epi: isa.Epilogue{Act: "gelu_tanh"}},
	{C: 88, KH: 3, KW: 3, SW: 1, DH: 1, DW: 1, OW: 14, Bias: true, Epi: isa.Epilogue{Resid: true}},
	{C: 21, KH: 3, KW: 5, SW: 1, DH: 2, DW: 1, OW: 11, Bias: true, Epi: isa.Epilogue{Act: "relu"}},
	{C: 96, KH: 5, KW: 5, SW: 2, DH: 1, DW: 1, OW: 16, Bias: true, Epi: isa.Epilogue{Act: "silu", Resid: true}},
	{C: 48, KH: 4, KW: 4, SW: 1, DH: 1, DW: 2, OW: 10, Epi: isa.Epilogue{Act: "relu6", Resid: true}},
	{C: 20, KH: 6, KW: 6, SW: 2, DH: 1, DW: 1, OW: 5, Bias: true, Epi: isa.Epilogue{Act: "hardswish"}},
	{C: 144, KH: 3, KW: 3, SW: 2, DH: 1, DW: 1, OW: 29, Bias: true, Epi: isa.Epilogue{Act: "gelu_tanh", Resid: true}},
}

// head opens the Go source of a test package.
const head = "package kerneltest\n\nimport (\n\"unsafe\"\n\n\"github.com/modelc/modelc/runtime/numerics\"\n)\n\nvar _ = numerics.Gelu32\nvar _ unsafe.Pointer\n\n"

// Linear returns the package source checking LinearCases at tiers: the
// drivers, the pure-Go twins, the table the test walks, and the test.
// The cases take the epilogues in turn: relu and gelu, with and without
// a residual, then extra (CNNEpilogues, for a target that has them).
func Linear(k Kernels, tiers []string, argDecls string, extra ...isa.Epilogue) (goSrc, test string) {
	epilogues := append(append([]isa.Epilogue(nil), epilogues...), extra...)
	var b, table strings.Builder
	b.WriteString(head + argDecls + "\n")
	table.WriteString("var layers = []layer{\n")
	for i := range LinearCases {
		p := gemm.VectorParams(LinearCases[i].N, LinearCases[i].K, 1)
		p.Bias = LinearCases[i].Bias
		goName := fmt.Sprintf("g%d", i)
		b.WriteString(gemm.Emit(p, goName))
		ep := epilogues[i%len(epilogues)]
		var drivers []string
		for _, tier := range tiers {
			name := fmt.Sprintf("%s_%s", goName, tier)
			b.WriteString(k.Linear(isa.LinearSpec{N: p.N, K: p.K, PW: p.Panel(), Bias: p.Bias, Epi: ep}, name, tier) + "\n")
			drivers = append(drivers, fmt.Sprintf("%q: %s", tier, name))
		}
		fmt.Fprintf(&table, "{%d, %d, %d, %d, %d, %d, %v, %q, %v, %s, map[string]func(m, lo, hi int, y, x, wp, bias, resid []float32){%s}},\n",
			p.N, p.K, p.NR, p.Panel(), p.Blocks(), p.Panels(), p.Bias, ep.Act, ep.Resid, goName, strings.Join(drivers, ", "))
	}
	table.WriteString("}\n")
	b.WriteString(table.String())
	return b.String(), linearTest
}

// ConvRow returns the package source checking ConvCases at tiers.
func ConvRow(k Kernels, tiers []string, argDecls string) (goSrc, test string) {
	var b, table strings.Builder
	b.WriteString(head + argDecls + "\n")
	table.WriteString("var convs = []conv{\n")
	for i, s := range ConvCases {
		s.PW = gemm.VectorPanel(s.O)
		var drivers []string
		for _, tier := range tiers {
			name := fmt.Sprintf("c%d_%s", i, tier)
			b.WriteString(k.ConvRow(s, name, tier) + "\n")
			drivers = append(drivers, fmt.Sprintf("%q: %s", tier, name))
		}
		fmt.Fprintf(&table, "{%d, %d, %d, %d, %d, %d, %d, %d, %v, %v, %q, map[string]func(x, wp, bias, y, resid []float32){%s}},\n",
			s.C, s.O, s.KH, s.KW, s.SW, s.Wp, s.OW, s.PW, s.Bias, s.Epi.Resid, s.Epi.Act, strings.Join(drivers, ", "))
	}
	table.WriteString("}\n")
	b.WriteString(table.String())
	return b.String(), convTest
}

// Depthwise returns the package source checking DepthwiseCases at
// tiers (a case a tier has no kernel for is checked at the others).
func Depthwise(k Kernels, tiers []string, argDecls string) (goSrc, test string) {
	var b, table strings.Builder
	b.WriteString(head + argDecls + "\n")
	table.WriteString("var dws = []dw{\n")
	for i, s := range DepthwiseCases {
		s.Wp = (s.OW-1)*s.SW + (s.KW-1)*s.DW + 3
		var drivers []string
		for _, tier := range tiers {
			name := fmt.Sprintf("dw%d_%s", i, tier)
			if src := k.Depthwise(s, name, tier); src != "" {
				b.WriteString(src + "\n")
				drivers = append(drivers, fmt.Sprintf("%q: %s", tier, name))
			}
		}
		fmt.Fprintf(&table, "{%d, %d, %d, %d, %d, %d, %d, %d, %v, %v, %q, map[string]func(x, w, bias, y, resid []float32){%s}},\n",
			s.C, s.KH, s.KW, s.SW, s.DH, s.DW, s.Wp, s.OW, s.Bias, s.Epi.Resid, s.Epi.Act, strings.Join(drivers, ", "))
	}
	table.WriteString("}\n")
	b.WriteString(table.String())
	return b.String(), depthwiseTest
}

// Run writes a module holding goSrc, the target's assembly (asmFile as
// asmName, e.g. kernels_arm64.s) and test, with modelc replaced by this
// checkout (root, the module's folder), runs go vet (asmdecl) with env,
// then the test with KERNEL_TIERS=tiers; exec, when set, runs the test
// binary (go test -exec, for an emulator).
func Run(t *testing.T, root string, tiers []string, k Kernels, goSrc, test, asmName string, env []string, exec string) {
	t.Helper()
	decls, asm := k.Asm()
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The runtime is a module of its own; a dependency's replace
	// directives do not apply here, so both are replaced.
	write("go.mod", "module kerneltest\n\ngo 1.22\n\nrequire github.com/modelc/modelc v0.0.0\n\nrequire github.com/modelc/modelc/runtime v0.0.0\n\n"+
		"replace github.com/modelc/modelc => "+root+"\n\nreplace github.com/modelc/modelc/runtime => "+filepath.Join(root, "runtime")+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))
	write(asmName, asm)
	write("kernels.go", goSrc+decls)
	write("kernels_test.go", test)
	testArgs := []string{"test", "-count=1"}
	if exec != "" {
		testArgs = append(testArgs, "-exec", exec)
	}
	for _, args := range [][]string{{"vet", "."}, append(testArgs, ".")} {
		if err := goCmd(dir, append(env, "KERNEL_TIERS="+strings.Join(tiers, ",")), args...); err != nil {
			t.Fatal(err)
		}
	}
}

func goCmd(dir string, env []string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s go %s:\n%s", strings.Join(env, " "), strings.Join(args, " "), out)
	}
	return nil
}

// linearTest is the test that runs inside the linear package.
const linearTest = `package kerneltest

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
	case "relu6":
		v = numerics.Relu632(v)
	case "hardsigmoid":
		v = numerics.HardSigmoid32(v)
	case "hardswish":
		v = numerics.HardSwish32(v)
	case "sigmoid":
		v = numerics.Sigmoid32(v)
	case "silu":
		v = numerics.Silu32(v)
	}
	return v
}

const guard = 16

var sentinel = math.Float32frombits(0x7fc0dead)

func TestMatches(t *testing.T) {
	tiers := strings.Split(os.Getenv("KERNEL_TIERS"), ",")
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
						// The GEMM's rule, through the epilogue (slope ≤ 1.5, hardswish's at 3),
						// plus the epilogue's own rounding: a few ulp of the
						// value, as vector and scalar evaluation of the same
						// formula may round differently.
						tol := 1.6*4*float64(l.k)*math.Pow(2, -24)*mag + 2e-6*math.Max(1, math.Abs(float64(pre[i*l.n+j]))+math.Abs(float64(resid[i*l.n+j])))
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

// convTest is the test that runs inside the convolution package.
const convTest = `package kerneltest

import (
	"math"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/runtime/numerics"
)

type conv struct {
	c, o, kh, kw, sw, wp, ow, pw int
	bias, resid                  bool
	act                          string
	asm                          map[string]func(x, wp, bias, y, resid []float32)
}

const guard = 16

var sentinel = math.Float32frombits(0x7fc0dead)

func TestConvRows(t *testing.T) {
	tiers := strings.Split(os.Getenv("KERNEL_TIERS"), ",")
	rng := rand.New(rand.NewSource(1))
	for _, cv := range convs {
		k := cv.kh * cv.kw * cv.c
		// Weights [O][KH][KW][C], packed as the generated code packs them.
		w := make([]float32, cv.o*k)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		p := gemm.Params{N: cv.o, K: k, MR: 1, NR: 8, PW: cv.pw}
		wp := gemm.Pack(p, w)
		bias := make([]float32, p.Panels()*cv.pw)
		for i := range bias[:cv.o] {
			bias[i] = float32(rng.NormFloat64())
		}
		// The padded input rows the windows read: KH rows of Wp pixels.
		x := make([]float32, cv.kh*cv.wp*cv.c)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		nanAt := (cv.kh/2*cv.wp + cv.kw/2) * cv.c // pixel 0's window centre
		x[nanAt] = float32(math.NaN())
		resid := make([]float32, cv.ow*cv.o)
		for i := range resid {
			resid[i] = float32(rng.NormFloat64())
		}
		for _, tier := range tiers {
			buf := make([]float32, cv.ow*cv.o+2*guard)
			for i := range buf {
				buf[i] = sentinel
			}
			y := buf[guard : guard+cv.ow*cv.o]
			var b, r []float32
			if cv.bias {
				b = bias
			}
			if cv.resid {
				r = resid
			}
			cv.asm[tier](x, wp, b, y, r)
			for i := range buf {
				if (i < guard || i >= guard+len(y)) && math.Float32bits(buf[i]) != math.Float32bits(sentinel) {
					t.Fatalf("%s %+v: guard %d overwritten", tier, cv, i)
				}
			}
			for ow := 0; ow < cv.ow; ow++ {
				for o := 0; o < cv.o; o++ {
					var sum, mag float64
					hasNaN := false
					for kh := 0; kh < cv.kh; kh++ {
						for kw := 0; kw < cv.kw; kw++ {
							for c := 0; c < cv.c; c++ {
								xi := (kh*cv.wp+ow*cv.sw+kw)*cv.c + c
								if xi == nanAt {
									hasNaN = true
									continue
								}
								prod := float64(x[xi]) * float64(w[o*k+(kh*cv.kw+kw)*cv.c+c])
								sum += prod
								mag += math.Abs(prod)
							}
						}
					}
					if cv.bias {
						sum += float64(bias[o])
						mag += math.Abs(float64(bias[o]))
					}
					pre := sum
					if cv.resid {
						sum += float64(resid[ow*cv.o+o])
					}
					want := float32(sum)
					switch cv.act {
					case "relu":
						want = max(want, 0)
					case "gelu":
						want = numerics.Gelu32(want)
					}
					got := y[ow*cv.o+o]
					if hasNaN {
						if !math.IsNaN(float64(got)) {
							t.Fatalf("%s %+v: y[%d,%d] = %g, want NaN (its window holds the NaN)", tier, cv, ow, o, got)
						}
						continue
					}
					// design.md's rule through the epilogue (slope ≤ 1.13),
					// plus the epilogue's own rounding.
					tol := 1.2*4*float64(k)*math.Pow(2, -24)*mag + 1e-6*math.Max(1, math.Abs(pre))
					if d := math.Abs(float64(got) - float64(want)); !(d <= tol) {
						t.Fatalf("%s %+v: y[%d,%d] = %g, reference %g (tolerance %g)", tier, cv, ow, o, got, want, tol)
					}
				}
			}
		}
	}
}
`

// depthwiseTest is the test that runs inside the depthwise package.
const depthwiseTest = `package kerneltest

import (
	"math"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/modelc/modelc/runtime/numerics"
)

type dw struct {
	c, kh, kw, sw, dh, dw, wp, ow int
	bias, resid                  bool
	act                          string
	asm                          map[string]func(x, w, bias, y, resid []float32)
}

// act is the activations' float32 twin (isa.Acts).
func act(a string, v float32) float32 {
	switch a {
	case "relu":
		return max(v, 0)
	case "relu6":
		return numerics.Relu632(v)
	case "hardsigmoid":
		return numerics.HardSigmoid32(v)
	case "hardswish":
		return numerics.HardSwish32(v)
	case "sigmoid":
		return numerics.Sigmoid32(v)
	case "silu":
		return numerics.Silu32(v)
	case "gelu":
		return numerics.Gelu32(v)
	case "gelu_tanh":
		return numerics.GeluTanh32(v)
	}
	return v
}

const guard = 16

var sentinel = math.Float32frombits(0x7fc0dead)

// TestDepthwiseRows compares each row with a float64 depthwise
// convolution through the float32 twin of the epilogue, at every tier
// that has a kernel for it: guard values around y, a NaN that must reach
// exactly the outputs whose windows hold it, and ±Inf in two other
// channels, reproduced exactly.
func TestDepthwiseRows(t *testing.T) {
	tiers := strings.Split(os.Getenv("KERNEL_TIERS"), ",")
	rng := rand.New(rand.NewSource(1))
	for _, cv := range dws {
		if len(cv.asm) == 0 {
			t.Fatalf("%+v: no tier has a kernel", cv)
		}
		rows := (cv.kh-1)*cv.dh + 1
		x := make([]float32, rows*cv.wp*cv.c)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		w := make([]float32, cv.kh*cv.kw*cv.c)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		bias := make([]float32, cv.c)
		for i := range bias {
			bias[i] = float32(rng.NormFloat64())
		}
		resid := make([]float32, cv.ow*cv.c)
		for i := range resid {
			resid[i] = float32(rng.NormFloat64())
		}
		// Pixel 0's window centre, channel 0: NaN; ±Inf in the last and
		// the middle channel of the first window's bottom-right tap.
		x[(cv.kh/2*cv.dh*cv.wp+cv.kw/2*cv.dw)*cv.c] = float32(math.NaN())
		corner := ((cv.kh-1)*cv.dh*cv.wp + (cv.kw-1)*cv.dw) * cv.c
		x[corner+cv.c-1] = float32(math.Inf(1))
		if cv.c > 2 {
			x[corner+cv.c/2] = float32(math.Inf(-1))
		}
		for _, tier := range tiers {
			kernel, ok := cv.asm[tier]
			if !ok {
				continue
			}
			buf := make([]float32, cv.ow*cv.c+2*guard)
			for i := range buf {
				buf[i] = sentinel
			}
			y := buf[guard : guard+cv.ow*cv.c]
			var b, r []float32
			if cv.bias {
				b = bias
			}
			if cv.resid {
				r = resid
			}
			kernel(x, w, b, y, r)
			for i := range buf {
				if (i < guard || i >= guard+len(y)) && math.Float32bits(buf[i]) != math.Float32bits(sentinel) {
					t.Fatalf("%s %+v: guard %d overwritten", tier, cv, i)
				}
			}
			for ow := 0; ow < cv.ow; ow++ {
				for c := 0; c < cv.c; c++ {
					var sum, mag float64
					for kh := 0; kh < cv.kh; kh++ {
						for kw := 0; kw < cv.kw; kw++ {
							prod := float64(x[(kh*cv.dh*cv.wp+ow*cv.sw+kw*cv.dw)*cv.c+c]) * float64(w[(kh*cv.kw+kw)*cv.c+c])
							sum += prod
							mag += math.Abs(prod)
						}
					}
					if cv.bias {
						sum += float64(bias[c])
						mag += math.Abs(float64(bias[c]))
					}
					pre := sum
					if cv.resid {
						sum += float64(resid[ow*cv.c+c])
					}
					want := act(cv.act, float32(sum))
					got := y[ow*cv.c+c]
					if math.IsNaN(float64(want)) || math.IsInf(float64(want), 0) || math.IsNaN(pre) || math.IsInf(pre, 0) {
						if math.IsNaN(float64(want)) != math.IsNaN(float64(got)) || (!math.IsNaN(float64(want)) && got != want) {
							t.Fatalf("%s %+v: y[%d,%d] = %g, twin %g (pre-activation %g)", tier, cv, ow, c, got, want, pre)
						}
						continue
					}
					// design.md's rule through the epilogue (slope ≤ 1.5:
					// hardswish at 3), plus the epilogue's own rounding.
					tol := 1.6*4*float64(cv.kh*cv.kw)*math.Pow(2, -24)*mag + 2e-6*math.Max(1, math.Abs(sum))
					if d := math.Abs(float64(got) - float64(want)); !(d <= tol) {
						t.Fatalf("%s %+v: y[%d,%d] = %g, reference %g (tolerance %g)", tier, cv, ow, c, got, want, tol)
					}
				}
			}
		}
	}
}
`
