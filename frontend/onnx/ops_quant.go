package onnx

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/ir"
)

// Quantisation as exporters and the ONNX spec write it, built from casts
// and float arithmetic (exact for 8- and 16-bit integers):
//
//	DequantizeLinear   (float(x) − float(zero_point)) · scale
//	QuantizeLinear     saturate(round_half_even(x / scale) + zero_point)
//	DynamicQuantizeLinear, QLinearMatMul, MatMulInteger from those.
//
// Scales and zero points are per tensor, per axis (1-D along axis) or
// blocked (block_size along axis).

// quantParam shapes a scale or zero point to broadcast against x.
func (c *nodeCtx) quantParam(p *ir.Value, x ir.Shape, axis, block int) (*ir.Value, error) {
	ps := p.Type.Shape
	r := x.Rank()
	switch {
	case ps.Rank() == 0 || (ps.Rank() == 1 && ps[0] == ir.D(1)):
		if ps.Rank() == 1 {
			return c.tmp(&ir.Reshape{Shape: ir.Shape{}}, p)
		}
		return p, nil
	case axis < 0 || axis >= r:
		return nil, fmt.Errorf("axis %d out of range for rank %d", axis, r)
	case block > 0:
		if ps.Rank() != r {
			return nil, fmt.Errorf("blocked scale %s must have the input's rank %d", ps, r)
		}
		mid := append(append(ps[:axis+1].Clone(), ir.D(1)), ps[axis+1:]...)
		y, err := c.tmp(&ir.Reshape{Shape: mid}, p)
		if err != nil {
			return nil, err
		}
		ex := mid.Clone()
		ex[axis+1] = ir.D(block)
		if y, err = c.tmp(&ir.Expand{Shape: ex}, y); err != nil {
			return nil, err
		}
		full := ps.Clone()
		full[axis] = ps[axis].MulInt(block)
		if y, err = c.tmp(&ir.Reshape{Shape: full}, y); err != nil {
			return nil, err
		}
		if !full[axis].Static() || !x[axis].Static() || full[axis].B < x[axis].B {
			return nil, fmt.Errorf("blocked scale %s does not cover %s", ps, x)
		}
		if full[axis].B > x[axis].B {
			return c.tmp(&ir.Slice{Starts: []int{0}, Ends: []int{x[axis].B}, Axes: []int{axis}, Steps: []int{1}}, y)
		}
		return y, nil
	case ps.Rank() == 1:
		s := ir.Shape{ps[0]}
		for range r - 1 - axis {
			s = append(s, ir.D(1))
		}
		return c.tmp(&ir.Reshape{Shape: s}, p)
	}
	return nil, fmt.Errorf("scale %s is neither per tensor, per axis nor blocked", ps)
}

func (c *nodeCtx) castTo(x *ir.Value, dt ir.DType) (*ir.Value, error) {
	if x.Type.DType == dt {
		return x, nil
	}
	return c.tmp(&ir.Cast{To: dt}, x)
}

func importDequantize(c *nodeCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	var e errs
	axis := e.int(c, "axis", 1)
	block := e.int(c, "block_size", 0)
	odt := e.int(c, "output_dtype", 0)
	if e.err != nil {
		return e.err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	scale, err := c.in(1)
	if err != nil {
		return err
	}
	if a, err := normAxis(axis, x.Type.Shape.Rank()); err == nil {
		axis = a // else per-tensor parameters ignore it; quantParam checks
	}
	ft := scale.Type.DType
	if odt != 0 {
		if ft, err = dtypeFromONNX(int32(odt)); err != nil {
			return err
		}
	}
	xf, err := c.castTo(x, ft)
	if err != nil {
		return err
	}
	if c.has(2) {
		zp, err := c.in(2)
		if err != nil {
			return err
		}
		if zp, err = c.quantParam(zp, x.Type.Shape, axis, block); err != nil {
			return err
		}
		if zp, err = c.castTo(zp, ft); err != nil {
			return err
		}
		if xf, err = c.bin(ir.KSub, xf, zp); err != nil {
			return err
		}
	}
	s, err := c.quantParam(scale, x.Type.Shape, axis, block)
	if err != nil {
		return err
	}
	if s, err = c.castTo(s, ft); err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: ir.KMul}, xf, s)
}

// intRange is the range of an integer dtype, as floats.
func intRange(dt ir.DType) (float64, float64, bool) {
	switch dt {
	case ir.I8:
		return math.MinInt8, math.MaxInt8, true
	case ir.U8:
		return 0, math.MaxUint8, true
	case ir.I16:
		return math.MinInt16, math.MaxInt16, true
	case ir.U16:
		return 0, math.MaxUint16, true
	case ir.I32:
		return math.MinInt32, math.MaxInt32, true
	case ir.U32:
		return 0, math.MaxUint32, true
	}
	return 0, 0, false
}

// quantize emits saturate(round(x / scale) + zp) as dtype dt (zp may be nil).
func (c *nodeCtx) quantize(out int, x, scale, zp *ir.Value, dt ir.DType, axis, block int) (*ir.Value, error) {
	lo, hi, ok := intRange(dt)
	if !ok {
		return nil, unsupported("quantizing to %s", dt)
	}
	s, err := c.quantParam(scale, x.Type.Shape, axis, block)
	if err != nil {
		return nil, err
	}
	ft := x.Type.DType
	if s, err = c.castTo(s, ft); err != nil {
		return nil, err
	}
	y, err := c.bin(ir.KDiv, x, s)
	if err != nil {
		return nil, err
	}
	if y, err = c.tmp(ir.Simple{K: ir.KRound}, y); err != nil {
		return nil, err
	}
	if zp != nil {
		if zp, err = c.quantParam(zp, x.Type.Shape, axis, block); err != nil {
			return nil, err
		}
		if zp, err = c.castTo(zp, ft); err != nil {
			return nil, err
		}
		if y, err = c.bin(ir.KAdd, y, zp); err != nil {
			return nil, err
		}
	}
	if y, err = c.tmp(&ir.Clip{Min: lo, Max: hi}, y); err != nil {
		return nil, err
	}
	if out < 0 {
		return c.tmp(&ir.Cast{To: dt}, y)
	}
	return nil, c.emit(out, &ir.Cast{To: dt}, y)
}

func importQuantize(c *nodeCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	var e errs
	axis := e.int(c, "axis", 1)
	block := e.int(c, "block_size", 0)
	odt := e.int(c, "output_dtype", 0)
	e.int(c, "saturate", 1)  // only float8 targets saturate optionally
	e.int(c, "precision", 0) // the division runs in x's precision or wider
	if e.err != nil {
		return e.err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	scale, err := c.in(1)
	if err != nil {
		return err
	}
	if a, err := normAxis(axis, x.Type.Shape.Rank()); err == nil {
		axis = a // else per-tensor parameters ignore it; quantParam checks
	}
	dt := ir.U8
	var zp *ir.Value
	if c.has(2) {
		if zp, err = c.in(2); err != nil {
			return err
		}
		dt = zp.Type.DType
	}
	if odt != 0 {
		if dt, err = dtypeFromONNX(int32(odt)); err != nil {
			return err
		}
	}
	_, err = c.quantize(0, x, scale, zp, dt, axis, block)
	return err
}

// importDynamicQuantize: uint8 with scale (max(0, max x) − min(0, min x))/255
// and zero point saturate(round(−min(0, min x)/scale)).
func importDynamicQuantize(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	all := make([]int, x.Type.Shape.Rank())
	for i := range all {
		all[i] = i
	}
	zero, err := c.scalarConst(x.Type.DType, 0)
	if err != nil {
		return err
	}
	mx, err := c.tmp(&ir.Reduce{K: ir.KReduceMax, Axes: all}, x)
	if err != nil {
		return err
	}
	mn, err := c.tmp(&ir.Reduce{K: ir.KReduceMin, Axes: all}, x)
	if err != nil {
		return err
	}
	if mx, err = c.bin(ir.KMax, mx, zero); err != nil {
		return err
	}
	if mn, err = c.bin(ir.KMin, mn, zero); err != nil {
		return err
	}
	rng, err := c.bin(ir.KSub, mx, mn)
	if err != nil {
		return err
	}
	q, err := c.scalarConst(x.Type.DType, 255)
	if err != nil {
		return err
	}
	scale, err := c.bin(ir.KDiv, rng, q)
	if err != nil {
		return err
	}
	neg, err := c.tmp(ir.Simple{K: ir.KNeg}, mn)
	if err != nil {
		return err
	}
	zpf, err := c.bin(ir.KDiv, neg, scale)
	if err != nil {
		return err
	}
	if zpf, err = c.tmp(ir.Simple{K: ir.KRound}, zpf); err != nil {
		return err
	}
	if zpf, err = c.tmp(&ir.Clip{Min: 0, Max: 255}, zpf); err != nil {
		return err
	}
	zp, err := c.tmp(&ir.Cast{To: ir.U8}, zpf)
	if err != nil {
		return err
	}
	if _, err := c.quantize(0, x, scale, zp, ir.U8, 0, 0); err != nil {
		return err
	}
	c.set(1, scale)
	c.set(2, zp)
	return nil
}

// dequant is (float(x) − float(zp))·scale for a per-tensor or per-axis
// (last axis for b, rows for a) parameter; float32 throughout.
func (c *nodeCtx) dequant(x, scale, zp *ir.Value, axis int) (*ir.Value, error) {
	xf, err := c.castTo(x, ir.F32)
	if err != nil {
		return nil, err
	}
	if zp != nil {
		if zp, err = c.quantParam(zp, x.Type.Shape, axis, 0); err != nil {
			return nil, err
		}
		if zp, err = c.castTo(zp, ir.F32); err != nil {
			return nil, err
		}
		if xf, err = c.bin(ir.KSub, xf, zp); err != nil {
			return nil, err
		}
	}
	if scale == nil {
		return xf, nil
	}
	s, err := c.quantParam(scale, x.Type.Shape, axis, 0)
	if err != nil {
		return nil, err
	}
	if s, err = c.castTo(s, ir.F32); err != nil {
		return nil, err
	}
	return c.bin(ir.KMul, xf, s)
}

func importQLinearMatMul(c *nodeCtx) error {
	ins, err := c.inputsN(8)
	if err != nil {
		return err
	}
	a, err := c.dequant(ins[0], ins[1], ins[2], max(ins[0].Type.Shape.Rank()-2, 0))
	if err != nil {
		return err
	}
	b, err := c.dequant(ins[3], ins[4], ins[5], ins[3].Type.Shape.Rank()-1)
	if err != nil {
		return err
	}
	y, err := c.bin(ir.KMatMul, a, b)
	if err != nil {
		return err
	}
	scale, err := c.castTo(ins[6], ir.F32)
	if err != nil {
		return err
	}
	_, err = c.quantize(0, y, scale, ins[7], ins[7].Type.DType, 0, 0)
	return err
}

func importMatMulInteger(c *nodeCtx) error {
	if err := c.arity(2, 4); err != nil {
		return err
	}
	a, err := c.in(0)
	if err != nil {
		return err
	}
	b, err := c.in(1)
	if err != nil {
		return err
	}
	var azp, bzp *ir.Value
	if c.has(2) {
		if azp, err = c.in(2); err != nil {
			return err
		}
	}
	if c.has(3) {
		if bzp, err = c.in(3); err != nil {
			return err
		}
	}
	af, err := c.dequant(a, nil, azp, max(a.Type.Shape.Rank()-2, 0))
	if err != nil {
		return err
	}
	bf, err := c.dequant(b, nil, bzp, b.Type.Shape.Rank()-1)
	if err != nil {
		return err
	}
	y, err := c.bin(ir.KMatMul, af, bf)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Cast{To: ir.I32}, y)
}

// importClipInt clips integers with min and max (Clip on floats is the
// IR's clip, importClip).
func (c *nodeCtx) clipInt(x *ir.Value, lo, hi float64) error {
	y := x
	var err error
	if !math.IsInf(lo, -1) {
		l, err := c.scalarConst(x.Type.DType, lo)
		if err != nil {
			return err
		}
		if y, err = c.bin(ir.KMax, y, l); err != nil {
			return err
		}
	}
	if !math.IsInf(hi, 1) {
		h, err := c.scalarConst(x.Type.DType, hi)
		if err != nil {
			return err
		}
		if y, err = c.bin(ir.KMin, y, h); err != nil {
			return err
		}
	}
	if y == x {
		c.alias(0, 0)
		return err
	}
	return c.emit(0, &ir.Reshape{Shape: y.Type.Shape.Clone()}, y)
}

// importCenterCropPad crops each listed axis around its centre, or pads
// it with zeros around it, to the shape given.
func importCenterCropPad(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	axes, _, err := c.attrInts("axes")
	if err != nil {
		return err
	}
	shape, err := c.ints(1, "shape")
	if err != nil {
		return err
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
	if len(axes) != len(shape) {
		return fmt.Errorf("shape has %d entries for %d axes", len(shape), len(axes))
	}
	pads := make([]int, 2*r)
	for i, a := range axes {
		if a, err = normAxis(a, r); err != nil {
			return err
		}
		if !s[a].Static() {
			return unsupported("CenterCropPad of the batch axis")
		}
		d, t := s[a].B, int(shape[i])
		if t <= d { // crop: start at (d − t)/2
			pads[a], pads[a+r] = -((d - t) / 2), -(d - t - (d-t)/2)
		} else { // pad: (t − d)/2 before
			pads[a], pads[a+r] = (t-d)/2, t-d-(t-d)/2
		}
	}
	return c.emit(0, &ir.Pad{Pads: pads}, x)
}

// importSwiGLU is swish_alpha(A)·B.
func importSwiGLU(c *nodeCtx) error {
	var e errs
	alpha := e.float(c, "alpha", 1)
	if e.err != nil {
		return e.err
	}
	ins, err := c.inputsN(2)
	if err != nil {
		return err
	}
	g, err := c.tmp(&ir.AlphaAct{K: ir.KSwish, Alpha: alpha}, ins[0])
	if err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: ir.KMul}, g, ins[1])
}

func importBitCast(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	to, err := c.attrInt("to", 0)
	if err != nil {
		return err
	}
	dt, err := dtypeFromONNX(int32(to))
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	for _, d := range []ir.DType{dt, x.Type.DType} {
		if d == ir.F16 || d == ir.BF16 || d == ir.F64 {
			return unsupported("BitCast of %s (held as float32 values, not as its own bits)", d)
		}
	}
	return c.emit(0, &ir.BitCast{To: dt}, x)
}
