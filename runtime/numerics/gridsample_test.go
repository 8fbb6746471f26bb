package numerics

import (
	"math"
	"testing"
)

// gs1 samples the 1-D signal x (one batch, one channel) at normalised
// coordinates g.
func gs1(o GridSample, x []float32, g ...float32) []float32 {
	y := make([]float32, len(g))
	o.Float32(y, x, g, []int{1, 1, len(x)}, []int{1, len(g), 1})
	return y
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5 }

// TestGridSample1D checks hand-computed samples of x = [1, 2, 4] (D = 3):
// without align_corners g maps to ((g+1)·3-1)/2, so -1 → -0.5, 0 → 1,
// 1 → 2.5, -0.6 → 0.1, 1.4 → 3.1; with it (g+1), so 0.5 → 1.5.
func TestGridSample1D(t *testing.T) {
	x := []float32{1, 2, 4}
	cases := []struct {
		o    GridSample
		g    []float32
		want []float32
	}{
		// zeros: -0.5 is half pixel -1 (0) and half pixel 0 (1).
		{GridSample{Mode: "linear", Padding: "zeros"}, []float32{-1, 0, 1, -0.6, 1.4}, []float32{0.5, 2, 2, 1.1, 0}},
		// border: coordinates past [-0.5, 2.5] clamp to [0, 2]; -0.5 reads pixel 0 twice.
		{GridSample{Mode: "linear", Padding: "border"}, []float32{-1, 1, 1.4, -3}, []float32{1, 4, 4, 1}},
		// reflection about -0.5 and 2.5: 3.1 → 1.9 (2 + 0.9·2 = 3.8),
		// g = -4/3 → -1 → 0 (1), g = -1.5 → -1.25 → 0.25 (1.25).
		{GridSample{Mode: "linear", Padding: "reflection"}, []float32{1.4, -4.0 / 3, -1.5}, []float32{3.8, 1, 1.25}},
		// align_corners maps g to (g+1)/2·2: -1 → 0, 0.5 → 1.5 (3),
		// 1.5 → 2.5 reflected about 2 → 1.5 (3), 2.2 → 3.2 → 0.8 (1.8).
		{GridSample{Mode: "linear", Padding: "reflection", AlignCorners: true}, []float32{-1, 0.5, 1.5, 2.2}, []float32{1, 3, 3, 1.8}},
		// zeros: 2.5 is half pixel 2 (4) and half nothing; -0.5 half pixel 0.
		{GridSample{Mode: "linear", Padding: "zeros", AlignCorners: true}, []float32{1.5, -1.5, 2}, []float32{2, 0.5, 0}},
		// nearest rounds half to even: g = -1/3 → 0.5 → 0; g = 1/3 → 1.5 → 2.
		{GridSample{Mode: "nearest", Padding: "zeros"}, []float32{-1.0 / 3, 1.0 / 3, -1, 1.4}, []float32{1, 4, 1, 0}},
		{GridSample{Mode: "nearest", Padding: "border"}, []float32{1.4, -2}, []float32{4, 1}},
		// cubic at a pixel centre is the pixel: 0 → 1 without align_corners.
		{GridSample{Mode: "cubic", Padding: "zeros"}, []float32{0}, []float32{2}},
	}
	for i, c := range cases {
		got := gs1(c.o, x, c.g...)
		for j := range got {
			if !near(got[j], c.want[j]) {
				t.Errorf("case %d (%+v): g=%v: got %v, want %v", i, c.o, c.g[j], got[j], c.want[j])
			}
		}
	}
}

// TestGridSampleCubic checks the cubic weights halfway between pixels
// (-0.09375, 0.59375, 0.59375, -0.09375 for a = -0.75) and the 2-D axis
// order: grid's first coordinate indexes the last axis.
func TestGridSampleCubic(t *testing.T) {
	x := []float32{1, 2, 4, 8, 16}
	// g = -0.2 → ((0.8)·5-1)/2 = 1.5: taps 0..3.
	got := gs1(GridSample{Mode: "cubic", Padding: "zeros"}, x, -0.2)[0]
	want := float32(-0.09375*1 + 0.59375*2 + 0.59375*4 - 0.09375*8)
	if !near(got, want) {
		t.Errorf("cubic: got %v, want %v", got, want)
	}
	// 2-D: x is 2×3 rows [0 1 2; 10 11 12]; with align_corners,
	// (x=1, y=-1) is row 0, column 2, and (x=-1, y=1) row 1, column 0.
	x2 := []float32{0, 1, 2, 10, 11, 12}
	y := make([]float32, 3)
	o := GridSample{Mode: "linear", Padding: "zeros", AlignCorners: true}
	o.Float32(y, x2, []float32{1, -1, -1, 1, 0, 0}, []int{1, 1, 2, 3}, []int{1, 3, 1, 2})
	for i, w := range []float32{2, 10, 6} {
		if !near(y[i], w) {
			t.Errorf("2-D sample %d: got %v, want %v", i, y[i], w)
		}
	}
}

// TestGridSampleNoAlloc checks that sampling allocates nothing (generated
// code calls it on every run).
func TestGridSampleNoAlloc(t *testing.T) {
	x := make([]float32, 2*3*4*5)
	g := make([]float32, 2*3*3*2)
	y := make([]float32, 2*3*3*3)
	o := &GridSample{Mode: "cubic", Padding: "reflection"}
	if n := testing.AllocsPerRun(10, func() { o.Float32(y, x, g, []int{2, 3, 4, 5}, []int{2, 3, 3, 2}) }); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}
