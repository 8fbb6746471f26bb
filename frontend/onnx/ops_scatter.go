package onnx

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// Ops that exporters use as gathers or scatters with computed indices,
// built from the IR's gather_elements and scatter_elements:
// ReverseSequence, TensorScatter, MaxUnpool, Col2Im.

// axisRange is the int64 constant 0…n-1 laid along axis a of a rank-r
// tensor (size 1 on the other axes).
func axisRange(c *nodeCtx, n, a, r int) (*ir.Value, error) {
	s := make([]int, r)
	for i := range s {
		s[i] = 1
	}
	s[a] = n
	t := ir.NewTensor(ir.I64, s)
	for i := range t.I {
		t.I[i] = int64(i)
	}
	return c.konst(t)
}

// alongAxis reshapes the 1-D v (length d) to lie along axis a of a
// rank-r tensor.
func alongAxis(c *nodeCtx, v *ir.Value, d ir.Dim, a, r int) (*ir.Value, error) {
	s := make(ir.Shape, r)
	for i := range s {
		s[i] = ir.D(1)
	}
	s[a] = d
	return c.tmp(&ir.Reshape{Shape: s}, v)
}

func scalarI64(c *nodeCtx, v int64) (*ir.Value, error) {
	t := ir.NewTensor(ir.I64, nil)
	t.I[0] = v
	return c.konst(t)
}

// importReverseSequence: ReverseSequence-10. Row b of the batch axis
// has its first sequence_lens[b] steps along the time axis reversed:
// a gather_elements along the time axis with indices
// where(t < len, len-1-t, t).
func importReverseSequence(c *nodeCtx) error {
	if err := c.arity(2, 2); err != nil {
		return err
	}
	var e errs
	ba := e.int(c, "batch_axis", 1)
	ta := e.int(c, "time_axis", 0)
	if e.err != nil {
		return e.err
	}
	if (ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta {
		return fmt.Errorf("batch_axis %d and time_axis %d must be 0 and 1 in some order", ba, ta)
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	lens, err := c.in(1)
	if err != nil {
		return err
	}
	xs := x.Type.Shape
	r := xs.Rank()
	if r < 2 {
		return fmt.Errorf("input has rank %d, want at least 2", r)
	}
	if lens.Type.DType != ir.I64 || lens.Type.Shape.Rank() != 1 || lens.Type.Shape[0] != xs[ba] {
		return fmt.Errorf("sequence_lens is %s %v, want int64 of shape [%v] (the batch axis)", lens.Type.DType, lens.Type.Shape, xs[ba])
	}
	if !xs[ta].Static() {
		return unsupported("ReverseSequence along the batch-dependent time axis %v", xs[ta])
	}
	t, err := axisRange(c, xs[ta].B, int(ta), r)
	if err != nil {
		return err
	}
	l, err := alongAxis(c, lens, xs[ba], int(ba), r)
	if err != nil {
		return err
	}
	one, err := scalarI64(c, 1)
	if err != nil {
		return err
	}
	lt, err := c.tmp(ir.Simple{K: ir.KLess}, t, l)
	if err != nil {
		return err
	}
	l1, err := c.tmp(ir.Simple{K: ir.KSub}, l, one)
	if err != nil {
		return err
	}
	rev, err := c.tmp(ir.Simple{K: ir.KSub}, l1, t)
	if err != nil {
		return err
	}
	idx, err := c.tmp(ir.Simple{K: ir.KWhere}, lt, rev, t)
	if err != nil {
		return err
	}
	if idx, err = c.tmp(&ir.Expand{Shape: xs.Clone()}, idx); err != nil {
		return err
	}
	return c.emit(0, &ir.AxisOp{K: ir.KGatherElements, Axis: int(ta)}, x, idx)
}

// importTensorScatter: TensorScatter-24, a KV-cache update: past_cache
// with update (its axis holding s steps) written at steps
// write_indices[b]…+s-1 of batch row b along axis (mod the cache's length
// in circular mode); a scatter_elements along axis with those indices.
// Linear writes past the end are an evaluation error.
func importTensorScatter(c *nodeCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	var e errs
	mode := e.str(c, "mode", "linear")
	axis := e.int(c, "axis", -2)
	if e.err != nil {
		return e.err
	}
	if mode != "linear" && mode != "circular" {
		return fmt.Errorf("mode %q (want linear or circular)", mode)
	}
	past, err := c.in(0)
	if err != nil {
		return err
	}
	upd, err := c.in(1)
	if err != nil {
		return err
	}
	ps, us := past.Type.Shape, upd.Type.Shape
	r := ps.Rank()
	if r < 2 || us.Rank() != r || upd.Type.DType != past.Type.DType {
		return fmt.Errorf("update is %s %v, want %s of the cache's rank %d (%v)", upd.Type.DType, us, past.Type.DType, r, ps)
	}
	a := int(axis)
	if a < 0 {
		a += r
	}
	if a < 1 || a >= r {
		return fmt.Errorf("axis %d out of range for rank %d (the batch axis 0 is not a sequence axis)", axis, r)
	}
	for i := range r {
		if i != a && us[i] != ps[i] {
			return fmt.Errorf("update's shape %v differs from the cache's %v off axis %d", us, ps, a)
		}
	}
	if !us[a].Static() || !ps[a].Static() {
		return unsupported("TensorScatter along a batch-dependent axis")
	}
	if us[a].B > ps[a].B {
		return fmt.Errorf("update has %d steps along axis %d, more than the cache's %d", us[a].B, a, ps[a].B)
	}
	idx, err := axisRange(c, us[a].B, a, r)
	if err != nil {
		return err
	}
	if c.has(2) {
		wi, err := c.in(2)
		if err != nil {
			return err
		}
		if wi.Type.DType != ir.I64 || wi.Type.Shape.Rank() != 1 || wi.Type.Shape[0] != ps[0] {
			return fmt.Errorf("write_indices is %s %v, want int64 of shape [%v]", wi.Type.DType, wi.Type.Shape, ps[0])
		}
		w, err := alongAxis(c, wi, ps[0], 0, r)
		if err != nil {
			return err
		}
		if idx, err = c.tmp(ir.Simple{K: ir.KAdd}, w, idx); err != nil {
			return err
		}
	}
	if mode == "circular" {
		n, err := scalarI64(c, int64(ps[a].B))
		if err != nil {
			return err
		}
		if idx, err = c.tmp(&ir.Mod{}, idx, n); err != nil {
			return err
		}
	}
	if idx, err = c.tmp(&ir.Expand{Shape: us.Clone()}, idx); err != nil {
		return err
	}
	return c.emit(0, &ir.AxisOp{K: ir.KScatterElements, Axis: a}, past, idx, upd)
}
