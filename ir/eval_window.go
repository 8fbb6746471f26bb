package ir

import "math"

// The N-D convolutions and pools in the evaluator (ops_window.go).

// windowOffsets maps window positions to the cells they read: for each
// position q of the grid from (row-major) and each tap t of kernel
// (row-major), entry q·taps + t is the row-major offset in the grid to
// of coordinate q·stride − padB + t·dil, axis by axis, or −1 when that
// falls outside to. Convolutions and pools read with from the result's
// spatial dims and to the input's; a transposed convolution writes with
// from the input's and to the result's.
func windowOffsets(from, to, kernel, stride, padB, dil []int) []int {
	k := len(from)
	p, taps := numel(from), numel(kernel)
	offs := make([]int, p*taps)
	ts := strides(to)
	q, t := make([]int, k), make([]int, k)
	for i := 0; i < p; i++ {
		for j := 0; j < taps; j++ {
			off := 0
			for d := 0; d < k && off >= 0; d++ {
				c := q[d]*stride[d] - padB[d] + t[d]*dil[d]
				if c < 0 || c >= to[d] {
					off = -1
				} else {
					off += c * ts[d]
				}
			}
			offs[i*taps+j] = off
			odometer(t, kernel)
		}
		odometer(q, from)
	}
	return offs
}

// odometer advances the row-major multi-index idx over dims, wrapping
// to all zeros after the last.
func odometer(idx, dims []int) {
	for d := len(idx) - 1; d >= 0; d-- {
		if idx[d]++; idx[d] < dims[d] {
			return
		}
		idx[d] = 0
	}
}

// paddedCounts returns, for each window position of a pool with result
// dims out over input dims in, how many of its cells lie inside the
// padded input (coordinate < in + padE on every axis: the cells past it
// are CeilMode's, never counted). The window is a box, so the count is
// the product of the axes' counts.
func paddedCounts(out, in, kernel, stride, padB, padE, dil []int) []int {
	k := len(out)
	per := make([][]int, k)
	for d := 0; d < k; d++ {
		per[d] = make([]int, out[d])
		for q := range per[d] {
			for t := 0; t < kernel[d]; t++ {
				if q*stride[d]-padB[d]+t*dil[d] < in[d]+padE[d] {
					per[d][q]++
				}
			}
		}
	}
	counts := make([]int, numel(out))
	q := make([]int, k)
	for i := range counts {
		n := 1
		for d := 0; d < k; d++ {
			n *= per[d][q[d]]
		}
		counts[i] = n
		odometer(q, out)
	}
	return counts
}

func evalConvND(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	cv := op.(*ConvND)
	x, w := in[0], in[1]
	oshape := out[0].Shape.Ints()
	k := len(x.Shape) - 2
	nb, ci, co := x.Shape[0], x.Shape[1], w.Shape[0]
	g := cv.Groups
	cig, cog := ci/g, co/g
	stride, padB, _, dil := cv.Of(k)
	taps, p, sp := numel(w.Shape[2:]), numel(oshape[2:]), numel(x.Shape[2:])
	ckk := cig * taps
	offs := windowOffsets(oshape[2:], x.Shape[2:], w.Shape[2:], stride, padB, dil)
	res := NewTensor(out[0].DType, oshape)
	perImage := func(b, threads int, col []float32, acc []float64) {
		for gi := 0; gi < g; gi++ {
			// im2col: row (c, t) of col holds the input cell each output
			// position sees through tap t of channel c.
			for cc := 0; cc < cig; cc++ {
				plane := x.F[(b*ci+gi*cig+cc)*sp:][:sp]
				for q := 0; q < p; q++ {
					for t, o := range offs[q*taps : (q+1)*taps] {
						var v float32
						if o >= 0 {
							v = plane[o]
						}
						col[(cc*taps+t)*p+q] = v
					}
				}
			}
			gemm64(cog, p, ckk, rowMajor(w.F, gi*cog*ckk, ckk), rowMajor(col, 0, p), acc, threads)
			for o := 0; o < cog; o++ {
				ch := gi*cog + o
				var bias float64
				if len(in) == 3 {
					bias = float64(in[2].F[ch])
				}
				dst := res.F[(b*co+ch)*p : (b*co+ch+1)*p]
				for q := range dst {
					dst[q] = float32(acc[o*p+q] + bias)
				}
			}
		}
	}
	eachImage(c, nb, ckk*p, cog*p, perImage)
	return []*Tensor{res}, nil
}

func evalConvTransposeND(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	cv := op.(*ConvTransposeND)
	x, w := in[0], in[1]
	oshape := out[0].Shape.Ints()
	k := len(x.Shape) - 2
	nb, ci, co := x.Shape[0], x.Shape[1], oshape[1]
	g := cv.Groups
	cig, cog := ci/g, co/g
	stride, padB, _, dil := cv.Of(k)
	taps, sp, op_ := numel(w.Shape[2:]), numel(x.Shape[2:]), numel(oshape[2:])
	// Where each input cell's taps land in the result.
	offs := windowOffsets(x.Shape[2:], oshape[2:], w.Shape[2:], stride, padB, dil)
	res := NewTensor(out[0].DType, oshape)
	// One output plane per work item: it gathers from the cig input
	// channels of its group.
	parallelFor(c.threads, nb*co, func(lo, hi int) {
		acc := make([]float64, op_)
		for pl := lo; pl < hi; pl++ {
			b, ch := pl/co, pl%co
			gi, o := ch/cog, ch%cog
			var bias float64
			if len(in) == 3 {
				bias = float64(in[2].F[ch])
			}
			for i := range acc {
				acc[i] = bias
			}
			for cc := 0; cc < cig; cc++ {
				cin := gi*cig + cc
				plane := x.F[(b*ci+cin)*sp:][:sp]
				tw := w.F[(cin*cog+o)*taps:][:taps]
				for q, xv := range plane {
					v := float64(xv)
					for t, off := range offs[q*taps : (q+1)*taps] {
						if off >= 0 {
							acc[off] += v * float64(tw[t])
						}
					}
				}
			}
			dst := res.F[pl*op_ : (pl+1)*op_]
			for i, v := range acc {
				dst[i] = float32(v)
			}
		}
	})
	return []*Tensor{res}, nil
}

func evalMaxPoolND(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	mp := op.(*MaxPoolND)
	x := in[0]
	oshape := out[0].Shape.Ints()
	k := len(x.Shape) - 2
	stride, padB, _, dil := mp.Of(k)
	planes, sp, p, taps := x.Shape[0]*x.Shape[1], numel(x.Shape[2:]), numel(oshape[2:]), numel(mp.Kernel)
	offs := windowOffsets(oshape[2:], x.Shape[2:], mp.Kernel, stride, padB, dil)
	res := []*Tensor{NewTensor(out[0].DType, oshape)}
	if mp.Indices {
		res = append(res, NewTensor(I64, oshape))
	}
	parallelFor(c.threads, planes, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := x.F[pl*sp:][:sp]
			for q := 0; q < p; q++ {
				m, at := math.Inf(-1), -1
				for _, o := range offs[q*taps : (q+1)*taps] {
					if o < 0 {
						continue
					}
					if v := float64(src[o]); v > m || (v != v && m == m) {
						m, at = v, o
					}
				}
				res[0].F[pl*p+q] = float32(m)
				if mp.Indices {
					if mp.ColumnMajor && at >= 0 {
						at = columnMajor(at, x.Shape[2:])
					}
					res[1].I[pl*p+q] = int64(pl*sp + at)
				}
			}
		}
	})
	return res, nil
}

func evalAvgPoolND(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	ap := op.(*AvgPoolND)
	x := in[0]
	oshape := out[0].Shape.Ints()
	k := len(x.Shape) - 2
	stride, padB, padE, dil := ap.Of(k)
	planes, sp, p, taps := x.Shape[0]*x.Shape[1], numel(x.Shape[2:]), numel(oshape[2:]), numel(ap.Kernel)
	offs := windowOffsets(oshape[2:], x.Shape[2:], ap.Kernel, stride, padB, dil)
	var padded []int
	if ap.CountIncludePad {
		padded = paddedCounts(oshape[2:], x.Shape[2:], ap.Kernel, stride, padB, padE, dil)
	}
	res := NewTensor(out[0].DType, oshape)
	parallelFor(c.threads, planes, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := x.F[pl*sp:][:sp]
			for q := 0; q < p; q++ {
				var s float64
				n := 0
				for _, o := range offs[q*taps : (q+1)*taps] {
					if o >= 0 {
						s += float64(src[o])
						n++
					}
				}
				if padded != nil {
					n = padded[q]
				}
				res.F[pl*p+q] = float32(s / float64(n))
			}
		}
	})
	return []*Tensor{res}, nil
}

// columnMajor turns a row-major offset into dims into the column-major
// one (the first axis fastest) of the same coordinates.
func columnMajor(off int, dims []int) int {
	col, stride := 0, 1
	rs := strides(dims)
	for d := range dims {
		col += off / rs[d] % dims[d] * stride
		stride *= dims[d]
	}
	return col
}
