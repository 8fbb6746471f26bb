package ir

import (
	"fmt"

	"github.com/modelc/modelc/runtime/numerics"
)

// GridSample is ONNX GridSample (opsets 16–22): x (N, C, D₁…D_r) sampled
// at the normalised coordinates of grid (N, O₁…O_r, r), giving
// (N, C, O₁…O_r). Mode is "linear", "nearest" or "cubic"; Padding
// "zeros", "border" or "reflection"; AlignCorners maps -1 and 1 to the
// centres of the corner pixels instead of their outer edges. The
// arithmetic is numerics.GridSample's, which generated code shares.
type GridSample struct {
	Mode         string `attr:"mode"`
	Padding      string `attr:"padding"`
	AlignCorners bool   `attr:"align_corners"`
}

func (*GridSample) Kind() Kind { return KGridSample }

func init() {
	ops[KGridSample] = OpInfo{"grid_sample", 2, 2, func() Op {
		return &GridSample{Mode: "linear", Padding: "zeros"}
	}, inferGridSample}
	evalTable[KGridSample] = evalGridSample
}

func inferGridSample(op Op, in []Type) ([]Type, error) {
	o := op.(*GridSample)
	switch o.Mode {
	case "linear", "nearest", "cubic":
	default:
		return nil, fmt.Errorf("mode %q (want linear, nearest or cubic)", o.Mode)
	}
	switch o.Padding {
	case "zeros", "border", "reflection":
	default:
		return nil, fmt.Errorf("padding %q (want zeros, border or reflection)", o.Padding)
	}
	if err := wantFloat(0, in[0]); err != nil {
		return nil, err
	}
	if err := wantFloat(1, in[1]); err != nil {
		return nil, err
	}
	x, g := in[0].Shape, in[1].Shape
	r := x.Rank() - 2
	if r < 1 || r > numerics.GridSampleMaxAxes {
		return nil, fmt.Errorf("x has rank %d, want 3 to %d (N, C and 1 to %d spatial axes)", x.Rank(), numerics.GridSampleMaxAxes+2, numerics.GridSampleMaxAxes)
	}
	if g.Rank() != r+2 || g[r+1] != D(r) {
		return nil, fmt.Errorf("grid has shape %v, want (N, %d output sizes, %d) for x of shape %v", g, r, r, x)
	}
	if g[0] != x[0] {
		return nil, fmt.Errorf("grid's batch %v differs from x's %v", g[0], x[0])
	}
	for i := 2; i < x.Rank(); i++ {
		if !x[i].Static() || x[i].B < 1 {
			return nil, fmt.Errorf("x's spatial axis %d is %v, want a static size ≥ 1", i, x[i])
		}
	}
	out := Shape{x[0], x[1]}
	out = append(out, g[1:r+1]...)
	return one(TensorType(in[0].DType, out)), nil
}

func evalGridSample(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	o := op.(*GridSample)
	x, g := in[0], in[1]
	res := NewTensor(x.DType, out[0].Shape.Ints())
	s := &numerics.GridSample{Mode: o.Mode, Padding: o.Padding, AlignCorners: o.AlignCorners}
	s.Float32(res.F, x.F, g.F, x.Shape, g.Shape)
	return []*Tensor{res}, nil
}
