package numerics

import "math"

// Det is the determinant of the n×n row-major matrix x by LU
// decomposition with partial pivoting, in float64 (as LAPACK's getrf,
// which numpy.linalg.det calls); a (n·n) is its scratch. A singular
// matrix gives 0 (or ±0).
func Det(x []float32, n int, a []float64) float64 {
	a = a[:n*n]
	for i := range a {
		a[i] = float64(x[i])
	}
	det := 1.0
	for k := range n {
		p, best := k, math.Abs(a[k*n+k])
		for i := k + 1; i < n; i++ {
			if v := math.Abs(a[i*n+k]); v > best {
				p, best = i, v
			}
		}
		if p != k {
			for j := range n {
				a[k*n+j], a[p*n+j] = a[p*n+j], a[k*n+j]
			}
			det = -det
		}
		piv := a[k*n+k]
		det *= piv
		if piv == 0 {
			continue // singular (or NaN propagates through det)
		}
		for i := k + 1; i < n; i++ {
			f := a[i*n+k] / piv
			for j := k + 1; j < n; j++ {
				a[i*n+j] -= f * a[k*n+j]
			}
		}
	}
	return det
}
