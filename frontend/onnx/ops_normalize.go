package onnx

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// The normalisations other than BatchNormalization and
// LayerNormalization, built from reductions and elementwise ops (each
// reads like its ONNX definition; the statistics are float32, stash_type
// 1): RMSNormalization, InstanceNormalization, GroupNormalization,
// LpNormalization, MeanVarianceNormalization.

// bin adds a binary elementwise step.
func (c *nodeCtx) bin(k ir.Kind, a, b *ir.Value) (*ir.Value, error) {
	return c.tmp(ir.Simple{K: k}, a, b)
}

// reduce adds a keepdims reduction over axes.
func (c *nodeCtx) reduce(k ir.Kind, x *ir.Value, axes []int) (*ir.Value, error) {
	return c.tmp(&ir.Reduce{K: k, Axes: axes, KeepDims: true}, x)
}

// normalized is (x − mean)/sqrt(var + eps) over axes, or, with rms,
// x/sqrt(mean(x²) + eps).
func (c *nodeCtx) normalized(x *ir.Value, axes []int, eps float64, rms bool) (*ir.Value, error) {
	d := x
	var err error
	if !rms {
		mean, err := c.reduce(ir.KReduceMean, x, axes)
		if err != nil {
			return nil, err
		}
		if d, err = c.bin(ir.KSub, x, mean); err != nil {
			return nil, err
		}
	}
	sq, err := c.bin(ir.KMul, d, d)
	if err != nil {
		return nil, err
	}
	v, err := c.reduce(ir.KReduceMean, sq, axes)
	if err != nil {
		return nil, err
	}
	ep, err := c.scalarConst(x.Type.DType, eps)
	if err != nil {
		return nil, err
	}
	if v, err = c.bin(ir.KAdd, v, ep); err != nil {
		return nil, err
	}
	if v, err = c.tmp(ir.Simple{K: ir.KSqrt}, v); err != nil {
		return nil, err
	}
	return c.bin(ir.KDiv, d, v)
}

func axesFrom(axis, rank int) []int {
	var a []int
	for i := axis; i < rank; i++ {
		a = append(a, i)
	}
	return a
}

// perChannel reshapes a [C] parameter to [C, 1, …] for an input of rank r.
func (c *nodeCtx) perChannel(p *ir.Value, r int) (*ir.Value, error) {
	if p.Type.Shape.Rank() != 1 {
		return p, nil
	}
	s := ir.Shape{p.Type.Shape[0]}
	for range r - 2 {
		s = append(s, ir.D(1))
	}
	return c.tmp(&ir.Reshape{Shape: s}, p)
}

func importRMSNorm(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	var e errs
	axis := e.int(c, "axis", -1)
	eps := e.float(c, "epsilon", 1e-5)
	e.int(c, "stash_type", 1)
	if e.err != nil {
		return e.err
	}
	ins, err := c.inputsN(2)
	if err != nil {
		return err
	}
	x, scale := ins[0], ins[1]
	a, err := normAxis(axis, x.Type.Shape.Rank())
	if err != nil {
		return err
	}
	y, err := c.normalized(x, axesFrom(a, x.Type.Shape.Rank()), eps, true)
	if err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: ir.KMul}, y, scale)
}

func importInstanceNorm(c *nodeCtx) error {
	var e errs
	eps := e.float(c, "epsilon", 1e-5)
	if c.opset() < 6 {
		c.ignore("consumed_inputs")
	}
	if e.err != nil {
		return e.err
	}
	ins, err := c.inputsN(3)
	if err != nil {
		return err
	}
	x := ins[0]
	r := x.Type.Shape.Rank()
	if r < 3 {
		return fmt.Errorf("input must have rank ≥ 3, got %s", x.Type.Shape)
	}
	y, err := c.normalized(x, axesFrom(2, r), eps, false)
	if err != nil {
		return err
	}
	return c.affine(y, ins[1], ins[2], r)
}

// affine emits y·scale + bias with per-channel parameters.
func (c *nodeCtx) affine(y, scale, bias *ir.Value, r int) error {
	s, err := c.perChannel(scale, r)
	if err != nil {
		return err
	}
	b, err := c.perChannel(bias, r)
	if err != nil {
		return err
	}
	if y, err = c.bin(ir.KMul, y, s); err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: ir.KAdd}, y, b)
}

// importGroupNorm: statistics per group of channels; scale and bias are
// per channel from opset 21, per group before.
func importGroupNorm(c *nodeCtx) error {
	var e errs
	eps := e.float(c, "epsilon", 1e-5)
	g := e.int(c, "num_groups", 0)
	e.int(c, "stash_type", 1)
	if e.err != nil {
		return e.err
	}
	ins, err := c.inputsN(3)
	if err != nil {
		return err
	}
	x := ins[0]
	s := x.Type.Shape
	if s.Rank() < 3 || g < 1 || !s[1].Static() || s[1].B%g != 0 {
		return fmt.Errorf("input %s cannot be split into %d groups of channels", s, g)
	}
	rest, ok := s[2:].NumelDim()
	if !ok || !rest.Static() {
		return unsupported("GroupNormalization on the batch-dependent shape %s", s)
	}
	grouped, err := c.tmp(&ir.Reshape{Shape: ir.Shape{s[0], ir.D(g), ir.D(s[1].B / g * rest.B)}}, x)
	if err != nil {
		return err
	}
	y, err := c.normalized(grouped, []int{2}, eps, false)
	if err != nil {
		return err
	}
	scale, bias := ins[1], ins[2]
	if c.opset() < 21 { // per group: repeat each over its channels
		if scale, err = c.groupToChannels(scale, g, s[1].B); err != nil {
			return err
		}
		if bias, err = c.groupToChannels(bias, g, s[1].B); err != nil {
			return err
		}
	}
	if y, err = c.tmp(&ir.Reshape{Shape: s.Clone()}, y); err != nil {
		return err
	}
	return c.affine(y, scale, bias, s.Rank())
}

// groupToChannels repeats a [G] parameter to [C].
func (c *nodeCtx) groupToChannels(p *ir.Value, g, ch int) (*ir.Value, error) {
	p, err := c.tmp(&ir.Reshape{Shape: ir.Shape{ir.D(g), ir.D(1)}}, p)
	if err != nil {
		return nil, err
	}
	if p, err = c.tmp(&ir.Expand{Shape: ir.Shape{ir.D(g), ir.D(ch / g)}}, p); err != nil {
		return nil, err
	}
	return c.tmp(&ir.Reshape{Shape: ir.Shape{ir.D(ch)}}, p)
}

func importLpNorm(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	var e errs
	axis := e.int(c, "axis", -1)
	p := e.int(c, "p", 2)
	if e.err != nil {
		return e.err
	}
	if p != 1 && p != 2 {
		return fmt.Errorf("p must be 1 or 2, got %d", p)
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	a, err := normAxis(axis, x.Type.Shape.Rank())
	if err != nil {
		return err
	}
	k := ir.KReduceL2
	if p == 1 {
		k = ir.KReduceL1
	}
	n, err := c.reduce(k, x, []int{a})
	if err != nil {
		return err
	}
	// A zero norm means a zero vector, which stays zero.
	tiny, err := c.scalarConst(x.Type.DType, 0x1p-126)
	if err != nil {
		return err
	}
	if n, err = c.bin(ir.KMax, n, tiny); err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: ir.KDiv}, x, n)
}

func importMVN(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	axes, _, err := c.attrInts("axes")
	if err != nil {
		return err
	}
	if axes == nil {
		axes = []int{0, 2, 3}
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	y, err := c.normalized(x, axes, 1e-9, false)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Reshape{Shape: y.Type.Shape.Clone()}, y)
}
