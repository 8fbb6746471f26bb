package kernels

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// Selections along an axis (arg_max, arg_min, hardmax, cumsum, cumprod)
// on static shapes, mirroring the evaluator's loops. Integer and bool
// elements are held as int64.

// AxisShape is a static tensor seen along one axis: Outer positions
// before it, L along it, Inner after it.
type AxisShape struct{ Outer, L, Inner int }

// AxisOf returns x seen along axis (negative: from the end), or an error
// for a shape that depends on the batch.
func AxisOf(op ir.Kind, x ir.Shape, axis int) (AxisShape, error) {
	axis = NormAxis(axis, x.Rank())
	s := AxisShape{Outer: 1, Inner: 1}
	for i, d := range x {
		if !d.Static() {
			return AxisShape{}, fmt.Errorf("%s on the batch-dependent shape %s is not supported by the generated kernels yet", op, x)
		}
		switch {
		case i < axis:
			s.Outer *= d.B
		case i == axis:
			s.L = d.B
		default:
			s.Inner *= d.B
		}
	}
	return s, nil
}

// ArgReduceShape is arg_max (Max) or arg_min along an axis; Last takes
// the last of equal extremes. A NaN is the extreme, as in the evaluator.
type ArgReduceShape struct {
	AxisShape
	Max, Last bool
	// Unsigned compares int64-held values as uint64 (u64 is held as its
	// bit pattern).
	Unsigned bool
}

// ArgReduce writes each run's index of its extreme.
func ArgReduce[T float32 | int64](s ArgReduceShape, n int, y []int64, x []T) {
	Outer, L, Inner := s.Outer, s.L, s.Inner
	for a := 0; a < Outer; a++ {
		for b := 0; b < Inner; b++ {
			base := a*L*Inner + b
			bi, bv := 0, x[base]
			for j := 1; j < L; j++ {
				v := x[base+j*Inner]
				var better bool
				if s.Unsigned {
					if s.Max {
						better = uint64(int64(v)) > uint64(int64(bv))
					} else {
						better = uint64(int64(v)) < uint64(int64(bv))
					}
				} else if s.Max {
					better = v > bv
				} else {
					better = v < bv
				}
				if better || v != v && bv == bv || s.Last && v == bv {
					bi, bv = j, v
				}
			}
			y[a*Inner+b] = int64(bi)
		}
	}
}

// Hardmax writes 1 at each run's first maximum, 0 elsewhere.
func Hardmax(s AxisShape, n int, y, x []float32) {
	Outer, L, Inner := s.Outer, s.L, s.Inner
	for i := range y[:Outer*L*Inner] {
		y[i] = 0
	}
	for a := 0; a < Outer; a++ {
		for b := 0; b < Inner; b++ {
			base := a*L*Inner + b
			bi, bv := 0, x[base]
			for j := 1; j < L; j++ {
				if v := x[base+j*Inner]; v > bv {
					bi, bv = j, v
				}
			}
			y[base+bi*Inner] = 1
		}
	}
}

// CumulativeShape is cumsum or cumprod (Prod) along an axis, Exclusive
// of each element itself, or Reverse (from the end). Integers are
// wrapped to their dtype's range by Wrap (an Inline hook, WrapOf), which
// for sums and products is the same at each store as at each step.
type CumulativeShape struct {
	AxisShape
	Prod, Exclusive, Reverse bool
	Wrap                     func(v int64) int64
}

// Cumulative writes each run's running sums or products, accumulating
// floats in float64 as the evaluator does.
func Cumulative(s CumulativeShape, n int, y, x []float32) {
	Outer, L, Inner := s.Outer, s.L, s.Inner
	for a := 0; a < Outer; a++ {
		for b := 0; b < Inner; b++ {
			base := a*L*Inner + b
			acc := 0.0
			if s.Prod {
				acc = 1
			}
			for jj := 0; jj < L; jj++ {
				j := jj
				if s.Reverse {
					j = L - 1 - jj
				}
				at := base + j*Inner
				v := float64(x[at])
				if s.Exclusive {
					y[at] = float32(acc)
				}
				if s.Prod {
					acc *= v
				} else {
					acc += v
				}
				if !s.Exclusive {
					y[at] = float32(acc)
				}
			}
		}
	}
}

// CumulativeInt is Cumulative on integers.
func CumulativeInt(s CumulativeShape, n int, y, x []int64) {
	Outer, L, Inner := s.Outer, s.L, s.Inner
	for a := 0; a < Outer; a++ {
		for b := 0; b < Inner; b++ {
			base := a*L*Inner + b
			acc := int64(0)
			if s.Prod {
				acc = 1
			}
			for jj := 0; jj < L; jj++ {
				j := jj
				if s.Reverse {
					j = L - 1 - jj
				}
				at := base + j*Inner
				v := x[at]
				if s.Exclusive {
					y[at] = s.Wrap(acc)
				}
				if s.Prod {
					acc *= v
				} else {
					acc += v
				}
				if !s.Exclusive {
					y[at] = s.Wrap(acc)
				}
			}
		}
	}
}
