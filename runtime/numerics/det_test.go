package numerics

import "testing"

// TestDet checks hand-computed determinants: a permutation needing pivots
// (sign flips), a singular matrix and a 3×3.
func TestDet(t *testing.T) {
	cases := []struct {
		n    int
		x    []float32
		want float64
	}{
		{1, []float32{-3}, -3},
		{2, []float32{1, 2, 3, 4}, -2},
		{2, []float32{0, 1, 1, 0}, -1},                   // one row swap
		{3, []float32{0, 0, 2, 0, 3, 0, 5, 0, 0}, -30},   // anti-diagonal: one swap
		{3, []float32{2, -1, 0, -1, 2, -1, 0, -1, 2}, 4}, // tridiagonal
		{3, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 0},     // singular
	}
	a := make([]float64, 9)
	for _, c := range cases {
		if got := Det(c.x, c.n, a); got-c.want > 1e-9 || c.want-got > 1e-9 {
			t.Errorf("det %v = %v, want %v", c.x, got, c.want)
		}
	}
}
