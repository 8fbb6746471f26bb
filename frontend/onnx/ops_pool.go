package onnx

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// importMaxPool: 1-D runs as 2-D; 3-D and more, and the Indices output
// (storage_order orders it), as maxpool_nd; int8 and uint8 run on their
// values as floats (exactly), since the IR's pools take floats.
func importMaxPool(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	order, err := c.attrInt("storage_order", 0) // it only orders Indices
	if err != nil {
		return err
	}
	if order != 0 && order != 1 {
		return fmt.Errorf("storage_order %d: want 0 (row major) or 1 (column major)", order)
	}
	if t, err := c.typeOf(0); err == nil && !t.DType.IsFloat() && t.DType != ir.I8 && t.DType != ir.U8 {
		return unsupported("MaxPool on %s (the IR's maxpool takes floats)", t.DType)
	}
	return c.pool(true, order == 1)
}

// importAveragePool: 1-D runs as 2-D; 3-D and more, and dilations, as
// avgpool_nd.
func importAveragePool(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	return c.pool(false, false)
}

// allOnes reports whether every entry of s is 1.
func allOnes(s []int) bool {
	for _, v := range s {
		if v != 1 {
			return false
		}
	}
	return true
}

// pool imports MaxPool (isMax; colMajor: storage_order 1) or
// AveragePool.
func (c *nodeCtx) pool(isMax, colMajor bool) error {
	x, err := c.in(0)
	if err != nil {
		return err
	}
	what := "AveragePool"
	if isMax {
		what = "MaxPool"
	}
	in, err := spatial(x, what)
	if err != nil {
		return err
	}
	withDil := c.opset() >= 10 && (isMax || c.opset() >= 19)
	win, err := c.readWindow(in, nil, withDil)
	if err != nil {
		return err
	}
	var e errs
	if c.opset() >= 10 {
		win.ceil = e.int(c, "ceil_mode", 0) != 0
	}
	countPad := false
	if !isMax && c.opset() >= 7 {
		countPad = e.int(c, "count_include_pad", 0) != 0
	}
	if e.err != nil {
		return e.err
	}
	for i := range win.kernel {
		if win.padB[i] >= win.kernel[i] || win.padE[i] >= win.kernel[i] {
			return fmt.Errorf("pads %v must be smaller than kernel_shape %v", append(win.padB, win.padE...), win.kernel)
		}
	}
	indices := isMax && c.wants(1)
	rank := x.Type.Shape.Rank()
	// The 2-D pools (1-D as 2-D) unless they cannot say it.
	nd := len(in) > 2 || indices || (!isMax && !allOnes(win.dil))
	var op ir.Op
	switch {
	case nd && isMax:
		op = &ir.MaxPoolND{Kernel: win.kernel, Window: win.nd(), CeilMode: win.ceil, Indices: indices, ColumnMajor: colMajor}
	case nd:
		op = &ir.AvgPoolND{Kernel: win.kernel, Window: win.nd(), CeilMode: win.ceil, CountIncludePad: countPad}
	case isMax:
		w := win.to2D()
		op = &ir.MaxPool{Kernel: w.kernel, Stride: w.stride, Pad: w.pad2(), Dilation: w.dil, CeilMode: w.ceil}
	default:
		w := win.to2D()
		op = &ir.AvgPool{Kernel: w.kernel, Stride: w.stride, Pad: w.pad2(), CeilMode: w.ceil, CountIncludePad: countPad}
	}
	x2 := x
	if !nd {
		if x2, err = c.as2D(x); err != nil {
			return err
		}
	}
	dt := x.Type.DType
	if !dt.IsFloat() {
		// int8 or uint8 (importMaxPool): every window holds an input
		// cell (pads < kernel), so the maximum is an input value and the
		// casts are exact.
		if x2, err = c.tmp(&ir.Cast{To: ir.F32}, x2); err != nil {
			return err
		}
	}
	var y *ir.Value
	switch {
	case indices:
		names := c.outNames(2)
		if !dt.IsFloat() {
			names[0] = c.im.tmpName(c.hint()) // cast back below
		}
		n, err := c.im.b.Add(c.n.GetName(), op, []*ir.Value{x2}, names...)
		if err != nil {
			return err
		}
		c.set(1, n.Outputs[1])
		if dt.IsFloat() {
			c.set(0, n.Outputs[0])
			return nil
		}
		y = n.Outputs[0]
	case dt.IsFloat() && nd:
		return c.emit(0, op, x2)
	case dt.IsFloat():
		return c.emitFrom2D(rank, op, x2)
	default:
		if y, err = c.tmp(op, x2); err != nil {
			return err
		}
	}
	if nd {
		return c.emit(0, &ir.Cast{To: dt}, y)
	}
	return c.emitFrom2D(rank, &ir.Cast{To: dt}, y)
}

func importGlobalAveragePool(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: ir.KGlobalAvgPool}, x)
}

// importReduce: ReduceMean and ReduceSum, axes an attribute before
// opsets 18 and 13 respectively and an input after; with
// noop_with_empty_axes, empty axes mean the identity.
func importReduce(c *nodeCtx) error {
	if err := c.arity(1, 2); err != nil {
		return err
	}
	k, inputFrom := reduceKinds[c.n.GetOpType()], 18
	if k == ir.KReduceSum {
		inputFrom = 13
	}
	var e errs
	keep := e.int(c, "keepdims", 1) != 0
	var axes []int
	noop := false
	if c.opset() < inputFrom {
		axes = e.ints(c, "axes")
		if c.nin() > 1 {
			return fmt.Errorf("takes 1 input before opset %d", inputFrom)
		}
	} else {
		noop = e.int(c, "noop_with_empty_axes", 0) != 0
		if c.has(1) {
			v, err := c.ints(1, "axes")
			if err != nil {
				return err
			}
			for _, a := range v {
				axes = append(axes, clampInt(a))
			}
		}
	}
	if e.err != nil {
		return e.err
	}
	if len(axes) == 0 && noop {
		c.alias(0, 0)
		return nil
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	if axes == nil {
		axes = []int{}
	}
	return c.emit(0, &ir.Reduce{K: k, Axes: axes, KeepDims: keep}, x)
}

// importLpPool is (Σ |x|ᵖ over each window)^(1/p), the sum being the
// average pool with the padding counted, times the window size (zero
// padding adds nothing; without ceil mode every window lies inside the
// padded input). 1-D runs as 2-D, 3-D and more, and dilations, as
// avgpool_nd; no ceil mode.
func importLpPool(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	in, err := spatial(x, "LpPool")
	if err != nil {
		return err
	}
	win, err := c.readWindow(in, nil, c.opset() >= 18)
	if err != nil {
		return err
	}
	var e errs
	p := float64(e.int(c, "p", 2))
	if c.opset() >= 18 && e.int(c, "ceil_mode", 0) != 0 && e.err == nil {
		return unsupported("LpPool with ceil_mode=1")
	}
	if e.err != nil {
		return e.err
	}
	if p <= 0 {
		return fmt.Errorf("p must be positive, got %g", p)
	}
	for i := range win.kernel {
		if win.padB[i] >= win.kernel[i] || win.padE[i] >= win.kernel[i] {
			return fmt.Errorf("pads %v must be smaller than kernel_shape %v", append(win.padB, win.padE...), win.kernel)
		}
	}
	y, err := c.tmp(ir.Simple{K: ir.KAbs}, x)
	if err != nil {
		return err
	}
	pc, err := c.scalarConst(x.Type.DType, p)
	if err != nil {
		return err
	}
	if y, err = c.bin(ir.KPow, y, pc); err != nil {
		return err
	}
	size := 1
	for _, k := range win.kernel {
		size *= k
	}
	rank := x.Type.Shape.Rank()
	nd := len(in) > 2 || !allOnes(win.dil)
	if nd {
		y, err = c.tmp(&ir.AvgPoolND{Kernel: win.kernel, Window: win.nd(), CountIncludePad: true}, y)
	} else {
		if y, err = c.as2D(y); err != nil {
			return err
		}
		w := win.to2D()
		y, err = c.tmp(&ir.AvgPool{Kernel: w.kernel, Stride: w.stride, Pad: w.pad2(), CountIncludePad: true}, y)
	}
	if err != nil {
		return err
	}
	k, err := c.scalarConst(x.Type.DType, float64(size))
	if err != nil {
		return err
	}
	if y, err = c.bin(ir.KMul, y, k); err != nil {
		return err
	}
	inv, err := c.scalarConst(x.Type.DType, 1/p)
	if err != nil {
		return err
	}
	if nd {
		return c.emit(0, ir.Simple{K: ir.KPow}, y, inv)
	}
	return c.emitFrom2D(rank, ir.Simple{K: ir.KPow}, y, inv)
}

// importLRN builds local response normalisation from its definition:
// y = x / (bias + alpha/size · Σ x²)^beta, the sum over the size
// channels around each one (floor((size−1)/2) before, ceil((size−1)/2)
// after, zeros past the edges). The sum is an average pool counting its
// padding, of window size×1, on x² seen as [N, 1, C, D1·…·Dk].
func importLRN(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	var e errs
	alpha := e.float(c, "alpha", 1e-4)
	beta := e.float(c, "beta", 0.75)
	bias := e.float(c, "bias", 1)
	size := e.int(c, "size", 0)
	if e.err != nil {
		return e.err
	}
	if size < 1 {
		return fmt.Errorf("size must be positive, got %d", size)
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	s := x.Type.Shape
	if s.Rank() < 3 || !x.Type.DType.IsFloat() {
		return fmt.Errorf("takes a float input [N, C, D1, …], got %s %s", x.Type.DType, s)
	}
	rest := 1
	for _, d := range s[2:] {
		if !d.Static() {
			return unsupported("LRN on %s (the dimensions after C must not depend on the batch)", s)
		}
		rest *= d.B
	}
	sq, err := c.bin(ir.KMul, x, x)
	if err != nil {
		return err
	}
	if sq, err = c.tmp(&ir.Reshape{Shape: ir.Shape{s[0], ir.D(1), s[1], ir.D(rest)}}, sq); err != nil {
		return err
	}
	lo, hi := (size-1)/2, size/2
	if sq, err = c.tmp(&ir.AvgPool{Kernel: []int{size, 1}, Stride: []int{1, 1}, Pad: []int{lo, 0, hi, 0}, CountIncludePad: true}, sq); err != nil {
		return err
	}
	if sq, err = c.tmp(&ir.Reshape{Shape: s.Clone()}, sq); err != nil {
		return err
	}
	// The pool's mean is Σ x²/size, so alpha/size · Σ x² = alpha · mean.
	a, err := c.scalarConst(x.Type.DType, alpha)
	if err != nil {
		return err
	}
	b, err := c.scalarConst(x.Type.DType, bias)
	if err != nil {
		return err
	}
	p, err := c.scalarConst(x.Type.DType, beta)
	if err != nil {
		return err
	}
	if sq, err = c.bin(ir.KMul, sq, a); err != nil {
		return err
	}
	if sq, err = c.bin(ir.KAdd, sq, b); err != nil {
		return err
	}
	if sq, err = c.bin(ir.KPow, sq, p); err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: ir.KDiv}, x, sq)
}
