package onnx

import (
	"fmt"

	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/numerics"
)

// Sampling ops: GridSample (ir's grid_sample) and AffineGrid, which is a
// constant grid of normalised coordinates times theta (a matmul).

// importGridSample: GridSample-16 (4-D x, modes bilinear, nearest,
// bicubic) and -20/-22 (any spatial rank the IR takes, modes linear,
// nearest, cubic).
func importGridSample(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	var e errs
	mode := e.str(c, "mode", map[bool]string{true: "bilinear", false: "linear"}[c.opset() < 20])
	pad := e.str(c, "padding_mode", "zeros")
	ac := e.int(c, "align_corners", 0)
	if e.err != nil {
		return e.err
	}
	names := map[string]string{"linear": "linear", "nearest": "nearest", "cubic": "cubic"}
	if c.opset() < 20 {
		names = map[string]string{"bilinear": "linear", "nearest": "nearest", "bicubic": "cubic"}
	}
	m, ok := names[mode]
	if !ok {
		return fmt.Errorf("mode %q is not a GridSample-%d mode", mode, c.opset())
	}
	switch pad {
	case "zeros", "border", "reflection":
	default:
		return fmt.Errorf("padding_mode %q (want zeros, border or reflection)", pad)
	}
	if ac != 0 && ac != 1 {
		return fmt.Errorf("align_corners %d (want 0 or 1)", ac)
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	g, err := c.in(1)
	if err != nil {
		return err
	}
	r := x.Type.Shape.Rank() - 2
	switch {
	case c.opset() < 20 && r != 2:
		return fmt.Errorf("GridSample-%d takes 4-D x, got rank %d", c.opset(), r+2)
	case r < 1:
		return fmt.Errorf("x has rank %d, want N, C and spatial axes", r+2)
	case r > numerics.GridSampleMaxAxes:
		return unsupported("GridSample over %d spatial axes: the IR's grid_sample takes 1 to %d", r, numerics.GridSampleMaxAxes)
	case m == "cubic" && r != 2:
		return fmt.Errorf("cubic mode takes 4-D x only, got rank %d", r+2)
	}
	return c.emit(0, &ir.GridSample{Mode: m, Padding: pad, AlignCorners: ac == 1}, x, g)
}

// importAffineGrid: AffineGrid-20, the grid (N, D…, r) of theta
// (N, r, r+1) applied to the normalised coordinates [x, y, (z,) 1] of an
// output of size (N, C, D…), 2-D or 3-D. size must be known at import
// time (bind it when it is a graph input). The coordinates are the
// reference's: with align_corners, -1 + 2i/(D-1) (and -1 for D = 1),
// else -1 + (2i+1)/D.
func importAffineGrid(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	var e errs
	ac := e.int(c, "align_corners", 0)
	if e.err != nil {
		return e.err
	}
	if ac != 0 && ac != 1 {
		return fmt.Errorf("align_corners %d (want 0 or 1)", ac)
	}
	size, err := c.ints(1, "size")
	if err != nil {
		return err
	}
	theta, err := c.in(0)
	if err != nil {
		return err
	}
	if len(size) != 4 && len(size) != 5 {
		return fmt.Errorf("size has %d entries, want 4 (N, C, H, W) or 5 (N, C, D, H, W)", len(size))
	}
	r := len(size) - 2
	ts := theta.Type.Shape
	if !theta.Type.DType.IsFloat() {
		return fmt.Errorf("theta must be a float tensor, got %s", theta.Type.DType)
	}
	if ts.Rank() != 3 || ts[1] != ir.D(r) || ts[2] != ir.D(r+1) {
		return fmt.Errorf("theta has shape %v, want (N, %d, %d) for size %v", ts, r, r+1, size)
	}
	if ts[0].Static() && int64(ts[0].B) != size[0] {
		return fmt.Errorf("theta's batch %v differs from size's %d", ts[0], size[0])
	}
	sp := make([]int, r) // D…, outermost first
	np := 1
	for i := range sp {
		if size[i+2] < 1 || size[i+2] > 1<<20 {
			return fmt.Errorf("size %v: spatial sizes must be 1 to 2^20", size)
		}
		sp[i] = int(size[i+2])
		np *= sp[i]
	}
	if np > 1<<24 {
		return fmt.Errorf("size %v: %d positions, too many for the constant grid", size, np)
	}
	coord := func(i, d int) float32 {
		if ac == 1 {
			if d == 1 {
				return -1
			}
			return float32(-1 + 2*float64(i)/float64(d-1))
		}
		return float32(-1 + (2*float64(i)+1)/float64(d))
	}
	// base is (positions, r+1): row p holds the coordinates of position p
	// innermost axis first (x, y, z), then 1.
	base := ir.NewTensor(theta.Type.DType, []int{np, r + 1})
	idx := make([]int, r)
	for p := range np {
		for a := range r {
			base.F[p*(r+1)+r-1-a] = coord(idx[a], sp[a])
		}
		base.F[p*(r+1)+r] = 1
		for a := r - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < sp[a] {
				break
			}
			idx[a] = 0
		}
	}
	bv, err := c.konst(base)
	if err != nil {
		return err
	}
	tt, err := c.tmp(&ir.Transpose{Perm: []int{0, 2, 1}}, theta)
	if err != nil {
		return err
	}
	mm, err := c.tmp(ir.Simple{K: ir.KMatMul}, bv, tt)
	if err != nil {
		return err
	}
	out := ir.Shape{ts[0]}
	for _, d := range sp {
		out = append(out, ir.D(d))
	}
	out = append(out, ir.D(r))
	return c.emit(0, &ir.Reshape{Shape: out}, mm)
}

// importDet: Det-11/22, the IR's det.
func importDet(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: ir.KDet}, x)
}
