package gemm

// Ref returns y[m×n] = x[m×k]·wᵀ + bias in float64, w [n, k] row-major and
// bias [n] or nil: the reference every variant is checked against.
func Ref(m, n, k int, x, w, bias []float32) []float64 {
	y := make([]float64, m*n)
	for i := range m {
		xi := x[i*k : (i+1)*k]
		for j := range n {
			var s float64
			if bias != nil {
				s = float64(bias[j])
			}
			for l, wv := range w[j*k : (j+1)*k] {
				s += float64(xi[l]) * float64(wv)
			}
			y[i*n+j] = s
		}
	}
	return y
}
