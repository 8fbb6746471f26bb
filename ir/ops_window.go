package ir

import "fmt"

// Convolutions and pools of any spatial rank k ≥ 1: x is [N, C, D₁, …,
// D_k] (channels and spatial dims static), k the number of kernel
// entries (pools) or the weight's rank − 2 (convolutions). They are what
// the 2-D ops (conv2d, conv_transpose2d, maxpool, avgpool, on NCHW, with
// their layouts, fusions and fast kernels) cannot express: 3-D and
// higher windows, and average pooling with dilations. Each window
// position p of the result reads input coordinates p·stride − pad_begin
// + t·dilation, t over the kernel's taps, axis by axis.

// Window is the spatial attributes the N-D ops share, one entry per
// spatial axis. Pad is ONNX's pads order, the padding before each axis
// then after each: [b₁, …, b_k, e₁, …, e_k]. Empty means the default:
// stride and dilation 1, no padding.
type Window struct {
	Stride   []int `attr:"stride"`
	Pad      []int `attr:"pad"`
	Dilation []int `attr:"dilation"`
}

// Of returns the window for k spatial axes with its defaults filled in.
func (w Window) Of(k int) (stride, padB, padE, dil []int) {
	stride, dil = w.Stride, w.Dilation
	if len(stride) == 0 {
		stride = fill(k, 1)
	}
	if len(dil) == 0 {
		dil = fill(k, 1)
	}
	padB, padE = fill(k, 0), fill(k, 0)
	if len(w.Pad) == 2*k {
		padB, padE = w.Pad[:k], w.Pad[k:]
	}
	return stride, padB, padE, dil
}

func fill(k, v int) []int {
	s := make([]int, k)
	for i := range s {
		s[i] = v
	}
	return s
}

// check checks the window's lengths for k axes, stride and dilation ≥ 1
// and, unless negPad, the padding ≥ 0.
func (w Window) check(k int, negPad bool) error {
	if (len(w.Stride) != 0 && len(w.Stride) != k) || (len(w.Dilation) != 0 && len(w.Dilation) != k) || (len(w.Pad) != 0 && len(w.Pad) != 2*k) {
		return fmt.Errorf("want stride and dilation of %d values and pad of %d [begins…, ends…] for %d spatial axes, got stride %v dilation %v pad %v", k, 2*k, k, w.Stride, w.Dilation, w.Pad)
	}
	stride, padB, padE, dil := w.Of(k)
	for i := 0; i < k; i++ {
		if stride[i] < 1 || dil[i] < 1 {
			return fmt.Errorf("stride and dilation must be ≥ 1, got stride %v dilation %v", stride, dil)
		}
		if !negPad && (padB[i] < 0 || padE[i] < 0) {
			return fmt.Errorf("pad must be ≥ 0, got %v", w.Pad)
		}
	}
	return nil
}

// ConvND is an N-D convolution (cross-correlation): x[N, C, D₁…D_k],
// w[O, C/groups, k₁…k_k], b[O]?. Output channel o of group g sums, over
// the C/groups input channels of g and the kernel's taps, w times the
// input at the tap's coordinate (0 in the padding), plus b[o].
type ConvND struct {
	Window
	Groups int `attr:"groups"`
}

func (*ConvND) Kind() Kind { return KConvND }

// ConvTransposeND is an N-D transposed convolution: x[N, C, D₁…D_k],
// w[C, O/groups, k₁…k_k], b[O]?. Input position p of channel c adds
// x·w[c, o, t] to output position p·stride − pad_begin + t·dilation of
// each channel o of c's group; contributions outside the result are
// dropped. The result is stride·(D−1) + dilation·(k−1) + 1 + out_pad −
// pad_begin − pad_end long on each axis; pads may be negative (which
// extends the result). OutPad has one entry per axis (empty: zeros).
type ConvTransposeND struct {
	Window
	OutPad []int `attr:"out_pad"`
	Groups int   `attr:"groups"`
}

func (*ConvTransposeND) Kind() Kind { return KConvTransposeND }

// MaxPoolND takes window maxima (NaN wins); padding counts as −inf. With
// CeilMode the output rounds up, but a window must start inside the input
// or its begin padding (PyTorch's rule, as maxpool). With Indices a
// second result, int64 and shaped like the first, holds each maximum's
// flat index into x, the first of equal maxima: row-major over all of
// x's axes (ONNX's Indices with storage_order 0) or, with ColumnMajor,
// the plane's offset (n·C + c)·D₁·…·D_k plus the spatial coordinates
// column-major, the first axis fastest (storage_order 1).
type MaxPoolND struct {
	Kernel []int `attr:"kernel"`
	Window
	CeilMode    bool `attr:"ceil_mode"`
	Indices     bool `attr:"indices"`
	ColumnMajor bool `attr:"column_major"`
}

func (*MaxPoolND) Kind() Kind { return KMaxPoolND }

// AvgPoolND takes window means over the in-bounds cells or, with
// CountIncludePad, over the cells inside the padded input (never those
// past it that CeilMode adds), as avgpool.
type AvgPoolND struct {
	Kernel []int `attr:"kernel"`
	Window
	CeilMode        bool `attr:"ceil_mode"`
	CountIncludePad bool `attr:"count_include_pad"`
}

func (*AvgPoolND) Kind() Kind { return KAvgPoolND }

func init() {
	ops[KConvND] = OpInfo{"conv_nd", 2, 3, func() Op { return &ConvND{Groups: 1} }, inferConvND}
	ops[KConvTransposeND] = OpInfo{"conv_transpose_nd", 2, 3, func() Op { return &ConvTransposeND{Groups: 1} }, inferConvTransposeND}
	ops[KMaxPoolND] = OpInfo{"maxpool_nd", 1, 1, func() Op { return &MaxPoolND{} }, inferMaxPoolND}
	ops[KAvgPoolND] = OpInfo{"avgpool_nd", 1, 1, func() Op { return &AvgPoolND{} }, inferAvgPoolND}
	evalTable[KConvND] = evalConvND
	evalTable[KConvTransposeND] = evalConvTransposeND
	evalTable[KMaxPoolND] = evalMaxPoolND
	evalTable[KAvgPoolND] = evalAvgPoolND
}

// spatialInput checks x is [N, C, D₁…D_k], k ≥ 1, with static channels
// and spatial dims, and returns k.
func spatialInput(x Shape) (int, error) {
	if x.Rank() < 3 || !Shape(x[1:]).Static() {
		return 0, fmt.Errorf("input must be [N, C, D1, …] with static channels and spatial dims, got %s", x)
	}
	return x.Rank() - 2, nil
}

func inferConvND(op Op, in []Type) ([]Type, error) {
	c := op.(*ConvND)
	for i, t := range in {
		if err := wantFloat(i, t); err != nil {
			return nil, err
		}
	}
	x, w := in[0].Shape, in[1].Shape
	k, err := spatialInput(x)
	if err != nil {
		return nil, err
	}
	if w.Rank() != x.Rank() || !w.Static() {
		return nil, fmt.Errorf("weight must be static [O, C/groups, k1…k%d] for input %s, got %s", k, x, w)
	}
	if err := c.check(k, false); err != nil {
		return nil, err
	}
	if c.Groups < 1 || x[1].B%c.Groups != 0 || w[0].B%c.Groups != 0 {
		return nil, fmt.Errorf("groups %d must divide input channels %s and filters %s", c.Groups, x[1], w[0])
	}
	if w[1].B*c.Groups != x[1].B {
		return nil, fmt.Errorf("weight %s expects %d input channels, input %s has %s", w, w[1].B*c.Groups, x, x[1])
	}
	stride, padB, padE, dil := c.Of(k)
	out := Shape{x[0], w[0]}
	for i := 0; i < k; i++ {
		o := windowOut(x[2+i].B, padB[i], padE[i], w[2+i].B, stride[i], dil[i], false)
		if w[2+i].B < 1 || o < 1 {
			return nil, fmt.Errorf("kernel %s larger than padded input %s", w[2:], x)
		}
		out = append(out, D(o))
	}
	if len(in) == 3 && !in[2].Shape.Equal(Shape{w[0]}) {
		return nil, fmt.Errorf("bias shape %s, want [%s]", in[2].Shape, w[0])
	}
	return one(TensorType(in[0].DType, out)), nil
}

func inferConvTransposeND(op Op, in []Type) ([]Type, error) {
	c := op.(*ConvTransposeND)
	for i, t := range in {
		if err := wantFloat(i, t); err != nil {
			return nil, err
		}
	}
	x, w := in[0].Shape, in[1].Shape
	k, err := spatialInput(x)
	if err != nil {
		return nil, err
	}
	if w.Rank() != x.Rank() || !w.Static() {
		return nil, fmt.Errorf("weight must be static [C, O/groups, k1…k%d] for input %s, got %s", k, x, w)
	}
	if err := c.check(k, true); err != nil {
		return nil, err
	}
	outPad := c.OutPad
	if len(outPad) == 0 {
		outPad = fill(k, 0)
	}
	if len(outPad) != k {
		return nil, fmt.Errorf("out_pad %v: want %d values", c.OutPad, k)
	}
	if c.Groups < 1 || x[1].B%c.Groups != 0 || w[0].B != x[1].B {
		return nil, fmt.Errorf("weight %s must have the input's %s channels first, divisible by groups %d", w, x[1], c.Groups)
	}
	stride, padB, padE, dil := c.Of(k)
	o := D(w[1].B * c.Groups)
	out := Shape{x[0], o}
	for i := 0; i < k; i++ {
		if outPad[i] < 0 || w[2+i].B < 1 {
			return nil, fmt.Errorf("kernel must be ≥ 1 and out_pad ≥ 0, got kernel %s out_pad %v", w[2:], outPad)
		}
		n := ConvTransposeOut(x[2+i].B, w[2+i].B, stride[i], dil[i], padB[i], padE[i], outPad[i])
		if n < 1 {
			return nil, fmt.Errorf("padding %v leaves an empty result", c.Pad)
		}
		out = append(out, D(n))
	}
	if len(in) == 3 && !in[2].Shape.Equal(Shape{o}) {
		return nil, fmt.Errorf("bias shape %s, want [%s]", in[2].Shape, o)
	}
	return one(TensorType(in[0].DType, out)), nil
}

func inferMaxPoolND(op Op, in []Type) ([]Type, error) {
	p := op.(*MaxPoolND)
	t, err := inferPoolND(in, p.Kernel, p.Window, p.CeilMode)
	if err != nil || !p.Indices {
		return t, err
	}
	return append(t, TensorType(I64, t[0].Shape.Clone())), nil
}

func inferAvgPoolND(op Op, in []Type) ([]Type, error) {
	p := op.(*AvgPoolND)
	return inferPoolND(in, p.Kernel, p.Window, p.CeilMode)
}

func inferPoolND(in []Type, kernel []int, w Window, ceil bool) ([]Type, error) {
	x := in[0].Shape
	if err := wantFloat(0, in[0]); err != nil {
		return nil, err
	}
	k, err := spatialInput(x)
	if err != nil {
		return nil, err
	}
	if len(kernel) != k {
		return nil, fmt.Errorf("kernel %v: want %d values for input %s", kernel, k, x)
	}
	if err := w.check(k, false); err != nil {
		return nil, err
	}
	stride, padB, padE, dil := w.Of(k)
	out := Shape{x[0], x[1]}
	for i := 0; i < k; i++ {
		if kernel[i] < 1 {
			return nil, fmt.Errorf("kernel must be ≥ 1, got %v", kernel)
		}
		if padB[i] >= kernel[i] || padE[i] >= kernel[i] {
			return nil, fmt.Errorf("pad %v must be smaller than the kernel %v", w.Pad, kernel)
		}
		o := windowOut(x[2+i].B, padB[i], padE[i], kernel[i], stride[i], dil[i], ceil)
		if o < 1 {
			return nil, fmt.Errorf("kernel %v larger than padded input %s", kernel, x)
		}
		out = append(out, D(o))
	}
	return one(TensorType(in[0].DType, out)), nil
}
