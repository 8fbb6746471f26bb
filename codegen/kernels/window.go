package kernels

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/ir"
)

// Convolutions and pools of any spatial rank (ir's conv_nd,
// conv_transpose_nd, maxpool_nd, avgpool_nd), pure Go with float64
// sums, as the evaluator computes them. Each work item is one plane (an
// output channel of one image, or a pooled channel); each window
// position finds its taps' cells once (windowTaps), then every input
// channel reads through them.

// WindowND is an N-D convolution's or pool's geometry: per spatial
// axis the input's and the result's dims, the kernel's, and the stride,
// dilation and padding (begin, end); the channels, groups and bias of a
// convolution; the pools' kind.
type WindowND struct {
	In, Out, Kernel         []int
	Stride, Dil, PadB, PadE []int
	InCells, OutCells, Taps int // per plane
	CI, CO, Groups          int
	Bias                    bool
	// Pools: an average over the in-bounds cells or, with IncludePad,
	// over the cells inside the padded input; a maximum, with Indices
	// each maximum's flat index into x, row-major or, with ColMajor,
	// the spatial coordinates column-major.
	IncludePad, Indices, ColMajor bool
}

// maxWindowRank is the most spatial axes windowTaps takes.
const maxWindowRank = 8

// WindowNDOf returns the geometry of a conv_nd, conv_transpose_nd,
// maxpool_nd or avgpool_nd node.
func WindowNDOf(nd *ir.Node) (WindowND, error) {
	x, y := nd.Inputs[0].Type.Shape, nd.Outputs[0].Type.Shape
	k := x.Rank() - 2
	if k > maxWindowRank {
		return WindowND{}, fmt.Errorf("%s over %d spatial axes is not supported by the generated kernels yet (at most %d)", nd.Op.Kind(), k, maxWindowRank)
	}
	s := WindowND{In: ir.Shape(x[2:]).Ints(), Out: ir.Shape(y[2:]).Ints(), CI: x[1].B, CO: y[1].B, Groups: 1}
	var win ir.Window
	switch o := nd.Op.(type) {
	case *ir.ConvND:
		win, s.Groups, s.Kernel, s.Bias = o.Window, o.Groups, ir.Shape(nd.Inputs[1].Type.Shape[2:]).Ints(), len(nd.Inputs) == 3
	case *ir.ConvTransposeND:
		win, s.Groups, s.Kernel, s.Bias = o.Window, o.Groups, ir.Shape(nd.Inputs[1].Type.Shape[2:]).Ints(), len(nd.Inputs) == 3
	case *ir.MaxPoolND:
		win, s.Kernel, s.Indices, s.ColMajor = o.Window, o.Kernel, o.Indices, o.ColumnMajor
	case *ir.AvgPoolND:
		win, s.Kernel, s.IncludePad = o.Window, o.Kernel, o.CountIncludePad
	}
	s.Stride, s.PadB, s.PadE, s.Dil = win.Of(k)
	s.InCells, s.OutCells, s.Taps = prod(s.In), prod(s.Out), prod(s.Kernel)
	return s, nil
}

func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// windowTaps fills offs[t] with the row-major offset into the grid to
// of tap t (row-major over kernel) of window position q (row-major over
// the grid from): coordinate q·stride − padB + t·dil on each axis, or
// −1 where that falls outside to. A convolution or pool reads from the
// input (from: the result's dims, to: the input's); a transposed
// convolution writes to the result (from: the input's, to: the
// result's).
func windowTaps(q int, offs, from, to, kernel, stride, dil, padB []int) {
	r := len(from)
	var base, tap, st [maxWindowRank]int // q's coordinates at tap 0; the tap; to's strides
	acc := 1
	for d := r - 1; d >= 0; d-- {
		base[d] = q%from[d]*stride[d] - padB[d]
		q /= from[d]
		st[d] = acc
		acc *= to[d]
		tap[d] = 0
	}
	for t := range offs {
		off := 0
		for d := 0; d < r; d++ {
			c := base[d] + tap[d]*dil[d]
			if c < 0 || c >= to[d] {
				off = -1
				break
			}
			off += c * st[d]
		}
		offs[t] = off
		for d := r - 1; d >= 0; d-- {
			if tap[d]++; tap[d] < kernel[d] {
				break
			}
			tap[d] = 0
		}
	}
}

// paddedCount is how many cells of pool window q (row-major over out)
// lie inside the padded input: before in + padE on every axis (the cells
// past it are ceil mode's). The window is a box: a product of the axes'
// counts.
func paddedCount(q int, out, in, kernel, stride, dil, padB, padE []int) int {
	n := 1
	for d := len(out) - 1; d >= 0; d-- {
		start := q%out[d]*stride[d] - padB[d]
		q /= out[d]
		c := 0
		for t := 0; t < kernel[d]; t++ {
			if start+t*dil[d] < in[d]+padE[d] {
				c++
			}
		}
		n *= c
	}
	return n
}

// columnMajor turns a row-major offset into dims into the column-major
// one (the first axis fastest) of the same coordinates.
func columnMajor(off int, dims []int) int {
	col, stride := 0, 1
	for d := len(dims) - 1; d >= 0; d-- {
		stride *= dims[d]
	}
	for d := len(dims) - 1; d >= 0; d-- {
		stride /= dims[d]
		col += off % dims[d] * stride
		off /= dims[d]
	}
	return col
}

// ConvND computes output planes [lo, hi) (image b, channel ch): for each
// position, the bias plus every tap of every input channel of ch's group
// times its weight.
func ConvND(s WindowND, n, lo, hi int, y, x, w, bias []float32) {
	CI, CO, G := s.CI, s.CO, s.Groups
	CIG, COG := CI/G, CO/G
	IC, OC, Taps := s.InCells, s.OutCells, s.Taps
	in, out, kernel, stride, dil, padB := s.In, s.Out, s.Kernel, s.Stride, s.Dil, s.PadB
	offs := make([]int, Taps)
	for pl := lo; pl < hi; pl++ {
		b, ch := pl/CO, pl%CO
		gi := ch / COG
		var b0 float64
		if s.Bias {
			b0 = float64(bias[ch])
		}
		dst := y[pl*OC : (pl+1)*OC]
		for q := range dst {
			windowTaps(q, offs, out[:], in[:], kernel[:], stride[:], dil[:], padB[:])
			acc := b0
			for cc := 0; cc < CIG; cc++ {
				plane := x[(b*CI+gi*CIG+cc)*IC:][:IC]
				taps := w[(ch*CIG+cc)*Taps:][:Taps]
				for t, off := range offs {
					if off >= 0 {
						acc += float64(plane[off]) * float64(taps[t])
					}
				}
			}
			dst[q] = float32(acc)
		}
	}
}

// ConvTransposeND computes output planes [lo, hi) (image b, channel ch):
// the bias, plus each input cell of each input channel of ch's group
// times each tap's weight, added where the tap lands.
func ConvTransposeND(s WindowND, n, lo, hi int, y, x, w, bias []float32) {
	CI, CO, G := s.CI, s.CO, s.Groups
	CIG, COG := CI/G, CO/G
	IC, OC, Taps := s.InCells, s.OutCells, s.Taps
	in, out, kernel, stride, dil, padB := s.In, s.Out, s.Kernel, s.Stride, s.Dil, s.PadB
	offs := make([]int, Taps)
	acc := make([]float64, OC)
	for pl := lo; pl < hi; pl++ {
		b, ch := pl/CO, pl%CO
		gi, oc := ch/COG, ch%COG
		var b0 float64
		if s.Bias {
			b0 = float64(bias[ch])
		}
		for i := range acc {
			acc[i] = b0
		}
		for q := 0; q < IC; q++ {
			windowTaps(q, offs, in[:], out[:], kernel[:], stride[:], dil[:], padB[:])
			for cc := 0; cc < CIG; cc++ {
				cin := gi*CIG + cc
				v := float64(x[(b*CI+cin)*IC+q])
				taps := w[(cin*COG+oc)*Taps:][:Taps]
				for t, off := range offs {
					if off >= 0 {
						acc[off] += v * float64(taps[t])
					}
				}
			}
		}
		dst := y[pl*OC : (pl+1)*OC]
		for i, v := range acc {
			dst[i] = float32(v)
		}
	}
}

// MaxPoolND takes the maximum of each window of planes [lo, hi) (NaN
// wins; the first of equal maxima), and with s.Indices its flat index.
func MaxPoolND(s WindowND, n, lo, hi int, y []float32, idx []int64, x []float32) {
	IC, OC, Taps := s.InCells, s.OutCells, s.Taps
	in, out, kernel, stride, dil, padB := s.In, s.Out, s.Kernel, s.Stride, s.Dil, s.PadB
	offs := make([]int, Taps)
	for pl := lo; pl < hi; pl++ {
		src := x[pl*IC : (pl+1)*IC]
		for q := 0; q < OC; q++ {
			windowTaps(q, offs, out[:], in[:], kernel[:], stride[:], dil[:], padB[:])
			m, at := math.Inf(-1), -1
			for _, off := range offs {
				if off < 0 {
					continue
				}
				if v := float64(src[off]); v > m || (v != v && m == m) {
					m, at = v, off
				}
			}
			y[pl*OC+q] = float32(m)
			if s.Indices {
				if s.ColMajor && at >= 0 {
					at = columnMajor(at, in[:])
				}
				idx[pl*OC+q] = int64(pl*IC + at)
			}
		}
	}
}

// AvgPoolND takes the mean of each window of planes [lo, hi).
func AvgPoolND(s WindowND, n, lo, hi int, y, x []float32) {
	IC, OC, Taps := s.InCells, s.OutCells, s.Taps
	in, out, kernel, stride, dil, padB, padE := s.In, s.Out, s.Kernel, s.Stride, s.Dil, s.PadB, s.PadE
	offs := make([]int, Taps)
	for pl := lo; pl < hi; pl++ {
		src := x[pl*IC : (pl+1)*IC]
		for q := 0; q < OC; q++ {
			windowTaps(q, offs, out[:], in[:], kernel[:], stride[:], dil[:], padB[:])
			var sum float64
			cells := 0
			for _, off := range offs {
				if off >= 0 {
					sum += float64(src[off])
					cells++
				}
			}
			if s.IncludePad {
				cells = paddedCount(q, out[:], in[:], kernel[:], stride[:], dil[:], padB[:], padE[:])
			}
			y[pl*OC+q] = float32(sum / float64(cells))
		}
	}
}
