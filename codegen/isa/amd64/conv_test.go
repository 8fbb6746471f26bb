package amd64

import (
	"fmt"
	"strings"
	"testing"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
)

// x86Convs are the direct-convolution rows the kernels are checked on:
// 3–64 input channels, output channels that are whole panels and that
// leave a column tail (10, 33), 1×1, 3×1, 3×3 and 5×5 windows, strides 1
// and 2, padded rows wider than the windows need (Wp), output rows of
// 7–32 pixels (tails of every tile height), and every epilogue.
var x86Convs = []isa.ConvRowSpec{
	{C: 3, O: 10, KH: 3, KW: 3, SW: 1, Wp: 13, OW: 11, Bias: true, Epi: isa.Epilogue{Resid: true, Act: "relu"}},
	{C: 16, O: 16, KH: 3, KW: 3, SW: 1, Wp: 34, OW: 32, Bias: true, Epi: isa.Epilogue{Resid: true, Act: "relu"}},
	{C: 16, O: 32, KH: 3, KW: 3, SW: 2, Wp: 34, OW: 16},
	{C: 32, O: 64, KH: 3, KW: 3, SW: 1, Wp: 11, OW: 8, Bias: true, Epi: isa.Epilogue{Resid: true, Act: "gelu"}},
	{C: 5, O: 33, KH: 1, KW: 1, SW: 1, Wp: 7, OW: 7, Bias: true, Epi: isa.Epilogue{Act: "gelu"}},
	{C: 8, O: 48, KH: 5, KW: 5, SW: 2, Wp: 22, OW: 9, Epi: isa.Epilogue{Act: "relu"}},
	{C: 64, O: 16, KH: 3, KW: 1, SW: 1, Wp: 20, OW: 20},
}

// TestX86ConvMatchesRef builds every x86Convs row driver (AVX-512 and
// AVX2) and checks one output row against a float64 direct convolution
// over the same padded input and weights, by design.md's kernel rule,
// with guard values around the row that must stay untouched, a NaN input
// that must reach exactly the outputs whose windows hold it, and the
// weights read from gemm.Pack's panels as the generated code stores them.
func TestX86ConvMatchesRef(t *testing.T) {
	tiers := x86Tiers(t)
	var goSrc, table strings.Builder
	file := newX86File()
	goSrc.WriteString(x86PackageHead)
	table.WriteString("var convs = []conv{\n")
	for i, s := range x86Convs {
		s.PW = gemm.VectorPanel(s.O)
		drivers := map[string]string{}
		for _, tier := range []string{"avx512", "avx2"} {
			name := fmt.Sprintf("c%d_%s", i, tier)
			src, fns := emitConvRow(s, name, convTile(tier, s.OW, s.PW, s.KW*s.C))
			goSrc.WriteString(src + "\n")
			file.add(fns)
			drivers[tier] = name
		}
		fmt.Fprintf(&table, "{%d, %d, %d, %d, %d, %d, %d, %d, %v, %v, %q, map[string]func(x, wp, bias, y, resid []float32){\"avx512\": %s, \"avx2\": %s}},\n",
			s.C, s.O, s.KH, s.KW, s.SW, s.Wp, s.OW, s.PW, s.Bias, s.Epi.Resid, s.Epi.Act, drivers["avx512"], drivers["avx2"])
	}
	table.WriteString("}\n")
	goSrc.WriteString(table.String())
	goSrc.WriteString(file.GoDecls())
	runX86Package(t, tiers, goSrc.String(), file.AMD64(), x86ConvTestMain)
}

// x86ConvTestMain is the test that runs inside the generated package.
const x86ConvTestMain = `package x86test

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
	tiers := strings.Split(os.Getenv("X86_TIERS"), ",")
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
