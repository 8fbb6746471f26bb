package amd64

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
	"github.com/modelc/modelc/codegen/isa/driver/drivertest"
)

// TestQGemmMatchesGo builds every integer GEMM microkernel (both tiers:
// go vet's asmdecl checks the frames and Go's assembler the encodings)
// and runs those this CPU can against their pure-Go twin
// (quant.GemmU8S8) over random shapes — every row count, K not a
// multiple of 4, partial panels — and the extremes (activations 0 and
// 255, weights ±127 and −128, K up to the int32 headroom of §5.5): the
// results must be equal, bit for bit. AVX512-VNNI runs where the CPU has
// it (not on this project's CI machine: there the tier is built only).
func TestQGemmMatchesGo(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("x86 kernels run on amd64 only")
	}
	if testing.Short() {
		t.Skip("builds a package")
	}
	k := newKernels()
	for _, tl := range QGemmTiles {
		k.add(QGemmMicros(tl))
	}
	var tiers []string
	if cpu.X86.HasAVX2 {
		tiers = append(tiers, "avx2")
	}
	if cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512VL {
		tiers = append(tiers, "avx512vnni")
	}
	t.Logf("running tiers %v (the rest are built and vetted only)", tiers)
	src := qgemmSrc()
	var env []string
	if os.Getenv("MODELC_QGEMM_BENCH") != "" {
		// The speed comparison: the f32 GEMM kernels of the same size
		// in the same package, one thread, same run.
		p := gemm.VectorParams(512, 512, 1)
		for _, tier := range []string{"avx512", "avx2"} {
			src += k.Linear(isa.LinearSpec{N: 512, K: 512, PW: p.Panel()}, "f32gemm_"+tier, tier) + "\n"
		}
		src += fmt.Sprintf("const f32Panels, f32PW = %d, %d\n", p.Panels(), p.Panel()) + driver.GemmArgs
		out := filepath.Join(t.TempDir(), "bench.txt")
		env = []string{"QGEMM_BENCH_OUT=" + out}
		defer func() {
			data, err := os.ReadFile(out)
			if err == nil {
				t.Logf("GEMM 512×512×512, one thread:\n%s", data)
			}
		}()
		drivertest.Run(t, moduleRoot(t), tiers, k, src, qgemmTest+qgemmBench, "kernels_amd64.s", env, "")
		return
	}
	drivertest.Run(t, moduleRoot(t), tiers, k, src, qgemmTest, "kernels_amd64.s", env, "")
}

// qgemmSrc is the test package: the argument block, each tier's
// microkernels by row count, and a driver.
func qgemmSrc() string {
	var b strings.Builder
	b.WriteString("package kerneltest\n\nimport (\n\"runtime\"\n\"unsafe\"\n)\n\n" + QGemmDecl + "\n")
	b.WriteString("var micros = map[string][]func(*qgemmArgs){\n")
	for _, tl := range QGemmTiles {
		var names []string
		for r := 1; r <= tl.MR; r++ {
			names = append(names, QGemmName(tl, r))
		}
		fmt.Fprintf(&b, "%q: {%s},\n", tl.Tier, strings.Join(names, ", "))
	}
	b.WriteString("}\n\nvar widths = map[string]int{\n")
	for _, tl := range QGemmTiles {
		fmt.Fprintf(&b, "%q: %d,\n", tl.Tier, tl.W)
	}
	b.WriteString("}\n" + qgemmDriver)
	return b.String()
}

const qgemmDriver = `
// gemm is c = a·w with tier's microkernels: every panel, rows in tiles
// of MR and a last tile of the rest; a partial last panel goes through
// a scratch tile.
func gemm(tier string, m, n, g int, a []uint8, lda int, b []int8, c []int32, ldc int) {
	w, ks := widths[tier], micros[tier]
	mr := len(ks)
	tmp := make([]int32, mr*w)
	for p := 0; p*w < n; p++ {
		cols := min(w, n-p*w)
		for i := 0; i < m; i += mr {
			r := min(mr, m-i)
			args := qgemmArgs{a: unsafe.Pointer(&a[i*lda]), b: unsafe.Pointer(&b[p*g*w*4]), lda: lda, k4: g}
			if cols == w {
				args.c, args.ldc = unsafe.Pointer(&c[i*ldc+p*w]), 4*ldc
			} else {
				args.c, args.ldc = unsafe.Pointer(&tmp[0]), 4*w
			}
			ks[r-1](&args)
			if cols < w {
				for ii := range r {
					copy(c[(i+ii)*ldc+p*w:][:cols], tmp[ii*w:][:cols])
				}
			}
		}
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(tmp)
}
`

const qgemmTest = `package kerneltest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelc/modelc/runtime/quant"
)

// fmt and time are for TestQGemmSpeed, appended when it is measured.
var _, _ = fmt.Sprint, time.Second

func TestQGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	type shape struct{ m, n, k int; fill string }
	var shapes []shape
	for _, k := range []int{1, 2, 3, 4, 5, 31, 64, 100, 259} {
		shapes = append(shapes, shape{1 + rng.IntN(20), 1 + rng.IntN(70), k, "random"})
	}
	for m := 1; m <= 9; m++ {
		shapes = append(shapes, shape{m, 40, 13, "random"})
	}
	shapes = append(shapes, shape{9, 33, 64, "max"}, shape{9, 33, 64, "min"}, shape{5, 17, 7, "zero"}, shape{3, 8, 65536, "max"})
	for _, tier := range strings.Split(os.Getenv("KERNEL_TIERS"), ",") {
		if tier == "" {
			continue
		}
		w := widths[tier]
		for _, s := range shapes {
			g := quant.Groups(s.k)
			lda := 4*g + 4*rng.IntN(2)
			a := make([]uint8, s.m*lda)
			wt := make([]int8, s.n*s.k)
			for i := range a {
				a[i] = uint8(rng.IntN(256))
			}
			for i := range wt {
				wt[i] = int8(rng.IntN(256) - 128)
			}
			switch s.fill {
			case "max": // the largest products: 255·(−128), 255·127
				for i := range a {
					a[i] = 255
				}
				for i := range wt {
					wt[i] = [2]int8{-128, 127}[(i/s.k)%2]
				}
			case "min":
				for i := range a {
					a[i] = 0
				}
			case "zero":
				clear(wt)
			}
			b := quant.PackS8(wt, s.n, s.k, w)
			want := make([]int32, s.m*s.n)
			got := make([]int32, s.m*s.n)
			for i := range got {
				got[i] = -7
			}
			quant.GemmU8S8(s.m, s.n, s.k, a, lda, b, w, want, s.n)
			gemm(tier, s.m, s.n, g, a, lda, b, got, s.n)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s m%d n%d k%d %s: c[%d,%d] = %d, want %d", tier, s.m, s.n, s.k, s.fill, i/s.n, i%s.n, got[i], want[i])
				}
			}
		}
		t.Logf("%s: %d shapes bit-exact with quant.GemmU8S8", tier, len(shapes))
	}
}
`

// qgemmBench measures int8 and f32 GEMM 512³ on one thread in the same
// run and writes GMAC/s and the ratios to $QGEMM_BENCH_OUT.
const qgemmBench = `
func TestQGemmSpeed(t *testing.T) {
	out := os.Getenv("QGEMM_BENCH_OUT")
	if out == "" {
		t.Skip("MODELC_QGEMM_BENCH=1 go test ./codegen/isa/amd64 -run TestQGemmMatchesGo")
	}
	const M, N, K = 512, 512, 512
	macs := float64(M * N * K)
	var lines []string
	gmacs := map[string]float64{}
	measure := func(name string, f func()) {
		f()
		r := testing.Benchmark(func(b *testing.B) {
			for range b.N {
				f()
			}
		})
		gmacs[name] = macs / float64(r.NsPerOp())
		lines = append(lines, fmt.Sprintf("%-16s %7.1f GMAC/s (%v a call)", name, gmacs[name], time.Duration(r.NsPerOp())))
	}
	x := make([]float32, M*K)
	wp := make([]float32, f32Panels*K*f32PW)
	y := make([]float32, M*N)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	for i := range wp {
		wp[i] = float32(i%5) - 2
	}
	f32 := map[string]func(m, lo, hi int, y, x, wp, bias, resid []float32){"avx512": f32gemm_avx512, "avx2": f32gemm_avx2}
	for _, tier := range []string{"avx512", "avx2"} {
		measure("f32 "+tier, func() { f32[tier](M, 0, f32Panels, y, x, wp, nil, nil) })
	}
	g := quant.Groups(K)
	a := make([]uint8, M*4*g)
	for i := range a {
		a[i] = uint8(i % 251)
	}
	w := make([]int8, N*K)
	for i := range w {
		w[i] = int8(i%255 - 127)
	}
	c := make([]int32, M*N)
	for _, tier := range strings.Split(os.Getenv("KERNEL_TIERS"), ",") {
		b := quant.PackS8(w, N, K, widths[tier])
		measure("int8 "+tier, func() { gemm(tier, M, N, g, a, 4*g, b, c, N) })
	}
	for _, tier := range strings.Split(os.Getenv("KERNEL_TIERS"), ",") {
		for _, f := range []string{"avx512", "avx2"} {
			lines = append(lines, fmt.Sprintf("int8 %s / f32 %s: %.2fx", tier, f, gmacs["int8 "+tier]/gmacs["f32 "+f]))
		}
	}
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
`

func (k *kernels) QGemm(s isa.QGemmSpec, name, tier string) string {
	for _, kn := range (Target{}).QGemm(s) {
		if kn.Tier.Name == tier {
			p := kn.Part.(part)
			k.add(p.funcs)
			return strings.Replace(p.goSrc, "func "+kn.Name+"(", "func "+name+"(", 1)
		}
	}
	panic("no qgemm kernel for tier " + tier)
}

// TestX86QGemmMatchesGo runs the drivers' integer conformance suite
// (drivertest.QGemm: every row tail, partial tiles and panels, the
// extremes, K to the int32 headroom) on the isa.QGemm kernels this CPU
// runs — VNNI where it has AVX512-VNNI, AVX2 — against quant.GemmU8S8.
func TestX86QGemmMatchesGo(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("x86 kernels run on amd64 only")
	}
	if testing.Short() {
		t.Skip("builds a package")
	}
	var tiers []string
	if cpu.X86.HasAVX2 {
		tiers = append(tiers, "avx2")
	}
	if cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512VL {
		tiers = append(tiers, "vnni")
	}
	if len(tiers) == 0 {
		t.Skip("no integer tier on this CPU")
	}
	k := newKernels()
	src, test := drivertest.QGemm(k, tiers, qgemmPW, driver.QGemmArgs, drivertest.QGemmCases)
	drivertest.Run(t, moduleRoot(t), tiers, k, src, test, "kernels_amd64.s", nil, "")
}
