package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// layouts place x, W and y (offsets in floats from a 4 KiB boundary).
// gonum's Sgemm swings by 2× with them (its dot products read rows of x
// and W at once, and rows 4 KiB apart compete for the same cache sets);
// "page" is where large make() allocations usually land.
var layouts = []struct {
	name      string
	x, w, y   int
	alternate bool // also run benchAlternatives
}{
	{"page", 0, 0, 0, true},
	{"skew", 0, 528, 272, false},
}

// place returns n floats starting off floats past a 4 KiB boundary.
func place(r *rand.Rand, n, off int) []float32 {
	s := randSlice(r, n+1024+off)
	a := int(uintptr(unsafe.Pointer(unsafe.SliceData(s))) % 4096 / 4)
	start := (1024-a)%1024 + off
	return s[start : start+n : start+n]
}

// BenchmarkSgemm compares, single-threaded, y[M×N] = x[M×K]·Wᵀ by the
// Default variant (impl=modelc), the variants in benchAlternatives
// (impl=MRxNR_kcKC_uKU), a naive ikj loop over Wᵀ and gonum's
// Sgemm(NoTrans, Trans) (GOMAXPROCS 1), in GFLOP/s. Compare with
//
//	go test ./codegen/gemm -run '^$' -bench Sgemm -count 5 | benchstat -col /impl -
func BenchmarkSgemm(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	byName := map[string]kernel{}
	for _, k := range kernels {
		byName[k.p.Name()] = k
	}
	for _, s := range benchShapes {
		M, N, K := s[0], s[1], s[2]
		flops := 2 * float64(M) * float64(N) * float64(K)
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		for _, l := range layouts {
			r := rand.New(rand.NewPCG(1, 2))
			x, w, y := place(r, M*K, l.x), place(r, N*K, l.w), place(r, M*N, l.y)
			name := fmt.Sprintf("m%d_n%d_k%d/layout=%s", M, N, K, l.name)
			variant := func(impl string, p Params) {
				k, ok := byName[p.Name()]
				if !ok {
					b.Fatalf("%s not in zkernels_test.go: run go test ./codegen/gemm -run TestGenerate -update", p.Name())
				}
				wp := place(r, p.PackedLen(), l.w)
				copy(wp, Pack(p, w))
				b.Run(name+"/impl="+impl, func(b *testing.B) {
					for b.Loop() {
						k.fn(M, 0, p.Blocks(), y, x, wp, nil)
					}
					report(b)
				})
			}
			def := Default(N, K, M)
			variant("modelc", def)
			for _, a := range benchAlternatives {
				a.N, a.K = N, K
				if l.alternate && a.Name() != def.Name() && hasAltShape(N, K) {
					variant(fmt.Sprintf("%dx%d_kc%d_u%d", a.MR, a.NR, a.KC, a.unroll()), a)
				}
			}
			b.Run(name+"/impl=naive", func(b *testing.B) {
				wT := make([]float32, K*N)
				for j := range N {
					for k := range K {
						wT[k*N+j] = w[j*K+k]
					}
				}
				for b.Loop() {
					clear(y)
					for i := 0; i < M; i++ {
						for k := 0; k < K; k++ {
							a := x[i*K+k]
							for j := 0; j < N; j++ {
								y[i*N+j] += a * wT[k*N+j]
							}
						}
					}
				}
				report(b)
			})
			b.Run(name+"/impl=gonum", func(b *testing.B) {
				for b.Loop() {
					gonum.Implementation{}.Sgemm(blas.NoTrans, blas.Trans, M, N, K, 1, x, K, w, K, 0, y, N)
				}
				report(b)
			})
		}
	}
}

func hasAltShape(n, k int) bool {
	for _, s := range benchAltShapes {
		if s == [2]int{n, k} {
			return true
		}
	}
	return false
}
