package ir

import (
	"math/rand/v2"
	"testing"
)

func naiveGemm(m, n, k int, a, b mat) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a.at(i, p)) * float64(b.at(p, j))
			}
			c[i*n+j] = s
		}
	}
	return c
}

func randF32(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func TestGemm64MatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {0, 3, 4}, {3, 0, 2}, {2, 3, 0}, {5, 7, 1}, {13, 17, 300}, {67, 129, 35}, {70, 300, 270}, {1, 513, 257}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				ad, bd := randF32(r, m*k), randF32(r, k*n)
				a, b := rowMajor(ad, 0, k), rowMajor(bd, 0, n)
				if ta {
					a = transposed(ad, 0, m)
				}
				if tb {
					b = transposed(bd, 0, k)
				}
				want := naiveGemm(m, n, k, a, b)
				for _, th := range []int{1, 2, 3} {
					got := make([]float64, m*n)
					gemm64(m, n, k, a, b, got, th)
					for i := range want {
						if d := got[i] - want[i]; d > 1e-9 || d < -1e-9 {
							t.Fatalf("m=%d n=%d k=%d ta=%v tb=%v threads=%d: c[%d]=%g want %g", m, n, k, ta, tb, th, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

func BenchmarkGemm64(b *testing.B) {
	for _, s := range [][3]int{{256, 256, 256}, {32, 768, 3072}} {
		m, n, k := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(1, 2))
		a, bb := rowMajor(randF32(r, m*k), 0, k), transposed(randF32(r, k*n), 0, k)
		c := make([]float64, m*n)
		b.Run(fmtShape(s), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				gemm64(m, n, k, a, bb, c, 1)
			}
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func fmtShape(s [3]int) string {
	return StaticShape(s[:]...).String()
}
