package numerics

import "math"

// GridSampleMaxAxes is the most spatial axes GridSample takes (2-D and
// 3-D sampling, and 1-D).
const GridSampleMaxAxes = 3

// GridSample is ONNX GridSample (opsets 16–22), shared by the reference
// evaluator (ir's grid_sample op) and generated packages. x has shape
// (N, C, D₁…D_r), grid (N, O₁…O_r, r) and y (N, C, O₁…O_r); grid's last
// axis holds normalised coordinates in [-1, 1] in reverse axis order
// (x for the last axis D_r first). Each coordinate g maps to the pixel
// coordinate (g+1)/2·(D-1) with AlignCorners, else ((g+1)·D-1)/2;
// Mode "nearest" rounds it half to even, "linear" weighs the 2
// neighbours per axis, "cubic" the 4 with coefficient -0.75. Padding
// says what lies outside: "zeros" (zero pixels), "border" (coordinates
// clamped to the edge, pixels to the edge pixel) or "reflection"
// (coordinates and pixel indices reflected at the borders: the outer
// pixel edges -0.5 and D-0.5, or the centres 0 and D-1 with
// AlignCorners). This follows the ONNX reference implementation
// (onnx/reference/ops/op_grid_sample.py) step by step; arithmetic is in
// float64. It allocates nothing.
type GridSample struct {
	Mode, Padding string
	AlignCorners  bool
}

// gsTaps is one axis's neighbours of a sample: indices into the axis
// (-1: a zero pixel) and weights.
type gsTaps struct {
	n   int
	idx [4]int
	w   [4]float64
}

// Float32 samples x (shape xs: N, C, D…) at grid into y; gs is the
// grid's shape (N, O…, r).
func (o *GridSample) Float32(y, x, grid []float32, xs, gs []int) {
	r := len(xs) - 2
	nb, ch := xs[0], xs[1]
	dims := xs[2:]
	inner := 1 // pixels of one (n, c) plane of x
	for _, d := range dims {
		inner *= d
	}
	npos := 1 // output positions per (n, c)
	for _, d := range gs[1 : 1+r] {
		npos *= d
	}
	var taps [GridSampleMaxAxes]gsTaps
	var stride [GridSampleMaxAxes]int
	s := 1
	for a := r - 1; a >= 0; a-- {
		stride[a] = s
		s *= dims[a]
	}
	for n := range nb {
		for p := range npos {
			g := grid[(n*npos+p)*r : (n*npos+p+1)*r]
			empty := false
			for a := range r {
				o.axisTaps(&taps[a], float64(g[r-1-a]), dims[a])
				empty = empty || taps[a].n == 0
			}
			for c := range ch {
				plane := x[(n*ch+c)*inner : (n*ch+c+1)*inner]
				sum := 0.0
				if !empty {
					sum = gsSum(plane, taps[:r], stride[:r], 0, 0, 1)
				}
				y[(n*ch+c)*npos+p] = float32(sum)
			}
		}
	}
}

// gsSum is the weighted sum over the taps of axes a… (the tensor product
// of the per-axis weights), off the offset of axes before a, scaled by
// their weight w.
func gsSum(plane []float32, taps []gsTaps, stride []int, a, off int, w float64) float64 {
	t := &taps[a]
	sum := 0.0
	for k := range t.n {
		if t.idx[k] < 0 || t.w[k] == 0 {
			continue
		}
		o := off + t.idx[k]*stride[a]
		if a == len(taps)-1 {
			sum += w * t.w[k] * float64(plane[o])
		} else {
			sum += gsSum(plane, taps, stride, a+1, o, w*t.w[k])
		}
	}
	return sum
}

// axisTaps computes one axis's neighbours of the normalised coordinate g
// on an axis of length d.
func (o *GridSample) axisTaps(t *gsTaps, g float64, d int) {
	lo, hi := -0.5, float64(d)-0.5
	var v float64
	if o.AlignCorners {
		lo, hi = 0, float64(d-1)
		v = (g + 1) / 2 * float64(d-1)
	} else {
		v = ((g+1)*float64(d) - 1) / 2
	}
	if o.Mode == "nearest" {
		v = math.RoundToEven(v)
	}
	if v < lo || v > hi {
		switch o.Padding {
		case "border":
			v = min(max(v, 0), float64(d-1))
		case "reflection":
			v = gsReflect(v, lo, hi)
		}
	}
	if math.IsNaN(v) {
		t.n = 0 // NaN coordinates give 0 (no pixel to read)
		return
	}
	v = min(max(v, -1<<40), 1<<40) // keep int conversions defined
	switch o.Mode {
	case "nearest":
		t.n = 1
		t.idx[0], t.w[0] = o.pixel(int(v), d, lo, hi), 1 // int truncates, as the reference's astype(int32)
	case "linear":
		f := math.Floor(v)
		i0, r := int(f), v-f
		t.n = 2
		t.idx[0], t.w[0] = o.pixel(i0, d, lo, hi), 1-r
		t.idx[1], t.w[1] = o.pixel(i0+1, d, lo, hi), r
	default: // cubic
		f := math.Floor(v)
		i0, r := int(f), v-f
		const a = -0.75
		x := r + 1
		t.w[0] = ((a*x-5*a)*x+8*a)*x - 4*a
		t.w[1] = ((a+2)*r-(a+3))*r*r + 1
		x = 1 - r
		t.w[2] = ((a+2)*x-(a+3))*x*x + 1
		x = 2 - r
		t.w[3] = ((a*x-5*a)*x+8*a)*x - 4*a
		t.n = 4
		for k := range 4 {
			t.idx[k] = o.pixel(i0-1+k, d, lo, hi)
		}
	}
}

// pixel is the index that integer position i of an axis of length d
// reads under the padding mode (-1: a zero pixel).
func (o *GridSample) pixel(i, d int, lo, hi float64) int {
	switch o.Padding {
	case "border":
		return min(max(i, 0), d-1)
	case "reflection":
		j := int(gsReflect(float64(i), lo, hi))
		return min(max(j, 0), d-1)
	}
	if i < 0 || i >= d {
		return -1
	}
	return i
}

// gsReflect reflects x into [lo, hi] (the reference's _gs_reflect).
func gsReflect(x, lo, hi float64) float64 {
	rng := hi - lo
	if rng <= 0 {
		return lo
	}
	switch {
	case x < lo:
		dx := lo - x
		n := math.Trunc(dx / rng)
		r := dx - n*rng
		if math.Mod(n, 2) == 0 {
			return lo + r
		}
		return hi - r
	case x > hi:
		dx := x - hi
		n := math.Trunc(dx / rng)
		r := dx - n*rng
		if math.Mod(n, 2) == 0 {
			return hi - r
		}
		return lo + r
	}
	return x
}
