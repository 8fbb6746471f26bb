package drivertest

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/isa"
)

// QKernels is what a target with integer GEMM kernels gives the suite:
// its isa.QGemm driver for a spec at a tier (registering the
// microkernels it calls), then its assembly (Kernels.Asm).
type QKernels interface {
	QGemm(s isa.QGemmSpec, name, tier string) string
	Asm() (decls, file string)
}

// QGemmCases are the integer layers the kernels are checked on: N of one
// column, of a partial tile and of partial panels, K = 1, K % 4 ≠ 0, and
// K up to the int32 headroom of docs/algorithms.md §5.5 (255·128·K <
// 2^31).
var QGemmCases = []isa.QGemmSpec{
	{N: 1, K: 1}, {N: 8, K: 4}, {N: 13, K: 3}, {N: 32, K: 64}, {N: 33, K: 7},
	{N: 70, K: 129}, {N: 100, K: 784}, {N: 10, K: 65536},
}

// QGemm returns the package source checking cases (QGemmCases, or a
// target's own) at tiers on weights packed in panels of pw columns: the
// drivers, the table the test walks (the pure-Go twin is
// quant.GemmU8S8), and the test. Every case runs row counts 1…17 (every
// tail of every tile) with a random row stride of c, on random bytes,
// then the extremes: activations 255 against weights −128 and 127 (the
// largest products, the sum at its largest for K = 65536), activations 0
// against them (x − 128 = −128 in kernels that read u8 as s8: the
// product 2^14 that a 16-bit pair sum would overflow), activations 0,
// weights 0, and for K past 4096 sums that wrap past 2^31 as int32 (the
// twin wraps too).
func QGemm(k QKernels, tiers []string, pw int, argDecls string, cases []isa.QGemmSpec) (goSrc, test string) {
	var b, table strings.Builder
	b.WriteString(head + argDecls + "\n")
	table.WriteString("var qlayers = []qlayer{\n")
	for i, s := range cases {
		s.PW = pw
		var drivers []string
		for _, tier := range tiers {
			name := fmt.Sprintf("q%d_%s", i, tier)
			b.WriteString(k.QGemm(s, name, tier) + "\n")
			drivers = append(drivers, fmt.Sprintf("%q: %s", tier, name))
		}
		fmt.Fprintf(&table, "{%d, %d, %d, map[string]func(m int, a []uint8, lda int, b []int8, c []int32, ldc int){%s}},\n", s.N, s.K, s.PW, strings.Join(drivers, ", "))
	}
	table.WriteString("}\n")
	b.WriteString(table.String())
	return b.String(), qgemmTest
}

const qgemmTest = `package kerneltest

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/modelc/modelc/runtime/quant"
)

type qlayer struct {
	n, k, pw int
	drivers  map[string]func(m int, a []uint8, lda int, b []int8, c []int32, ldc int)
}

func TestQGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 8))
	tiers := strings.Split(os.Getenv("KERNEL_TIERS"), ",")
	checked := 0
	for _, l := range qlayers {
		g := quant.Groups(l.k)
		fills := []string{"random", "max", "min", "zero", "zerow"}
		rows := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17}
		if l.k > 4096 {
			fills, rows = []string{"random", "max", "wrap"}, []int{1, 5, 9}
		}
		for _, fill := range fills {
			for _, m := range rows {
				lda := 4*g + 4*rng.IntN(3)
				a := make([]uint8, m*lda)
				w := make([]int8, l.n*l.k)
				for i := range a {
					a[i] = uint8(rng.IntN(256))
				}
				for i := range w {
					w[i] = int8(rng.IntN(256) - 128)
				}
				switch fill {
				case "max": // 255·(−128), 255·127
					for i := range a {
						a[i] = 255
					}
					for i := range w {
						w[i] = [2]int8{-128, 127}[(i/l.k)%2]
					}
				case "min": // 0·(−128): (x − 128)·w = 2^14 in kernels reading u8 as s8
					clear(a)
					for i := range w {
						w[i] = [2]int8{-128, 127}[(i/l.k)%2]
					}
				case "zero":
					clear(a)
				case "zerow":
					clear(w)
				case "wrap": // Σ 255·127 past 2^31 for K past the headroom: wraps as int32, as the twin's sum
					for i := range a {
						a[i] = 255
					}
					for i := range w {
						w[i] = [3]int8{127, -128, 1}[(i/l.k)%3]
					}
				}
				b := quant.PackS8(w, l.n, l.k, l.pw)
				ldc := l.n + 1 + rng.IntN(3)
				want := make([]int32, m*ldc)
				quant.GemmU8S8(m, l.n, l.k, a, lda, b, l.pw, want, ldc)
				for _, tier := range tiers {
					if tier == "" {
						continue
					}
					got := make([]int32, m*ldc)
					for i := range got {
						got[i] = -7 // guards: the columns past n stay untouched
					}
					l.drivers[tier](m, a, lda, b, got, ldc)
					for i := range m {
						for j := range ldc {
							w := want[i*ldc+j]
							if j >= l.n {
								w = -7
							}
							if got[i*ldc+j] != w {
								t.Fatalf("%s n%d k%d %s m%d: c[%d,%d] = %d, want %d", tier, l.n, l.k, fill, m, i, j, got[i*ldc+j], w)
							}
						}
					}
					checked++
				}
			}
		}
	}
	t.Logf("%d layer × rows × fill × tier cases bit-exact with quant.GemmU8S8", checked)
}
`
