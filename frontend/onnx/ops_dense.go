package onnx

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// importGemm: alpha·op(A)·op(B) + beta·C, C optional (required before
// opset 11, where it may also be unidirectionally broadcast).
func importGemm(c *nodeCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	var e errs
	op := &ir.Gemm{
		Alpha:  e.float(c, "alpha", 1),
		Beta:   e.float(c, "beta", 1),
		TransA: e.int(c, "transA", 0) != 0,
		TransB: e.int(c, "transB", 0) != 0,
	}
	if c.opset() < 7 {
		e.int(c, "broadcast", 0) // broadcasting C is allowed either way
	}
	if e.err != nil {
		return e.err
	}
	ins, err := c.inputs()
	if err != nil {
		return err
	}
	return c.emit(0, op, ins...)
}

// inputs materialises every given input, in order.
func (c *nodeCtx) inputs() ([]*ir.Value, error) {
	var ins []*ir.Value
	for i := 0; i < c.nin(); i++ {
		if !c.has(i) {
			continue
		}
		v, err := c.in(i)
		if err != nil {
			return nil, err
		}
		ins = append(ins, v)
	}
	return ins, nil
}

func importMatMul(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	ins, err := c.inputs()
	if err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: ir.KMatMul}, ins...)
}

// importConv: 1-D convolutions run as 2-D over a height of 1, 3-D and
// more as conv_nd.
func importConv(c *nodeCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	w, err := c.in(1)
	if err != nil {
		return err
	}
	in, err := spatial(x, "Conv")
	if err != nil {
		return err
	}
	ws := w.Type.Shape
	if ws.Rank() != x.Type.Shape.Rank() || !ws.Static() {
		return fmt.Errorf("weight %s must be static [O, C/group, k...] for input %s", ws, x.Type.Shape)
	}
	win, err := c.readWindow(in, ir.Shape(ws[2:]).Ints(), true)
	if err != nil {
		return err
	}
	group, err := c.attrInt("group", 1)
	if err != nil {
		return err
	}
	var b *ir.Value
	if c.has(2) {
		if b, err = c.in(2); err != nil {
			return err
		}
	}
	if len(in) > 2 {
		ins := []*ir.Value{x, w}
		if b != nil {
			ins = append(ins, b)
		}
		return c.emit(0, &ir.ConvND{Window: win.nd(), Groups: clampInt(group)}, ins...)
	}
	rank := x.Type.Shape.Rank()
	x2, err := c.as2D(x)
	if err != nil {
		return err
	}
	w2 := w
	if rank == 3 {
		if w2, err = c.tmp(&ir.Reshape{Shape: ir.Shape{ws[0], ws[1], ir.D(1), ws[2]}}, w); err != nil {
			return err
		}
	}
	ins := []*ir.Value{x2, w2}
	if b != nil {
		ins = append(ins, b)
	}
	win = win.to2D()
	op := &ir.Conv2D{Stride: win.stride, Pad: win.pad2(), Dilation: win.dil, Groups: clampInt(group)}
	return c.emitFrom2D(rank, op, ins...)
}

// importConvTranspose: pads come from pads, auto_pad or output_shape as
// the ONNX reference computes them; 1-D runs as 2-D, 3-D and more as
// conv_transpose_nd.
func importConvTranspose(c *nodeCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	w, err := c.in(1)
	if err != nil {
		return err
	}
	in, err := spatial(x, "ConvTranspose")
	if err != nil {
		return err
	}
	ws := w.Type.Shape
	if ws.Rank() != x.Type.Shape.Rank() || !ws.Static() {
		return fmt.Errorf("weight %s must be static [C, O/group, k...] for input %s", ws, x.Type.Shape)
	}
	k := len(in)
	kernel := ir.Shape(ws[2:]).Ints()
	var e errs
	ks, hasKS, err := c.attrInts("kernel_shape")
	if err != nil {
		return err
	}
	if hasKS && !equalInts(ks, kernel) {
		return fmt.Errorf("kernel_shape %v does not match the weight's %v", ks, kernel)
	}
	stride := e.ints(c, "strides")
	dil := e.ints(c, "dilations")
	pads := e.ints(c, "pads")
	outPad := e.ints(c, "output_padding")
	outShape := e.ints(c, "output_shape")
	autoPad := e.str(c, "auto_pad", "NOTSET")
	group := e.int(c, "group", 1)
	if e.err != nil {
		return e.err
	}
	if stride == nil {
		stride = ones(k)
	}
	if dil == nil {
		dil = ones(k)
	}
	if outPad == nil {
		outPad = make([]int, k)
	}
	if len(stride) != k || len(dil) != k || len(outPad) != k {
		return fmt.Errorf("strides %v, dilations %v and output_padding %v must have %d entries", stride, dil, outPad, k)
	}
	if len(outShape) == k+2 {
		outShape = outShape[2:]
	}
	padB, padE := make([]int, k), make([]int, k)
	switch {
	case outShape != nil || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER":
		if outShape == nil {
			outShape = make([]int, k)
			for i := range outShape {
				outShape[i] = in[i] * stride[i]
			}
		}
		if len(outShape) != k {
			return fmt.Errorf("output_shape %v must have %d entries", outShape, k)
		}
		for i := 0; i < k; i++ {
			total := stride[i]*(in[i]-1) + outPad[i] + (kernel[i]-1)*dil[i] + 1 - outShape[i]
			half := floorDiv(total, 2)
			if autoPad == "SAME_UPPER" {
				padB[i], padE[i] = half, total-half
			} else {
				padB[i], padE[i] = total-half, half
			}
		}
	case autoPad == "VALID":
	case autoPad == "NOTSET":
		if pads != nil {
			if len(pads) != 2*k {
				return fmt.Errorf("pads %v must have %d entries", pads, 2*k)
			}
			copy(padB, pads[:k])
			copy(padE, pads[k:])
		}
	default:
		return fmt.Errorf("auto_pad %q: want NOTSET, SAME_UPPER, SAME_LOWER or VALID", autoPad)
	}
	if k > 2 {
		ins, err := c.inputs()
		if err != nil {
			return err
		}
		pad := append(append([]int{}, padB...), padE...)
		op := &ir.ConvTransposeND{Window: ir.Window{Stride: stride, Pad: pad, Dilation: dil}, OutPad: outPad, Groups: group}
		return c.emit(0, op, ins...)
	}
	rank := x.Type.Shape.Rank()
	x2, err := c.as2D(x)
	if err != nil {
		return err
	}
	w2 := w
	if rank == 3 {
		if w2, err = c.tmp(&ir.Reshape{Shape: ir.Shape{ws[0], ws[1], ir.D(1), ws[2]}}, w); err != nil {
			return err
		}
		stride, dil, outPad = []int{1, stride[0]}, []int{1, dil[0]}, []int{0, outPad[0]}
		padB, padE = []int{0, padB[0]}, []int{0, padE[0]}
	}
	ins := []*ir.Value{x2, w2}
	if c.has(2) {
		b, err := c.in(2)
		if err != nil {
			return err
		}
		ins = append(ins, b)
	}
	op := &ir.ConvTranspose2D{Stride: stride, Pad: []int{padB[0], padB[1], padE[0], padE[1]}, Dilation: dil, OutPad: outPad, Groups: group}
	return c.emitFrom2D(rank, op, ins...)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
