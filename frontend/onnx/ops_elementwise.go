package onnx

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/ir"
)

var binaryKinds = map[string]ir.Kind{"Add": ir.KAdd, "Sub": ir.KSub, "Mul": ir.KMul, "Div": ir.KDiv, "Pow": ir.KPow}

// importBinary: Add, Sub, Mul, Div (numpy broadcasting from opset 7; at
// opset 6, equal shapes or broadcast=1 with a trailing-aligned axis) and
// Pow (from opset 12 the exponent may have another type: cast to the
// base's).
func importBinary(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
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
	if c.opset() < 7 {
		var e errs
		bc := e.int(c, "broadcast", 0)
		axis := e.int(c, "axis", -1<<31)
		if e.err != nil {
			return e.err
		}
		switch {
		case bc == 0 && !a.Type.Shape.Equal(b.Type.Shape):
			return fmt.Errorf("shapes %s and %s differ and broadcast=0", a.Type.Shape, b.Type.Shape)
		case bc != 0 && axis != -1<<31 && axis != a.Type.Shape.Rank()-b.Type.Shape.Rank():
			return unsupported("legacy broadcast with axis=%d (only trailing alignment, axis = %d, is supported)", axis, a.Type.Shape.Rank()-b.Type.Shape.Rank())
		}
	}
	if c.n.GetOpType() == "Pow" && a.Type.DType != b.Type.DType {
		if b, err = c.tmp(&ir.Cast{To: a.Type.DType}, b); err != nil {
			return err
		}
	}
	return c.emit(0, ir.Simple{K: binaryKinds[c.n.GetOpType()]}, a, b)
}

// importSum adds its inputs in order, with broadcasting.
func importSum(c *nodeCtx) error {
	if c.nin() < 1 {
		return fmt.Errorf("takes at least 1 input")
	}
	acc, err := c.in(0)
	if err != nil {
		return err
	}
	if c.nin() == 1 {
		c.im.vals[c.outName(0)] = c.val(0)
		return nil
	}
	for i := 1; i < c.nin(); i++ {
		x, err := c.in(i)
		if err != nil {
			return err
		}
		if i == c.nin()-1 {
			return c.emit(0, ir.Simple{K: ir.KAdd}, acc, x)
		}
		if acc, err = c.tmp(ir.Simple{K: ir.KAdd}, acc, x); err != nil {
			return err
		}
	}
	return nil
}

var unaryKinds = map[string]ir.Kind{
	"Relu": ir.KRelu, "Sigmoid": ir.KSigmoid, "Tanh": ir.KTanh, "Erf": ir.KErf, "Exp": ir.KExp,
	"Log": ir.KLog, "Sqrt": ir.KSqrt, "Neg": ir.KNeg, "Abs": ir.KAbs, "HardSwish": ir.KHardSwish,
}

func importUnary(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, ir.Simple{K: unaryKinds[c.n.GetOpType()]}, x)
}

func importLeakyRelu(c *nodeCtx) error {
	var e errs
	alpha := e.float(c, "alpha", 0.01)
	return c.unaryOp(e.err, &ir.LeakyRelu{Alpha: alpha})
}

func importHardSigmoid(c *nodeCtx) error {
	var e errs
	alpha := e.float(c, "alpha", 0.2)
	beta := e.float(c, "beta", 0.5)
	return c.unaryOp(e.err, &ir.HardSigmoid{Alpha: alpha, Beta: beta})
}

func importGelu(c *nodeCtx) error {
	var e errs
	approx := e.str(c, "approximate", "none")
	if e.err == nil && approx != "none" && approx != "tanh" {
		return unsupported("approximate=%q (supported: none, tanh)", approx)
	}
	return c.unaryOp(e.err, &ir.Gelu{Approximate: approx})
}

func (c *nodeCtx) unaryOp(err error, op ir.Op) error {
	if err != nil {
		return err
	}
	if err := c.arity(1, 1); err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, op, x)
}

// importClip: bounds are attributes before opset 11 and optional inputs
// from 11 on; either way they must be known at import time.
func importClip(c *nodeCtx) error {
	lo, hi := math.Inf(-1), math.Inf(1)
	if c.opset() < 11 {
		if err := c.arity(1, 1); err != nil {
			return err
		}
		var e errs
		lo = e.float(c, "min", lo)
		hi = e.float(c, "max", hi)
		if e.err != nil {
			return e.err
		}
	} else {
		if err := c.arity(1, 3); err != nil {
			return err
		}
		var err error
		if c.has(1) {
			if lo, err = c.scalarFloat(1, "min"); err != nil {
				return err
			}
		}
		if c.has(2) {
			if hi, err = c.scalarFloat(2, "max"); err != nil {
				return err
			}
		}
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	if !x.Type.DType.IsFloat() {
		return c.clipInt(x, lo, hi)
	}
	return c.emit(0, &ir.Clip{Min: lo, Max: hi}, x)
}

func importWhere(c *nodeCtx) error {
	if err := c.arity(3, 3); err != nil {
		return err
	}
	var ins []*ir.Value
	for i := 0; i < 3; i++ {
		v, err := c.in(i)
		if err != nil {
			return err
		}
		ins = append(ins, v)
	}
	return c.emit(0, ir.Simple{K: ir.KWhere}, ins...)
}

func importCast(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	var e errs
	to := e.int(c, "to", 0)
	sat := e.int(c, "saturate", 1)
	if e.err != nil {
		return e.err
	}
	_ = sat // saturate only affects float8 targets, which are unsupported
	dt, err := dtypeFromONNX(int32(to))
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	return c.emit(0, &ir.Cast{To: dt}, x)
}

// importIdentity makes the output another name for the input.
func importIdentity(c *nodeCtx) error {
	if err := c.arity(1, 1); err != nil {
		return err
	}
	c.alias(0, 0)
	return nil
}

func (c *nodeCtx) alias(out, in int) {
	if s := c.outName(out); s != "" {
		c.im.vals[s] = c.val(in)
	}
}

// importDropout is the identity at inference, its mask all true.
// Training mode is out of scope.
func importDropout(c *nodeCtx) error {
	if err := c.arity(1, 3); err != nil {
		return err
	}
	c.ignore("seed", "ratio")
	if c.opset() < 7 {
		// Dropout-6 trains unless is_test is set.
		v, err := c.attrInt("is_test", 0)
		if err != nil {
			return err
		}
		if v == 0 {
			return unsupported("Dropout-6 with is_test=0 (training mode)")
		}
	}
	if c.has(2) {
		t, err := c.scalarFloat(2, "training_mode")
		if err != nil {
			return err
		}
		if t != 0 {
			return outOfScopeError(famTraining, "Dropout in training mode")
		}
	}
	if c.wants(1) { // at inference every element is kept
		t, err := c.typeOf(0)
		if err != nil {
			return err
		}
		s, err := staticInts(t.Shape, "Dropout's mask")
		if err != nil {
			return err
		}
		c.setVal(1, &val{konst: &ir.Tensor{DType: ir.Bool, Shape: s, I: []int64{1}, Splat: true}})
	}
	c.alias(0, 0)
	return nil
}
