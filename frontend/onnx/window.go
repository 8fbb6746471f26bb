package onnx

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// window holds a conv's or pool's spatial attributes, one entry per
// spatial axis (pads: begin per axis, then end per axis, as ONNX).
type window struct {
	kernel, stride, dil []int
	padB, padE          []int
	ceil                bool
}

// readWindow reads kernel_shape (checked against kernel when that is
// given), strides, dilations (when withDil), pads and auto_pad for an
// input whose spatial dims are in.
func (c *nodeCtx) readWindow(in, kernel []int, withDil bool) (*window, error) {
	k := len(in)
	var e errs
	ks, hasKS, err := c.attrInts("kernel_shape")
	if err != nil {
		return nil, err
	}
	w := &window{}
	switch {
	case kernel == nil && !hasKS:
		return nil, fmt.Errorf("kernel_shape is required")
	case kernel == nil:
		w.kernel = ks
	default:
		w.kernel = kernel
		if hasKS && !equalInts(ks, kernel) {
			return nil, fmt.Errorf("kernel_shape %v does not match the weight's %v", ks, kernel)
		}
	}
	w.stride = e.ints(c, "strides")
	if withDil {
		w.dil = e.ints(c, "dilations")
	}
	pads := e.ints(c, "pads")
	autoPad := e.str(c, "auto_pad", "NOTSET")
	if e.err != nil {
		return nil, e.err
	}
	if w.stride == nil {
		w.stride = ones(k)
	}
	if w.dil == nil {
		w.dil = ones(k)
	}
	if len(w.kernel) != k || len(w.stride) != k || len(w.dil) != k {
		return nil, fmt.Errorf("kernel_shape %v, strides %v and dilations %v must have %d entries", w.kernel, w.stride, w.dil, k)
	}
	for i := 0; i < k; i++ {
		if w.kernel[i] < 1 || w.stride[i] < 1 || w.dil[i] < 1 {
			return nil, fmt.Errorf("kernel_shape %v, strides %v and dilations %v must be ≥ 1", w.kernel, w.stride, w.dil)
		}
	}
	switch autoPad {
	case "NOTSET":
		if pads == nil {
			pads = make([]int, 2*k)
		}
		if len(pads) != 2*k {
			return nil, fmt.Errorf("pads %v must have %d entries", pads, 2*k)
		}
		for _, p := range pads {
			if p < 0 {
				return nil, fmt.Errorf("pads %v must be ≥ 0", pads)
			}
		}
		w.padB, w.padE = pads[:k], pads[k:]
	case "VALID":
		w.padB, w.padE = make([]int, k), make([]int, k)
	case "SAME_UPPER", "SAME_LOWER":
		w.padB, w.padE = make([]int, k), make([]int, k)
		for i := 0; i < k; i++ {
			out := (in[i] + w.stride[i] - 1) / w.stride[i]
			total := max(0, (out-1)*w.stride[i]+(w.kernel[i]-1)*w.dil[i]+1-in[i])
			if autoPad == "SAME_UPPER" {
				w.padB[i], w.padE[i] = total/2, total-total/2
			} else {
				w.padB[i], w.padE[i] = total-total/2, total/2
			}
		}
	default:
		return nil, fmt.Errorf("auto_pad %q: want NOTSET, SAME_UPPER, SAME_LOWER or VALID", autoPad)
	}
	return w, nil
}

// pad2 is the IR's [top, left, bottom, right].
func (w *window) pad2() []int { return []int{w.padB[0], w.padB[1], w.padE[0], w.padE[1]} }

// nd is the window as the IR's N-D ops take it.
func (w *window) nd() ir.Window {
	pad := append(append([]int{}, w.padB...), w.padE...)
	return ir.Window{Stride: w.stride, Pad: pad, Dilation: w.dil}
}

// to2D turns a 1-D window into a 2-D one over a height of 1.
func (w *window) to2D() *window {
	if len(w.kernel) == 2 {
		return w
	}
	return &window{
		kernel: []int{1, w.kernel[0]}, stride: []int{1, w.stride[0]}, dil: []int{1, w.dil[0]},
		padB: []int{0, w.padB[0]}, padE: []int{0, w.padE[0]}, ceil: w.ceil,
	}
}

func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// spatial checks x is [N, C, spatial...] with static channels and
// spatial dims and returns the spatial dims.
func spatial(x *ir.Value, what string) ([]int, error) {
	s := x.Type.Shape
	switch {
	case s.Rank() < 3:
		return nil, fmt.Errorf("input %s: want [N,C,D1,...] (%s over at least one spatial axis)", s, what)
	case !ir.Shape(s[1:]).Static():
		return nil, fmt.Errorf("input %s: channels and spatial dims must be static", s)
	}
	return ir.Shape(s[2:]).Ints(), nil
}

// as2D reshapes a [N,C,L] value to [N,C,1,L] (a 1-D op runs as 2-D).
func (c *nodeCtx) as2D(x *ir.Value) (*ir.Value, error) {
	s := x.Type.Shape
	if s.Rank() != 3 {
		return x, nil
	}
	return c.tmp(&ir.Reshape{Shape: ir.Shape{s[0], s[1], ir.D(1), s[2]}}, x)
}

// emitFrom2D emits output 0 from a 2-D result, back as [N,C,L] when the
// op was 1-D.
func (c *nodeCtx) emitFrom2D(rank int, op ir.Op, ins ...*ir.Value) error {
	if rank == 4 {
		return c.emit(0, op, ins...)
	}
	y, err := c.tmp(op, ins...)
	if err != nil {
		return err
	}
	s := y.Type.Shape
	return c.emit(0, &ir.Reshape{Shape: ir.Shape{s[0], s[1], s[3]}}, y)
}
