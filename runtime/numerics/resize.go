package numerics

import "math"

// Resize is ONNX Resize's interpolation, shared by the reference
// evaluator (ir's resize op) and generated packages so both compute the
// same weights: axis by axis in order (skipping those of factor 1 kept
// whole), each output position y maps to the input coordinate Coord
// gives ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
// "align_corners", "asymmetric", "tf_crop_and_resize" with Roi) and
// takes Mode's weights of its neighbours ("nearest" rounded by Nearest,
// "linear", "cubic" with CubicA; Antialias widens linear and cubic when
// downscaling), reading past the edges as the edge values
// (ExcludeOutside renormalises without them); tf_crop_and_resize gives
// Extrapolation outside the input. Values are float64 throughout.
type Resize struct {
	Mode, Coord, Nearest      string
	CubicA, Extrapolation     float64
	ExcludeOutside, Antialias bool
	// Roi is [begin₀…, end₀…] per axis (nil: the whole input).
	Roi []float64
}

// Run resizes x (shape xs) to shape os with factors scales, into a new
// slice of float64.
func (o *Resize) Run(x []float64, xs, os []int, scales []float64) []float64 {
	r := len(xs)
	cur := x
	shape := append([]int(nil), xs...)
	for axis := 0; axis < r; axis++ {
		roi := [2]float64{0, 1}
		if o.Roi != nil {
			roi = [2]float64{o.Roi[axis], o.Roi[axis+r]}
		}
		if math.Abs(scales[axis]-1) < 1e-9 && os[axis] == shape[axis] && roi == [2]float64{0, 1} {
			continue
		}
		cur, shape = o.resizeAxis(cur, shape, axis, scales[axis], os[axis], roi)
	}
	return cur
}

// Float32 is Run on float32 data, into dst.
func (o *Resize) Float32(dst, x []float32, xs, os []int, scales []float64) {
	in := make([]float64, len(x))
	for i, v := range x {
		in[i] = float64(v)
	}
	for i, v := range o.Run(in, xs, os, scales) {
		dst[i] = float32(v)
	}
}

func (o *Resize) coeffs(ratio, scale float64) []float64 {
	a := o.CubicA
	switch {
	case o.Mode == "nearest":
		if ratio == math.Trunc(ratio) {
			return []float64{0, 1}
		}
		var up bool
		switch o.Nearest {
		case "round_prefer_floor":
			up = ratio > 0.5
		case "round_prefer_ceil":
			up = ratio >= 0.5
		case "ceil":
			up = true
		}
		if up {
			return []float64{0, 1}
		}
		return []float64{1, 0}
	case o.Mode == "linear" && o.Antialias:
		scale = min(scale, 1)
		start := int(math.Floor(-1/scale) + 1)
		n := 2 - 2*start
		c := make([]float64, n)
		sum := 0.0
		for i := range c {
			c[i] = min(max(1-math.Abs((float64(start+i)-ratio)*scale), 0), 1)
			sum += c[i]
		}
		for i := range c {
			c[i] /= sum
		}
		return c
	case o.Mode == "linear":
		return []float64{1 - ratio, ratio}
	case o.Antialias: // cubic
		scale = min(scale, 1)
		start := int(math.Floor(-2/scale) + 1)
		end := 2 - start
		var c []float64
		sum := 0.0
		for i := start; i < end; i++ {
			x := math.Abs(scale * (float64(i) - ratio))
			v := 0.0
			switch {
			case x <= 1:
				v = (a+2)*x*x*x - (a+3)*x*x + 1
			case x < 2:
				v = a*x*x*x - 5*a*x*x + 8*a*x - 4*a
			}
			c = append(c, v)
			sum += v
		}
		for i := range c {
			c[i] /= sum
		}
		return c
	}
	r := ratio
	return []float64{
		((a*(r+1)-5*a)*(r+1)+8*a)*(r+1) - 4*a,
		((a+2)*r-(a+3))*r*r + 1,
		((a+2)*(1-r)-(a+3))*(1-r)*(1-r) + 1,
		((a*((1-r)+1)-5*a)*((1-r)+1)+8*a)*((1-r)+1) - 4*a,
	}
}

// sourceX maps output position y of an axis to its input coordinate, and
// whether it falls outside the input (tf_crop_and_resize).
func (o *Resize) sourceX(y float64, scale float64, in, outN int, roi [2]float64) (float64, bool) {
	outW := scale * float64(in)
	switch o.Coord {
	case "align_corners":
		if outW == 1 {
			return 0, false
		}
		return y * float64(in-1) / (outW - 1), false
	case "asymmetric":
		return y / scale, false
	case "tf_crop_and_resize":
		x := (roi[1] - roi[0]) * float64(in-1) / 2
		if outW != 1 {
			x = y * (roi[1] - roi[0]) * float64(in-1) / (outW - 1)
		}
		x += roi[0] * float64(in-1)
		return x, x < 0 || x > float64(in-1)
	case "pytorch_half_pixel":
		if outW == 1 {
			return -0.5, false
		}
		return (y+0.5)/scale - 0.5, false
	case "half_pixel_symmetric":
		adj := float64(outN) / outW
		off := float64(in) / 2 * (1 - adj)
		return off + (y+0.5)/scale - 0.5, false
	}
	return (y+0.5)/scale - 0.5, false
}

// resizeAxis interpolates data (of shape) along axis to n positions.
func (o *Resize) resizeAxis(data []float64, shape []int, axis int, scale float64, n int, roi [2]float64) ([]float64, []int) {
	in := shape[axis]
	outer, inner := 1, 1
	for i, d := range shape {
		if i < axis {
			outer *= d
		} else if i > axis {
			inner *= d
		}
	}
	// Per output position: the neighbours (clamped) and their weights.
	idx := make([][]int, n)
	wts := make([][]float64, n)
	extra := make([]bool, n)
	for y := range n {
		xo, outside := o.sourceX(float64(y), scale, in, n, roi)
		extra[y] = outside
		xi := math.Floor(xo)
		ratio := xo - xi
		if xo == xi {
			ratio = 1
		}
		w := o.coeffs(ratio, scale)
		k := len(w)
		pad := (k + 1) / 2
		xp := xo + float64(pad)
		p := math.Floor(xp)
		frac := xp - p
		var start int
		if k%2 == 0 {
			start = int(p) - k/2 + 1
			if frac == 0 {
				start = int(p) - k/2
			}
		} else {
			start = int(p) - (k-1)/2
			if frac > 0.5 {
				start++
			}
		}
		ids := make([]int, k)
		sum := 0.0
		for j := range ids {
			ids[j] = start + j - pad
			if o.ExcludeOutside && (ids[j] < 0 || ids[j] >= in) {
				w[j] = 0
			}
			sum += w[j]
			ids[j] = min(max(ids[j], 0), in-1)
		}
		if o.ExcludeOutside && sum != 0 {
			for j := range w {
				w[j] /= sum
			}
		}
		idx[y], wts[y] = ids, w
	}
	res := make([]float64, outer*n*inner)
	for a := range outer {
		for y := range n {
			for b := range inner {
				v := 0.0
				if extra[y] {
					v = o.Extrapolation
				} else {
					for j, i := range idx[y] {
						v += wts[y][j] * data[(a*in+i)*inner+b]
					}
				}
				res[(a*n+y)*inner+b] = v
			}
		}
	}
	shape = append([]int(nil), shape...)
	shape[axis] = n
	return res, shape
}
