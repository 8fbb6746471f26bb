package numerics

import (
	"fmt"
	"testing"
)

// TestResize checks hand-worked cases: nearest neighbours on asymmetric
// coordinates rounded down (ONNX Resize-10, Upsample), linear with
// aligned corners, and an axis of factor 1 left alone.
func TestResize(t *testing.T) {
	for _, tc := range []struct {
		r      Resize
		x      []float32
		xs, os []int
		scales []float64
		want   []float32
	}{
		{Resize{Mode: "nearest", Coord: "asymmetric", Nearest: "floor"}, []float32{1, 2}, []int{1, 2}, []int{1, 4}, []float64{1, 2},
			[]float32{1, 1, 2, 2}},
		{Resize{Mode: "linear", Coord: "align_corners"}, []float32{0, 3}, []int{1, 2}, []int{1, 4}, []float64{1, 2},
			[]float32{0, 1, 2, 3}},
		{Resize{Mode: "linear", Coord: "half_pixel"}, []float32{0, 4, 8, 12}, []int{2, 2}, []int{2, 1}, []float64{1, 0.5},
			[]float32{2, 10}},
	} {
		got := make([]float32, len(tc.want))
		tc.r.Float32(got, tc.x, tc.xs, tc.os, tc.scales)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v on %v: got %v, want %v", tc.r, tc.x, got, tc.want)
		}
	}
}
