package limits

import (
	"math"
	"testing"
)

func TestElems(t *testing.T) {
	for _, tc := range []struct {
		dims []int
		n    int
		ok   bool
	}{
		{nil, 1, true},
		{[]int{3, 4}, 12, true},
		{[]int{1 << 14, 1 << 14}, 1 << 28, true},
		{[]int{1 << 14, 1<<14 + 1}, 1<<28 + 1<<14, false},
		{[]int{-4, 2}, -1, false},
		{[]int{1 << 62, 4}, -1, false},
		{[]int{math.MaxInt, math.MaxInt, 0}, 0, true},
		{[]int{math.MaxInt, math.MaxInt}, -1, false},
	} {
		n, ok := Elems(tc.dims, TensorElems)
		if n != tc.n || ok != tc.ok {
			t.Errorf("Elems(%v) = %d, %v, want %d, %v", tc.dims, n, ok, tc.n, tc.ok)
		}
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[float64]string{12: "12 bytes", 1536: "1.5 KiB", 40e9: "37.3 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%g) = %q, want %q", n, got, want)
		}
	}
}
