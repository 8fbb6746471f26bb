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

// zerosOf is a splat zero constant of dtype dt and static shape s.
func zerosOf(c *nodeCtx, dt ir.DType, s []int) (*ir.Value, error) {
	t := &ir.Tensor{DType: dt, Shape: s, Splat: true}
	if dt.IsFloat() {
		t.F = []float32{0}
	} else {
		t.I = []int64{0}
	}
	return c.konst(t)
}

// importMaxUnpool: MaxUnpool-9/11/22, zeros of the output's shape with
// X written at I, flat indices over the whole output (as MaxPool's
// Indices are): a scatter_elements on the flattened tensors. The indices
// address the default shape, (in-1)·stride + kernel - pads per spatial
// axis; output_shape, when given (known at import time: bind it when it is
// a graph input), pads or crops that at the end of each axis, as the ONNX
// reference does.
func importMaxUnpool(c *nodeCtx) error {
	if err := c.arity(2, 3); err != nil {
		return err
	}
	var e errs
	kernel := e.ints(c, "kernel_shape")
	pads := e.ints(c, "pads")
	strides := e.ints(c, "strides")
	if e.err != nil {
		return e.err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	idx, err := c.in(1)
	if err != nil {
		return err
	}
	xs, err := staticInts(x.Type.Shape, "MaxUnpool's X (its indices are flat over the whole output)")
	if err != nil {
		return err
	}
	r := len(xs) - 2
	switch {
	case r < 1:
		return fmt.Errorf("X has rank %d, want N, C and spatial axes", len(xs))
	case len(kernel) != r:
		return fmt.Errorf("kernel_shape %v must have %d entries", kernel, r)
	case pads != nil && len(pads) != 2*r:
		return fmt.Errorf("pads %v must have %d entries", pads, 2*r)
	case strides != nil && len(strides) != r:
		return fmt.Errorf("strides %v must have %d entries", strides, r)
	case idx.Type.DType != ir.I64 || !idx.Type.Shape.Equal(x.Type.Shape):
		return fmt.Errorf("I is %s %v, want int64 of X's shape %v", idx.Type.DType, idx.Type.Shape, x.Type.Shape)
	}
	out := []int{xs[0], xs[1]}
	for i := range r {
		s, pb, pe := 1, 0, 0
		if strides != nil {
			s = strides[i]
		}
		if pads != nil {
			pb, pe = pads[i], pads[i+r]
		}
		if s < 1 || kernel[i] < 1 || pb < 0 || pe < 0 {
			return fmt.Errorf("kernel_shape %v, strides %v, pads %v must be positive (pads non-negative)", kernel, strides, pads)
		}
		out = append(out, (xs[i+2]-1)*s+kernel[i]-pb-pe)
	}
	var final []int // output_shape, when given
	if c.has(2) {
		os, err := c.ints(2, "output_shape")
		if err != nil {
			return err
		}
		if len(os) != len(xs) {
			return fmt.Errorf("output_shape %v must have %d entries", os, len(xs))
		}
		for i, d := range os {
			if d < 1 || d > 1<<30 || (i < 2 && int(d) != xs[i]) {
				return fmt.Errorf("output_shape %v does not fit X's shape %v", os, xs)
			}
			final = append(final, int(d))
		}
	}
	n, m := 1, 1
	for i := range xs {
		if out[i] < 1 {
			return fmt.Errorf("output shape %v is empty", out)
		}
		n, m = n*xs[i], m*out[i]
	}
	if m > 1<<30 {
		return fmt.Errorf("output shape %v is too large", out)
	}
	flat := func(v *ir.Value, k int) (*ir.Value, error) { return c.tmp(&ir.Reshape{Shape: ir.StaticShape(k)}, v) }
	xf, err := flat(x, n)
	if err != nil {
		return err
	}
	ixf, err := flat(idx, n)
	if err != nil {
		return err
	}
	z, err := zerosOf(c, x.Type.DType, []int{m})
	if err != nil {
		return err
	}
	y, err := c.tmp(&ir.AxisOp{K: ir.KScatterElements}, z, ixf, xf)
	if err != nil {
		return err
	}
	if final == nil {
		return c.emit(0, &ir.Reshape{Shape: ir.StaticShape(out...)}, y)
	}
	// As the ONNX reference does, the indices address the default shape,
	// which output_shape then pads (or crops) at the end of each axis.
	if y, err = c.tmp(&ir.Reshape{Shape: ir.StaticShape(out...)}, y); err != nil {
		return err
	}
	grow := make([]int, 2*len(out)) // negative pads crop
	for i := range out {
		grow[len(out)+i] = final[i] - out[i]
	}
	return c.emit(0, &ir.Pad{Pads: grow}, y)
}

// importCol2Im: Col2Im-18, the blocks of input (N, C·∏block, L) summed
// into an image (N, C, image_shape…): a scatter_elements with reduction
// add into the padded image, flattened per batch row, then the padding
// sliced off. image_shape and block_shape must be known at import time
// (bind them when they are graph inputs).
func importCol2Im(c *nodeCtx) error {
	if err := c.arity(3, 3); err != nil {
		return err
	}
	var e errs
	dil := e.ints(c, "dilations")
	pads := e.ints(c, "pads")
	strides := e.ints(c, "strides")
	if e.err != nil {
		return e.err
	}
	img64, err := c.ints(1, "image_shape")
	if err != nil {
		return err
	}
	blk64, err := c.ints(2, "block_shape")
	if err != nil {
		return err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	r := len(img64)
	xs := x.Type.Shape
	switch {
	case r < 1 || len(blk64) != r:
		return fmt.Errorf("image_shape %v and block_shape %v must have the same number (≥ 1) of entries", img64, blk64)
	case dil != nil && len(dil) != r, strides != nil && len(strides) != r, pads != nil && len(pads) != 2*r:
		return fmt.Errorf("dilations %v, strides %v (%d entries) and pads %v (%d) do not fit image_shape %v", dil, strides, r, pads, 2*r, img64)
	case xs.Rank() != 3:
		return fmt.Errorf("input has shape %v, want (N, C·∏block_shape, L)", xs)
	case !xs[1].Static() || !xs[2].Static():
		return unsupported("Col2Im of the batch-dependent shape %v", xs)
	}
	img, blk, padded := make([]int, r), make([]int, r), make([]int, r)
	blocks := make([]int, r) // block positions per axis
	st, dl, pb := make([]int, r), make([]int, r), make([]int, r)
	K, L, P := 1, 1, 1
	for i := range r {
		img[i], blk[i] = int(img64[i]), int(blk64[i])
		st[i], dl[i] = 1, 1
		if strides != nil {
			st[i] = strides[i]
		}
		if dil != nil {
			dl[i] = dil[i]
		}
		pe := 0
		if pads != nil {
			pb[i], pe = pads[i], pads[i+r]
		}
		if img[i] < 1 || img[i] > 1<<20 || blk[i] < 1 || st[i] < 1 || dl[i] < 1 || pb[i] < 0 || pe < 0 {
			return fmt.Errorf("image_shape %v, block_shape %v, strides %v, dilations %v, pads %v must be positive (pads non-negative)", img64, blk64, strides, dil, pads)
		}
		padded[i] = img[i] + pb[i] + pe
		span := dl[i]*(blk[i]-1) + 1
		if span > padded[i] {
			return fmt.Errorf("block %v (dilated) is larger than the padded image %v", blk, padded)
		}
		blocks[i] = (padded[i]-span)/st[i] + 1
		K, L, P = K*blk[i], L*blocks[i], P*padded[i]
	}
	if xs[1].B%K != 0 || xs[2].B != L {
		return fmt.Errorf("input has shape %v, want (N, C·%d, %d) for block_shape %v over image_shape %v", xs, K, L, blk, img)
	}
	C := xs[1].B / K
	if C*K*L > 1<<26 || C*P > 1<<30 {
		return fmt.Errorf("Col2Im of %v into %v is too large", xs, img)
	}
	// idx[(c·K + k)·L + l] is the flat padded-image position that block
	// position l's element k of channel c lands on.
	it := ir.NewTensor(ir.I64, []int{1, C * K * L})
	kk, ll := make([]int, r), make([]int, r)
	for k := range K {
		for j, rem := r-1, k; j >= 0; j-- {
			kk[j], rem = rem%blk[j], rem/blk[j]
		}
		for l := range L {
			for j, rem := r-1, l; j >= 0; j-- {
				ll[j], rem = rem%blocks[j], rem/blocks[j]
			}
			pos := 0
			for j := range r {
				pos = pos*padded[j] + ll[j]*st[j] + kk[j]*dl[j]
			}
			for ch := range C {
				it.I[(ch*K+k)*L+l] = int64(ch*P + pos)
			}
		}
	}
	iv, err := c.konst(it)
	if err != nil {
		return err
	}
	n := xs[0]
	if iv, err = c.tmp(&ir.Expand{Shape: ir.Shape{n, ir.D(C * K * L)}}, iv); err != nil {
		return err
	}
	z, err := zerosOf(c, x.Type.DType, []int{1, C * P})
	if err != nil {
		return err
	}
	if z, err = c.tmp(&ir.Expand{Shape: ir.Shape{n, ir.D(C * P)}}, z); err != nil {
		return err
	}
	upd, err := c.tmp(&ir.Reshape{Shape: ir.Shape{n, ir.D(C * K * L)}}, x)
	if err != nil {
		return err
	}
	y, err := c.tmp(&ir.AxisOp{K: ir.KScatterElements, Axis: 1, Reduction: "add"}, z, iv, upd)
	if err != nil {
		return err
	}
	shape := ir.Shape{n, ir.D(C)}
	sl := &ir.Slice{}
	for i := range r {
		shape = append(shape, ir.D(padded[i]))
		if padded[i] != img[i] {
			sl.Starts = append(sl.Starts, pb[i])
			sl.Ends = append(sl.Ends, pb[i]+img[i])
			sl.Axes = append(sl.Axes, i+2)
			sl.Steps = append(sl.Steps, 1)
		}
	}
	if sl.Axes == nil {
		return c.emit(0, &ir.Reshape{Shape: shape}, y)
	}
	if y, err = c.tmp(&ir.Reshape{Shape: shape}, y); err != nil {
		return err
	}
	return c.emit(0, sl, y)
}
