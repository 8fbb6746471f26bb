package onnx

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/ir"
)

// importResize: Resize (opsets 10–19) and Upsample (7–9), with the scales
// or sizes (and roi) known at import time resolved into the IR's resize:
// one factor and one output size per axis (axes and
// keep_aspect_ratio_policy from opset 18). Resize-10 and Upsample map
// coordinates asymmetrically and round nearest neighbours down.
func importResize(c *nodeCtx) error {
	var e errs
	op := &ir.Resize{Mode: "nearest", Coord: "half_pixel", Nearest: "round_prefer_floor", CubicA: -0.75}
	op.Mode = e.str(c, "mode", "nearest")
	legacy := c.n.GetOpType() == "Upsample" || c.opset() < 11
	if legacy {
		op.Coord, op.Nearest = "asymmetric", "floor"
	} else {
		op.Coord = e.str(c, "coordinate_transformation_mode", "half_pixel")
		op.Nearest = e.str(c, "nearest_mode", "round_prefer_floor")
		op.CubicA = e.float(c, "cubic_coeff_a", -0.75)
		op.ExcludeOutside = e.int(c, "exclude_outside", 0) != 0
		op.Extrapolation = e.float(c, "extrapolation_value", 0)
	}
	policy := "stretch"
	var axes []int
	if c.opset() >= 18 && !legacy {
		op.Antialias = e.int(c, "antialias", 0) != 0
		policy = e.str(c, "keep_aspect_ratio_policy", "stretch")
		axes = e.ints(c, "axes")
	}
	if op.Mode == "bilinear" || op.Mode == "trilinear" { // Upsample-7's names
		op.Mode = "linear"
	}
	var scales, roi []float64
	var sizes []int64
	switch {
	case c.n.GetOpType() == "Upsample" && c.opset() < 9:
		if err := c.arity(1, 1); err != nil {
			return err
		}
		a, err := c.attr("scales", 6) // FLOATS
		if err != nil {
			return err
		}
		for _, f := range a.GetFloats() {
			scales = append(scales, float64(f))
		}
	case legacy:
		if err := c.arity(2, 2); err != nil {
			return err
		}
		var err error
		if scales, err = c.floats(1, "scales"); err != nil {
			return err
		}
	default:
		if err := c.arity(1, 4); err != nil {
			return err
		}
		var err error
		if c.has(1) {
			if roi, err = c.floats(1, "roi"); err != nil {
				return err
			}
		}
		if c.has(2) {
			if scales, err = c.floats(2, "scales"); err != nil {
				return err
			}
		}
		if c.has(3) {
			if sizes, err = c.ints(3, "sizes"); err != nil {
				return err
			}
		}
	}
	if e.err != nil {
		return e.err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	s := x.Type.Shape
	r := s.Rank()
	if axes == nil {
		for i := range r {
			axes = append(axes, i)
		}
	}
	for i, a := range axes {
		if axes[i], err = normAxis(a, r); err != nil {
			return err
		}
	}
	in := make([]int, r)
	for i, d := range s {
		in[i] = d.B
		if !d.Static() {
			in[i] = -1
		}
	}
	op.Scales = make([]float64, r)
	op.Sizes = append([]int(nil), in...)
	for i := range r {
		op.Scales[i] = 1
	}
	if len(roi) > 0 {
		if len(roi) != 2*len(axes) {
			return fmt.Errorf("roi has %d entries for %d axes", len(roi), len(axes))
		}
		op.Roi = make([]float64, 2*r)
		for i := range r {
			op.Roi[r+i] = 1
		}
		for i, a := range axes {
			op.Roi[a], op.Roi[r+a] = roi[i], roi[len(axes)+i]
		}
	}
	switch {
	case len(sizes) > 0:
		if len(sizes) != len(axes) {
			return fmt.Errorf("sizes has %d entries for %d axes", len(sizes), len(axes))
		}
		for i, a := range axes {
			if in[a] < 0 {
				return unsupported("Resize of the batch axis")
			}
			op.Scales[a] = float64(sizes[i]) / float64(in[a])
			op.Sizes[a] = int(sizes[i])
		}
		if policy != "stretch" {
			sc := op.Scales[axes[0]]
			for _, a := range axes {
				if policy == "not_larger" {
					sc = math.Min(sc, op.Scales[a])
				} else if policy == "not_smaller" {
					sc = math.Max(sc, op.Scales[a])
				} else {
					return fmt.Errorf("keep_aspect_ratio_policy %q", policy)
				}
			}
			for _, a := range axes {
				op.Scales[a] = sc
				op.Sizes[a] = int(sc*float64(in[a]) + 0.5)
			}
		}
	case len(scales) > 0:
		if len(scales) != len(axes) {
			return fmt.Errorf("scales has %d entries for %d axes", len(scales), len(axes))
		}
		for i, a := range axes {
			if scales[i] == 1 {
				continue
			}
			if in[a] < 0 {
				return unsupported("Resize of the batch axis")
			}
			op.Scales[a] = scales[i]
			op.Sizes[a] = int(scales[i] * float64(in[a]))
		}
	default:
		return fmt.Errorf("needs scales or sizes")
	}
	for i := range op.Sizes {
		if op.Sizes[i] < 0 {
			op.Sizes[i] = 0 // the batch axis, kept: inferResize takes its dim
		}
	}
	return c.emit(0, op, x)
}

// floats returns float input i, known at import time.
func (c *nodeCtx) floats(i int, use string) ([]float64, error) {
	vl := c.val(i)
	if vl == nil {
		return nil, fmt.Errorf("%s (input %d) is missing", use, i)
	}
	if vl.konst == nil {
		if vl.sym != nil {
			if ints, ok := vl.sym.ints(); ok {
				out := make([]float64, len(ints))
				for j, v := range ints {
					out[j] = float64(v)
				}
				return out, nil
			}
		}
		return nil, c.needKnown(i, use)
	}
	if n := vl.konst.Numel(); n > maxFold {
		return nil, fmt.Errorf("%s (input %d) has %d elements, too many for its use", use, i, n)
	}
	t := vl.konst.Dense()
	out := make([]float64, t.Numel())
	for j := range out {
		out[j] = t.Float(j)
	}
	return out, nil
}
