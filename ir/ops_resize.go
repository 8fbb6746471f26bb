package ir

import (
	"fmt"

	"github.com/modelc/modelc/runtime/numerics"
)

// Resize is ONNX Resize with its scales and sizes resolved: the result
// is Sizes, Scales[i] the factor of axis i. Interpolation is separable:
// axis by axis (in order, skipping those of scale 1 kept whole), each
// output position y maps to the input coordinate x given by Coord
// ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
// "align_corners", "asymmetric", "tf_crop_and_resize" with Roi) and takes
// Mode's weights of its neighbours ("nearest" by Nearest's rounding,
// "linear", "cubic" with coefficient CubicA; Antialias widens linear and
// cubic when downscaling), reading past the edges as the edge values
// (ExcludeOutside renormalises without them); tf_crop_and_resize gives
// Extrapolation outside the input.
type Resize struct {
	Sizes          []int     `attr:"sizes"`
	Scales         []float64 `attr:"scales"`
	Roi            []float64 `attr:"roi"`
	Mode           string    `attr:"mode"`
	Coord          string    `attr:"coord"`
	Nearest        string    `attr:"nearest"`
	CubicA         float64   `attr:"cubic_a"`
	ExcludeOutside bool      `attr:"exclude_outside"`
	Extrapolation  float64   `attr:"extrapolation"`
	Antialias      bool      `attr:"antialias"`
}

func (*Resize) Kind() Kind { return KResize }

func init() {
	ops[KResize] = OpInfo{"resize", 1, 1, func() Op {
		return &Resize{Mode: "nearest", Coord: "half_pixel", Nearest: "round_prefer_floor", CubicA: -0.75}
	}, inferResize}
	evalTable[KResize] = evalResize
}

func inferResize(op Op, in []Type) ([]Type, error) {
	o := op.(*Resize)
	x := in[0].Shape
	if err := wantFloat(0, in[0]); err != nil {
		return nil, err
	}
	if len(o.Sizes) != x.Rank() || len(o.Scales) != x.Rank() || (o.Roi != nil && len(o.Roi) != 2*x.Rank()) {
		return nil, fmt.Errorf("sizes %v, scales %v and roi %v must have rank %d (2×rank for roi) entries", o.Sizes, o.Scales, o.Roi, x.Rank())
	}
	switch o.Mode {
	case "nearest", "linear", "cubic":
	default:
		return nil, fmt.Errorf("mode %q (want nearest, linear or cubic)", o.Mode)
	}
	switch o.Coord {
	case "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize":
	default:
		return nil, fmt.Errorf("coord %q", o.Coord)
	}
	switch o.Nearest {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
	default:
		return nil, fmt.Errorf("nearest %q", o.Nearest)
	}
	out := make(Shape, x.Rank())
	for i, d := range x {
		if !d.Static() {
			if o.Sizes[i] != 0 && o.Scales[i] != 1 {
				return nil, fmt.Errorf("cannot resize the batch-dependent axis %d", i)
			}
			out[i] = d
			continue
		}
		if o.Sizes[i] < 0 || o.Scales[i] <= 0 {
			return nil, fmt.Errorf("axis %d: size %d, scale %g", i, o.Sizes[i], o.Scales[i])
		}
		out[i] = D(o.Sizes[i])
	}
	return one(TensorType(in[0].DType, out)), nil
}

func evalResize(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	o := op.(*Resize)
	x := in[0]
	os := out[0].Shape.Ints()
	res := NewTensor(x.DType, os)
	r := &numerics.Resize{Mode: o.Mode, Coord: o.Coord, Nearest: o.Nearest, CubicA: o.CubicA,
		Extrapolation: o.Extrapolation, ExcludeOutside: o.ExcludeOutside, Antialias: o.Antialias, Roi: o.Roi}
	r.Float32(res.F, x.F, x.Shape, os, o.Scales)
	return []*Tensor{res}, nil
}
