package ir

import (
	"fmt"
)

// Shape rules: one function per op family, each checking its inputs and
// returning result types. Errors say what was expected; the caller adds
// the node's name.

func one(t Type) []Type { return []Type{t} }

func wantFloat(i int, t Type) error {
	if !t.DType.IsFloat() {
		return fmt.Errorf("input %d must be a float tensor, got %s", i, t.DType)
	}
	return nil
}

func normAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

func inferUnary(op Op, in []Type) ([]Type, error) {
	return one(TensorType(in[0].DType, in[0].Shape.Clone())), nil
}

func inferFloatUnary(op Op, in []Type) ([]Type, error) {
	if err := wantFloat(0, in[0]); err != nil {
		return nil, err
	}
	return inferUnary(op, in)
}

func inferGelu(op Op, in []Type) ([]Type, error) {
	if a := op.(*Gelu).Approximate; a != "none" && a != "tanh" {
		return nil, fmt.Errorf(`approximate must be "none" or "tanh", got %q`, a)
	}
	return inferFloatUnary(op, in)
}

// Broadcast applies numpy broadcasting to shapes; affine dims broadcast
// only against an equal dim or a static 1.
func Broadcast(shapes ...Shape) (Shape, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make(Shape, rank)
	for i := range out {
		out[i] = D(1)
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case d == o || d == D(1):
			case o == D(1):
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %s do not broadcast (dimension %d: %s vs %s)", fmtShapes(shapes), off+i, o, d)
			}
		}
	}
	return out, nil
}

func fmtShapes(ss []Shape) string {
	s := ""
	for i, x := range ss {
		if i > 0 {
			s += " and "
		}
		s += x.String()
	}
	return s
}

func inferBroadcast(op Op, in []Type) ([]Type, error) {
	if in[0].DType != in[1].DType {
		return nil, fmt.Errorf("operand dtypes differ: %s and %s", in[0].DType, in[1].DType)
	}
	if in[0].DType == Bool {
		return nil, fmt.Errorf("arithmetic on bool tensors")
	}
	s, err := Broadcast(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	return one(TensorType(in[0].DType, s)), nil
}

func inferWhere(op Op, in []Type) ([]Type, error) {
	if in[0].DType != Bool {
		return nil, fmt.Errorf("condition must be bool, got %s", in[0].DType)
	}
	if in[1].DType != in[2].DType {
		return nil, fmt.Errorf("branch dtypes differ: %s and %s", in[1].DType, in[2].DType)
	}
	s, err := Broadcast(in[0].Shape, in[1].Shape, in[2].Shape)
	if err != nil {
		return nil, err
	}
	return one(TensorType(in[1].DType, s)), nil
}

func inferLinear(op Op, in []Type) ([]Type, error) {
	x, w := in[0], in[1]
	for i, t := range in {
		if err := wantFloat(i, t); err != nil {
			return nil, err
		}
	}
	if x.Shape.Rank() < 1 || w.Shape.Rank() != 2 || !w.Shape.Static() {
		return nil, fmt.Errorf("want x[..., in] and a static weight [out, in], got %s and %s", x.Shape, w.Shape)
	}
	if x.Shape[x.Shape.Rank()-1] != w.Shape[1] {
		return nil, fmt.Errorf("input features %s do not match weight %s (want [out, in])", x.Shape[x.Shape.Rank()-1], w.Shape)
	}
	s := x.Shape.Clone()
	s[len(s)-1] = w.Shape[0]
	if err := checkEpilogue(op.(*Linear).Epilogue, in, Shape{w.Shape[0]}, s); err != nil {
		return nil, err
	}
	return one(TensorType(x.DType, s)), nil
}

// checkEpilogue checks the optional bias and residual inputs (after x
// and w) and the activation of a linear or conv2d.
func checkEpilogue(e Epilogue, in []Type, bias, out Shape) error {
	if !e.ActKnown() {
		return fmt.Errorf(`act must be "", "relu", "relu6", "hardsigmoid", "hardswish", "sigmoid", "silu", "gelu" or "gelu_tanh", got %q`, e.Act)
	}
	rest := in[2:]
	if e.Residual {
		if len(rest) == 0 {
			return fmt.Errorf("residual=true needs a residual input")
		}
		if r := rest[len(rest)-1]; !r.Shape.Equal(out) {
			return fmt.Errorf("residual shape %s, want the result's %s", r.Shape, out)
		}
		rest = rest[:len(rest)-1]
	}
	if len(rest) > 1 {
		return fmt.Errorf("too many inputs: want x, w, bias?, residual?")
	}
	if len(rest) == 1 && !rest[0].Shape.Equal(bias) {
		return fmt.Errorf("bias shape %s, want %s", rest[0].Shape, bias)
	}
	return nil
}

func inferGemm(op Op, in []Type) ([]Type, error) {
	g := op.(*Gemm)
	a, b := in[0].Shape, in[1].Shape
	if a.Rank() != 2 || b.Rank() != 2 {
		return nil, fmt.Errorf("operands must be 2-D, got %s and %s", a, b)
	}
	m, k := a[0], a[1]
	if g.TransA {
		m, k = k, m
	}
	k2, n := b[0], b[1]
	if g.TransB {
		k2, n = n, k2
	}
	if k != k2 {
		return nil, fmt.Errorf("inner dimensions differ: %s (a%s) vs %s (b%s)", k, a, k2, b)
	}
	out := Shape{m, n}
	if len(in) == 3 {
		s, err := Broadcast(out, in[2].Shape)
		if err != nil || !s.Equal(out) {
			return nil, fmt.Errorf("c %s does not broadcast to %s", in[2].Shape, out)
		}
	}
	return one(TensorType(in[0].DType, out)), nil
}

func inferMatMul(op Op, in []Type) ([]Type, error) {
	a, b := in[0].Shape, in[1].Shape
	if in[0].DType != in[1].DType {
		return nil, fmt.Errorf("operand dtypes differ: %s and %s", in[0].DType, in[1].DType)
	}
	if a.Rank() == 0 || b.Rank() == 0 {
		return nil, fmt.Errorf("operands must have rank ≥ 1, got %s and %s", a, b)
	}
	aa, bb := a, b
	if aa.Rank() == 1 {
		aa = Shape{D(1), a[0]}
	}
	if bb.Rank() == 1 {
		bb = Shape{b[0], D(1)}
	}
	if aa[len(aa)-1] != bb[len(bb)-2] {
		return nil, fmt.Errorf("inner dimensions differ: %s (last of a%s) vs %s (first matrix dim of b%s)", aa[len(aa)-1], a, bb[len(bb)-2], b)
	}
	batch, err := Broadcast(aa[:len(aa)-2], bb[:len(bb)-2])
	if err != nil {
		return nil, err
	}
	out := append(batch.Clone(), aa[len(aa)-2], bb[len(bb)-1])
	if a.Rank() == 1 {
		out = append(out[:len(out)-2], out[len(out)-1])
	}
	if b.Rank() == 1 {
		out = out[:len(out)-1]
	}
	return one(TensorType(in[0].DType, out)), nil
}

// windowOut is the output length of a sliding window (conv or pool).
func windowOut(in, padB, padE, k, stride, dil int, ceil bool) int {
	span := in + padB + padE - dil*(k-1) - 1
	if span < 0 {
		return 0
	}
	if !ceil {
		return span/stride + 1
	}
	out := (span+stride-1)/stride + 1
	// PyTorch: the last window must start inside the input or left padding.
	if (out-1)*stride >= in+padB {
		out--
	}
	return out
}

func checkWindow(name string, x Shape, kernel, stride, pad, dil []int) error {
	if x.Rank() != 4 {
		return fmt.Errorf("input must be NCHW (rank 4), got %s", x)
	}
	if !Shape(x[1:]).Static() {
		return fmt.Errorf("channels and spatial dims must be static, got %s", x)
	}
	if len(kernel) != 2 || len(stride) != 2 || len(dil) != 2 || len(pad) != 4 {
		return fmt.Errorf("%s: want kernel, stride, dilation of 2 and pad of 4 values [top,left,bottom,right]", name)
	}
	for i := 0; i < 2; i++ {
		if kernel[i] < 1 || stride[i] < 1 || dil[i] < 1 {
			return fmt.Errorf("kernel, stride and dilation must be ≥ 1, got kernel %v stride %v dilation %v", kernel, stride, dil)
		}
	}
	for _, p := range pad {
		if p < 0 {
			return fmt.Errorf("pad must be ≥ 0, got %v", pad)
		}
	}
	return nil
}

func inferConv2D(op Op, in []Type) ([]Type, error) {
	c := op.(*Conv2D)
	x, w := in[0].Shape, in[1].Shape
	for i, t := range in {
		if err := wantFloat(i, t); err != nil {
			return nil, err
		}
	}
	if w.Rank() != 4 || !w.Static() {
		return nil, fmt.Errorf("weight must be static [O, C/groups, kh, kw], got %s", w)
	}
	kernel := []int{w[2].B, w[3].B}
	if err := checkWindow("conv2d", x, kernel, c.Stride, c.Pad, c.Dilation); err != nil {
		return nil, err
	}
	if c.Groups < 1 || x[1].B%c.Groups != 0 || w[0].B%c.Groups != 0 {
		return nil, fmt.Errorf("groups %d must divide input channels %s and filters %s", c.Groups, x[1], w[0])
	}
	if w[1].B*c.Groups != x[1].B {
		return nil, fmt.Errorf("weight %s expects %d input channels, input %s has %s", w, w[1].B*c.Groups, x, x[1])
	}
	oh := windowOut(x[2].B, c.Pad[0], c.Pad[2], kernel[0], c.Stride[0], c.Dilation[0], false)
	ow := windowOut(x[3].B, c.Pad[1], c.Pad[3], kernel[1], c.Stride[1], c.Dilation[1], false)
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("kernel %v larger than padded input %s", kernel, x)
	}
	out := Shape{x[0], w[0], D(oh), D(ow)}
	if c.Pre {
		if len(in) < 4 {
			return nil, fmt.Errorf("pre=true needs pre_scale and pre_shift inputs")
		}
		for _, t := range in[len(in)-2:] {
			if !t.Shape.Equal(Shape{x[1]}) {
				return nil, fmt.Errorf("pre_scale and pre_shift must be [%s], got %s", x[1], t.Shape)
			}
		}
		if !(Epilogue{Act: c.PreAct}).ActKnown() {
			return nil, fmt.Errorf("pre_act %q is not an epilogue activation", c.PreAct)
		}
		in = in[:len(in)-2]
	} else if c.PreAct != "" {
		return nil, fmt.Errorf("pre_act=%q needs pre=true", c.PreAct)
	}
	if err := checkEpilogue(c.Epilogue, in, Shape{w[0]}, out); err != nil {
		return nil, err
	}
	return one(TensorType(in[0].DType, out)), nil
}

// ConvTransposeOut is the result length of a transposed convolution.
func ConvTransposeOut(in, k, stride, dil, padB, padE, outPad int) int {
	return stride*(in-1) + dil*(k-1) + 1 + outPad - padB - padE
}

func inferConvTranspose2D(op Op, in []Type) ([]Type, error) {
	c := op.(*ConvTranspose2D)
	x, w := in[0].Shape, in[1].Shape
	for i, t := range in {
		if err := wantFloat(i, t); err != nil {
			return nil, err
		}
	}
	if x.Rank() != 4 || !Shape(x[1:]).Static() {
		return nil, fmt.Errorf("input must be NCHW with static C, H, W, got %s", x)
	}
	if w.Rank() != 4 || !w.Static() {
		return nil, fmt.Errorf("weight must be static [C, O/groups, kh, kw], got %s", w)
	}
	if len(c.Stride) != 2 || len(c.Dilation) != 2 || len(c.Pad) != 4 || len(c.OutPad) != 2 {
		return nil, fmt.Errorf("want stride, dilation, out_pad of 2 and pad of 4 values [top,left,bottom,right]")
	}
	for i := 0; i < 2; i++ {
		if c.Stride[i] < 1 || c.Dilation[i] < 1 || c.OutPad[i] < 0 || w[2+i].B < 1 {
			return nil, fmt.Errorf("stride, dilation and kernel must be ≥ 1 and out_pad ≥ 0, got stride %v dilation %v out_pad %v kernel %s", c.Stride, c.Dilation, c.OutPad, w[2:])
		}
	}
	if c.Groups < 1 || x[1].B%c.Groups != 0 || w[0].B != x[1].B {
		return nil, fmt.Errorf("weight %s must have the input's %s channels first, divisible by groups %d", w, x[1], c.Groups)
	}
	oh := ConvTransposeOut(x[2].B, w[2].B, c.Stride[0], c.Dilation[0], c.Pad[0], c.Pad[2], c.OutPad[0])
	ow := ConvTransposeOut(x[3].B, w[3].B, c.Stride[1], c.Dilation[1], c.Pad[1], c.Pad[3], c.OutPad[1])
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("padding %v leaves an empty result", c.Pad)
	}
	o := D(w[1].B * c.Groups)
	if len(in) == 3 && !in[2].Shape.Equal(Shape{o}) {
		return nil, fmt.Errorf("bias shape %s, want [%s]", in[2].Shape, o)
	}
	return one(TensorType(in[0].DType, Shape{x[0], o, D(oh), D(ow)})), nil
}

func inferMaxPool(op Op, in []Type) ([]Type, error) {
	p := op.(*MaxPool)
	return inferPool(in, p.Kernel, p.Stride, p.Pad, p.Dilation, p.CeilMode)
}

func inferAvgPool(op Op, in []Type) ([]Type, error) {
	p := op.(*AvgPool)
	return inferPool(in, p.Kernel, p.Stride, p.Pad, []int{1, 1}, p.CeilMode)
}

func inferPool(in []Type, kernel, stride, pad, dil []int, ceil bool) ([]Type, error) {
	x := in[0].Shape
	if err := wantFloat(0, in[0]); err != nil {
		return nil, err
	}
	if err := checkWindow("pool", x, kernel, stride, pad, dil); err != nil {
		return nil, err
	}
	if pad[0] >= kernel[0] || pad[2] >= kernel[0] || pad[1] >= kernel[1] || pad[3] >= kernel[1] {
		return nil, fmt.Errorf("pad %v must be smaller than the kernel %v", pad, kernel)
	}
	oh := windowOut(x[2].B, pad[0], pad[2], kernel[0], stride[0], dil[0], ceil)
	ow := windowOut(x[3].B, pad[1], pad[3], kernel[1], stride[1], dil[1], ceil)
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("kernel %v larger than padded input %s", kernel, x)
	}
	return one(TensorType(in[0].DType, Shape{x[0], x[1], D(oh), D(ow)})), nil
}

func inferGlobalAvgPool(op Op, in []Type) ([]Type, error) {
	x := in[0].Shape
	if err := wantFloat(0, in[0]); err != nil {
		return nil, err
	}
	if x.Rank() < 3 || !Shape(x[2:]).Static() {
		return nil, fmt.Errorf("input must be [N, C, spatial...] with static spatial dims, got %s", x)
	}
	out := Shape{x[0], x[1]}
	for range x[2:] {
		out = append(out, D(1))
	}
	return one(TensorType(in[0].DType, out)), nil
}

func inferBatchNorm(op Op, in []Type) ([]Type, error) {
	x := in[0].Shape
	if x.Rank() < 2 || !x[1].Static() {
		return nil, fmt.Errorf("input must be [N, C, ...] with static C, got %s", x)
	}
	for i, t := range in {
		if err := wantFloat(i, t); err != nil {
			return nil, err
		}
		if i > 0 && !t.Shape.Equal(Shape{x[1]}) {
			return nil, fmt.Errorf("parameter %d has shape %s, want [%s]", i, t.Shape, x[1])
		}
	}
	return one(TensorType(in[0].DType, x.Clone())), nil
}

func inferLayerNorm(op Op, in []Type) ([]Type, error) {
	ln := op.(*LayerNorm)
	x := in[0].Shape
	axis, err := normAxis(ln.Axis, x.Rank())
	if err != nil {
		return nil, err
	}
	norm := x[axis:]
	if !norm.Static() {
		return nil, fmt.Errorf("normalised dims %s must be static", norm)
	}
	for i, t := range in {
		if err := wantFloat(i, t); err != nil {
			return nil, err
		}
		if i > 0 && !t.Shape.Equal(norm) {
			return nil, fmt.Errorf("parameter %d has shape %s, want %s", i, t.Shape, norm)
		}
	}
	return one(TensorType(in[0].DType, x.Clone())), nil
}

func inferSoftmax(op Op, in []Type) ([]Type, error) {
	if _, err := normAxis(op.(*Softmax).Axis, in[0].Shape.Rank()); err != nil {
		return nil, err
	}
	return inferFloatUnary(op, in)
}

func inferReshape(op Op, in []Type) ([]Type, error) {
	to := op.(*Reshape).Shape
	for _, d := range to {
		if d.A < 0 || (d.A == 0 && d.B < 0) {
			return nil, fmt.Errorf("target shape %s has a negative dimension", to)
		}
	}
	if !to.Numel().Equal(in[0].Shape.Numel()) {
		return nil, fmt.Errorf("cannot reshape %s to %s: element counts differ", in[0].Shape, to)
	}
	return one(keepQuant(TensorType(in[0].DType, to.Clone()), in[0])), nil
}

// keepQuant gives t x's quantized format: ops that only move elements
// (reshape, transpose, flatten, relayout) keep it.
func keepQuant(t, x Type) Type {
	t.Quant = x.Quant
	return t
}

func inferRelayout(op Op, in []Type) ([]Type, error) {
	return one(keepQuant(TensorType(in[0].DType, in[0].Shape.Clone()), in[0])), nil
}

func inferTranspose(op Op, in []Type) ([]Type, error) {
	perm := op.(*Transpose).Perm
	x := in[0].Shape
	if len(perm) != x.Rank() {
		return nil, fmt.Errorf("perm %v has %d entries for rank %d", perm, len(perm), x.Rank())
	}
	seen := make([]bool, len(perm))
	out := make(Shape, len(perm))
	for i, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation of 0..%d", perm, len(perm)-1)
		}
		seen[p] = true
		out[i] = x[p]
	}
	return one(keepQuant(TensorType(in[0].DType, out), in[0])), nil
}

func inferFlatten(op Op, in []Type) ([]Type, error) {
	x := in[0].Shape
	axis := op.(*Flatten).Axis
	if axis < -x.Rank() || axis > x.Rank() {
		return nil, fmt.Errorf("axis %d out of range for rank %d", axis, x.Rank())
	}
	if axis < 0 {
		axis += x.Rank()
	}
	outer, ok1 := x[:axis].NumelDim()
	inner, ok2 := x[axis:].NumelDim()
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("flattening %s at axis %d is not affine in N", x, axis)
	}
	return one(keepQuant(TensorType(in[0].DType, Shape{outer, inner}), in[0])), nil
}

func inferConcat(op Op, in []Type) ([]Type, error) {
	x := in[0].Shape
	axis, err := normAxis(op.(*Concat).Axis, x.Rank())
	if err != nil {
		return nil, err
	}
	out := x.Clone()
	for i, t := range in[1:] {
		if t.DType != in[0].DType {
			return nil, fmt.Errorf("input %d has dtype %s, input 0 %s", i+1, t.DType, in[0].DType)
		}
		if t.Shape.Rank() != x.Rank() {
			return nil, fmt.Errorf("input %d has rank %d, input 0 rank %d", i+1, t.Shape.Rank(), x.Rank())
		}
		for d := range x {
			if d != axis && t.Shape[d] != x[d] {
				return nil, fmt.Errorf("input %d shape %s differs from %s outside axis %d", i+1, t.Shape, x, axis)
			}
		}
		out[axis] = out[axis].Add(t.Shape[axis])
	}
	return one(TensorType(in[0].DType, out)), nil
}

func inferSplit(op Op, in []Type) ([]Type, error) {
	sp := op.(*Split)
	x := in[0].Shape
	axis, err := normAxis(sp.Axis, x.Rank())
	if err != nil {
		return nil, err
	}
	if !x[axis].Static() {
		return nil, fmt.Errorf("cannot split along the batch-dependent axis %d of %s", axis, x)
	}
	sum := 0
	for _, s := range sp.Sizes {
		if s < 0 {
			return nil, fmt.Errorf("sizes %v must be ≥ 0", sp.Sizes)
		}
		sum += s
	}
	if len(sp.Sizes) == 0 || sum != x[axis].B {
		return nil, fmt.Errorf("sizes %v must sum to %d (axis %d of %s)", sp.Sizes, x[axis].B, axis, x)
	}
	outs := make([]Type, len(sp.Sizes))
	for i, s := range sp.Sizes {
		sh := x.Clone()
		sh[axis] = D(s)
		outs[i] = TensorType(in[0].DType, sh)
	}
	return outs, nil
}

// SliceRange resolves ONNX Slice bounds on a dimension of length n into
// (start, count, step) with clamping.
func SliceRange(start, end, step, n int) (int, int, error) {
	if step == 0 {
		return 0, 0, fmt.Errorf("slice step must not be 0")
	}
	clamp := func(v, lo, hi int) int { return min(max(v, lo), hi) }
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	var count int
	if step > 0 {
		start, end = clamp(start, 0, n), clamp(end, 0, n)
		if end > start {
			count = (end - start + step - 1) / step
		}
	} else {
		start, end = clamp(start, -1, n-1), clamp(end, -1, n-1)
		if start > end {
			count = (start - end - step - 1) / -step
		}
	}
	return start, count, nil
}

// SliceAxes returns per-dimension (start, count, step) for a slice of x;
// a batch-dependent dimension may only be taken whole.
func (s *Slice) Resolve(x Shape) (starts, counts, steps []int, out Shape, err error) {
	r := x.Rank()
	if len(s.Starts) != len(s.Ends) || (len(s.Axes) != 0 && len(s.Axes) != len(s.Starts)) || (len(s.Steps) != 0 && len(s.Steps) != len(s.Starts)) {
		return nil, nil, nil, nil, fmt.Errorf("starts, ends, axes and steps must have equal lengths, got %d, %d, %d, %d", len(s.Starts), len(s.Ends), len(s.Axes), len(s.Steps))
	}
	starts, counts, steps = make([]int, r), make([]int, r), make([]int, r)
	out = x.Clone()
	touched := make([]bool, r)
	for i := range starts {
		steps[i] = 1
		counts[i] = -1 // whole
	}
	for i := range s.Starts {
		ax := i
		if len(s.Axes) != 0 {
			ax = s.Axes[i]
		}
		a, err := normAxis(ax, r)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if touched[a] {
			return nil, nil, nil, nil, fmt.Errorf("axis %d sliced twice", a)
		}
		touched[a] = true
		step := 1
		if len(s.Steps) != 0 {
			step = s.Steps[i]
		}
		if !x[a].Static() {
			if step == 1 && s.Starts[i] == 0 && s.Ends[i] >= 1<<31 {
				continue
			}
			return nil, nil, nil, nil, fmt.Errorf("axis %d of %s depends on the batch: only a whole slice (0:inf:1) is allowed", a, x)
		}
		st, cnt, err := SliceRange(s.Starts[i], s.Ends[i], step, x[a].B)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		starts[a], counts[a], steps[a] = st, cnt, step
		out[a] = D(cnt)
	}
	return starts, counts, steps, out, nil
}

func inferSlice(op Op, in []Type) ([]Type, error) {
	_, _, _, out, err := op.(*Slice).Resolve(in[0].Shape)
	if err != nil {
		return nil, err
	}
	return one(TensorType(in[0].DType, out)), nil
}

func inferPad(op Op, in []Type) ([]Type, error) {
	p := op.(*Pad)
	x := in[0].Shape
	r := x.Rank()
	if len(p.Pads) != 2*r {
		return nil, fmt.Errorf("pads %v must have 2×rank = %d entries", p.Pads, 2*r)
	}
	out := x.Clone()
	for i := range x {
		out[i] = x[i].Add(D(p.Pads[i] + p.Pads[i+r]))
		if out[i].Static() && out[i].B < 0 {
			return nil, fmt.Errorf("pads %v crop dimension %d of %s below zero", p.Pads, i, x)
		}
	}
	return one(TensorType(in[0].DType, out)), nil
}

func inferExpand(op Op, in []Type) ([]Type, error) {
	s, err := Broadcast(in[0].Shape, op.(*Expand).Shape)
	if err != nil {
		return nil, err
	}
	return one(TensorType(in[0].DType, s)), nil
}

func inferGather(op Op, in []Type) ([]Type, error) {
	x, idx := in[0].Shape, in[1]
	if !idx.DType.IsInt() {
		return nil, fmt.Errorf("indices must be integers, got %s", idx.DType)
	}
	axis, err := normAxis(op.(*Gather).Axis, x.Rank())
	if err != nil {
		return nil, err
	}
	if !x[axis].Static() {
		return nil, fmt.Errorf("cannot gather along the batch-dependent axis %d of %s", axis, x)
	}
	out := append(append(x[:axis].Clone(), idx.Shape...), x[axis+1:]...)
	if _, ok := out.NumelDim(); !ok {
		return nil, fmt.Errorf("result %s is not affine in N", out)
	}
	return one(TensorType(in[0].DType, out)), nil
}

func inferCast(op Op, in []Type) ([]Type, error) {
	to := op.(*Cast).To
	if to == Invalid || to >= numDTypes {
		return nil, fmt.Errorf("cast needs a target dtype: to=f32, i64, ...")
	}
	return one(TensorType(to, in[0].Shape.Clone())), nil
}

func inferReduce(op Op, in []Type) ([]Type, error) {
	r := op.(*Reduce)
	x := in[0].Shape
	axes, err := reduceAxes(r.Axes, x.Rank())
	if err != nil {
		return nil, err
	}
	var out Shape
	for i, d := range x {
		switch {
		case !axes[i]:
			out = append(out, d)
		case !d.Static():
			return nil, fmt.Errorf("cannot reduce over the batch-dependent axis %d of %s", i, x)
		case r.KeepDims:
			out = append(out, D(1))
		}
	}
	if !reduceTakes(r.K, in[0].DType) {
		return nil, fmt.Errorf("%s is not defined on %s", r.K, in[0].DType)
	}
	return one(TensorType(in[0].DType, out)), nil
}

func reduceAxes(axes []int, rank int) ([]bool, error) {
	m := make([]bool, rank)
	if len(axes) == 0 {
		for i := range m {
			m[i] = true
		}
		return m, nil
	}
	for _, a := range axes {
		n, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if m[n] {
			return nil, fmt.Errorf("axis %d listed twice", n)
		}
		m[n] = true
	}
	return m, nil
}

func inferEmbedding(op Op, in []Type) ([]Type, error) {
	ids, table := in[0], in[1]
	if !ids.DType.IsInt() {
		return nil, fmt.Errorf("ids must be integers, got %s", ids.DType)
	}
	if table.Shape.Rank() != 2 || !table.Shape.Static() {
		return nil, fmt.Errorf("table must be static [vocab, dim], got %s", table.Shape)
	}
	out := append(ids.Shape.Clone(), table.Shape[1])
	return one(TensorType(table.DType, out)), nil
}

func inferAttention(op Op, in []Type) ([]Type, error) {
	a := op.(*Attention)
	q, k, v := in[0].Shape, in[1].Shape, in[2].Shape
	for i, t := range in {
		if err := wantFloat(i, t); err != nil {
			return nil, err
		}
		if t.Shape.Rank() != 3 {
			return nil, fmt.Errorf("q, k, v must be [B, T, D], got %s, %s, %s", q, k, v)
		}
	}
	if q[0] != k[0] || k[0] != v[0] || k[1] != v[1] || q[2] != k[2] {
		return nil, fmt.Errorf("q %s, k %s, v %s do not fit: want [B,T,D], [B,S,D], [B,S,Dv]", q, k, v)
	}
	if !q[2].Static() || !v[2].Static() || !q[1].Static() || !k[1].Static() {
		return nil, fmt.Errorf("sequence and feature dims must be static, got %s, %s, %s", q, k, v)
	}
	if a.Heads < 1 || q[2].B%a.Heads != 0 || v[2].B%a.Heads != 0 {
		return nil, fmt.Errorf("heads %d must divide the feature dims %s and %s", a.Heads, q[2], v[2])
	}
	if a.Causal && q[1].B > k[1].B {
		return nil, fmt.Errorf("causal attention needs T ≤ S, got T=%s S=%s", q[1], k[1])
	}
	return one(TensorType(in[0].DType, Shape{q[0], q[1], v[2]})), nil
}
