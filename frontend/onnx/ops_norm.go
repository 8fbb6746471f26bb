package onnx

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// importBatchNorm: inference normalisation with running statistics.
// Training (BatchNormalization-6 with is_test=0, more than one output
// read, training_mode=1) and spatial=0 are unsupported.
func importBatchNorm(c *nodeCtx) error {
	if err := c.arity(5, 5); err != nil {
		return err
	}
	var e errs
	eps := e.float(c, "epsilon", 1e-5)
	c.ignore("momentum")
	if c.opset() < 7 {
		if e.int(c, "is_test", 0) == 0 && e.err == nil {
			return unsupported("BatchNormalization-6 with is_test=0 (training mode)")
		}
	}
	if c.opset() < 9 {
		if e.int(c, "spatial", 1) != 1 && e.err == nil {
			return unsupported("spatial=0 (per-activation statistics)")
		}
	}
	if c.opset() >= 14 {
		if e.int(c, "training_mode", 0) != 0 && e.err == nil {
			return outOfScopeError(famTraining, "BatchNormalization with training_mode=1")
		}
	}
	if e.err != nil {
		return e.err
	}
	for i := 1; i < c.nout(); i++ {
		if c.wants(i) {
			return unsupported("output %d of BatchNormalization (training statistics)", i)
		}
	}
	ins, err := c.inputs()
	if err != nil {
		return err
	}
	return c.emit(0, &ir.BatchNorm{Eps: eps}, ins...)
}

// importLayerNorm normalises over axis… and applies scale and bias
// (broadcast to the normalised dims). Its optional Mean and InvStdDev
// outputs, when read, are computed from reductions.
func importLayerNorm(c *nodeCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	var e errs
	axis := e.int(c, "axis", -1)
	eps := e.float(c, "epsilon", 1e-5)
	stash := e.int(c, "stash_type", 1)
	if e.err != nil {
		return e.err
	}
	if stash != 1 {
		return unsupported("stash_type=%d (supported: 1, float32 statistics)", stash)
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	r := x.Type.Shape.Rank()
	if axis < -r || axis >= r {
		return fmt.Errorf("axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	norm := x.Type.Shape[axis:]
	ins := []*ir.Value{x}
	for i := 1; i < c.nin(); i++ {
		if !c.has(i) {
			continue
		}
		p, err := c.in(i)
		if err != nil {
			return err
		}
		if !p.Type.Shape.Equal(norm) {
			if p, err = c.tmp(&ir.Expand{Shape: norm.Clone()}, p); err != nil {
				return err
			}
			if !p.Type.Shape.Equal(norm) {
				return fmt.Errorf("scale/bias %s does not broadcast to the normalised dims %s", p.Type.Shape, norm)
			}
		}
		ins = append(ins, p)
	}
	if err := c.emit(0, &ir.LayerNorm{Axis: axis, Eps: eps}, ins...); err != nil {
		return err
	}
	if !c.wants(1) && !c.wants(2) {
		return nil
	}
	axes := make([]int, 0, r-axis)
	for a := axis; a < r; a++ {
		axes = append(axes, a)
	}
	mean, err := c.tmpOut(1, &ir.Reduce{K: ir.KReduceMean, Axes: axes, KeepDims: true}, x)
	if err != nil {
		return err
	}
	if !c.wants(2) {
		return nil
	}
	d, err := c.tmp(ir.Simple{K: ir.KSub}, x, mean)
	if err != nil {
		return err
	}
	sq, err := c.tmp(ir.Simple{K: ir.KMul}, d, d)
	if err != nil {
		return err
	}
	vr, err := c.tmp(&ir.Reduce{K: ir.KReduceMean, Axes: axes, KeepDims: true}, sq)
	if err != nil {
		return err
	}
	epsV, err := c.konst(&ir.Tensor{DType: x.Type.DType, Shape: []int{}, F: []float32{float32(eps)}})
	if err != nil {
		return err
	}
	if vr, err = c.tmp(ir.Simple{K: ir.KAdd}, vr, epsV); err != nil {
		return err
	}
	sd, err := c.tmp(ir.Simple{K: ir.KSqrt}, vr)
	if err != nil {
		return err
	}
	one, err := c.konst(&ir.Tensor{DType: x.Type.DType, Shape: []int{}, F: []float32{1}})
	if err != nil {
		return err
	}
	return c.emit(2, ir.Simple{K: ir.KDiv}, one, sd)
}

// tmpOut adds op as output i when that exists, else as a temporary.
func (c *nodeCtx) tmpOut(i int, op ir.Op, ins ...*ir.Value) (*ir.Value, error) {
	if c.outName(i) == "" {
		return c.tmp(op, ins...)
	}
	if err := c.emit(i, op, ins...); err != nil {
		return nil, err
	}
	return c.im.vals[c.outName(i)].v, nil
}

// importSoftmax: from opset 13 along axis (default -1); before, over the
// input coerced to 2-D at axis (default 1), i.e. over all dims from axis
// on.
func importSoftmax(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	k := ir.KSoftmax
	if c.n.GetOpType() == "LogSoftmax" {
		k = ir.KLogSoftmax
	}
	def := int64(-1)
	if c.opset() < 13 {
		def = 1
	}
	axis, err := c.attrInt("axis", def)
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	r := x.Type.Shape.Rank()
	a := clampInt(axis)
	if a < -r || a >= r {
		return fmt.Errorf("axis %d out of range for rank %d", a, r)
	}
	if a < 0 {
		a += r
	}
	if c.opset() >= 13 || a == r-1 {
		return c.emit(0, &ir.Softmax{K: k, Axis: a}, x)
	}
	flat, err := c.tmp(&ir.Flatten{Axis: a}, x)
	if err != nil {
		return err
	}
	y, err := c.tmp(&ir.Softmax{K: k, Axis: 1}, flat)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Reshape{Shape: x.Type.Shape.Clone()}, y)
}
