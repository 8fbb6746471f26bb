package ir

// Op structs. Field tags name attributes as the printer writes them; each
// struct's doc comment states the semantics the evaluator implements (and
// that the PyTorch fixtures under testdata/torch pin down).

// Simple is an op without attributes: matmul, the elementwise ops,
// where, embedding, global_avgpool.
//
//	matmul(a, b)                          numpy matmul (1-D promotion, batch broadcast)
//	embedding(ids[...], table[V,D])       = table[ids], shape [..., D]
//	where(cond, x, y)                     numpy broadcasting
type Simple struct{ K Kind }

func (o Simple) Kind() Kind { return o.K }

// Epilogue is what fuse-epilogue folds into a linear or conv2d: the
// result is act(product + bias + residual), where residual, when Residual
// is set, is the op's last input, shaped like its result. Act is "" (none),
// "relu", "gelu" (erf form) or "gelu_tanh".
type Epilogue struct {
	Act      string `attr:"act"`
	Residual bool   `attr:"residual"`
}

// Linear is x[..., in]·wᵀ + b with w[out, in] and b[out] optional, then
// its epilogue: linear(x, w, b?, residual?).
type Linear struct {
	Epilogue
}

func (*Linear) Kind() Kind { return KLinear }

// Gemm is ONNX Gemm: alpha·op(a)·op(b) + beta·c, a and b 2-D, c
// broadcast to [M, N].
type Gemm struct {
	Alpha  float64 `attr:"alpha"`
	Beta   float64 `attr:"beta"`
	TransA bool    `attr:"trans_a"`
	TransB bool    `attr:"trans_b"`
}

func (*Gemm) Kind() Kind { return KGemm }

// Conv2D is a 2-D convolution (cross-correlation) on NCHW:
// x[N,C,H,W], w[O, C/groups, kh, kw], b[O]?, residual?, then its
// epilogue; with a prologue, pre_scale[C] and pre_shift[C] follow.
// Pad is [top, left, bottom, right].
type Conv2D struct {
	Stride   []int `attr:"stride"`
	Pad      []int `attr:"pad"`
	Dilation []int `attr:"dilation"`
	Groups   int   `attr:"groups"`
	Epilogue
	Prologue
}

// Prologue is what bn-prologue folds into a conv2d from the BatchNorm
// (and activation) before it that bn-fold must refuse (a shift before a
// padded convolution): with Pre set, each element of x is read as
// pre_act(x·pre_scale[c] + pre_shift[c]), c its channel, the product
// rounded to float32 before the shift is added, while the padding
// stays zero, as the convolution pads the normalised input. PreAct is
// one of Epilogue's activations ("" none). pre_scale and pre_shift are
// the conv's last two inputs, after the residual.
type Prologue struct {
	Pre    bool   `attr:"pre"`
	PreAct string `attr:"pre_act"`
}

// PrologueInputs returns how many inputs op's prologue adds after its
// epilogue's: 2 for a conv2d with Pre set, else 0.
func PrologueInputs(op Op) int {
	if c, ok := op.(*Conv2D); ok && c.Pre {
		return 2
	}
	return 0
}

// ApplyPre computes the prologue of v, channel scale s and shift t, as
// the kernels do: the product rounded to float32, then the shift, then
// the activation, rounded to float32.
func (p Prologue) ApplyPre(v, s, t float32) float32 {
	return float32(Epilogue{Act: p.PreAct}.Apply(float64(float32(v*s) + t)))
}

func (*Conv2D) Kind() Kind { return KConv2D }

// IsDepthwise reports whether conv o with weights of shape w is
// depthwise: one KH×KW filter per channel (groups = C = O, w [C, 1, KH,
// KW]).
func IsDepthwise(o *Conv2D, w Shape) bool {
	return w.Rank() == 4 && o.Groups > 1 && w[0] == D(o.Groups) && w[1] == D(1)
}

// ConvTranspose2D is a 2-D transposed convolution (conv2d's gradient with
// respect to its input) on NCHW: x[N,C,H,W], w[C, O/groups, kh, kw],
// b[O]?. Input pixel (y, x) of channel c adds x·w[c,o,i,j] to output
// pixel (y·stride − pad_top + i·dil, x·stride − pad_left + j·dil) of
// channel o (in c's group); contributions outside the result are
// dropped. The result is stride·(H−1) + dil·(kh−1) + 1 + out_pad −
// pad_top − pad_bottom high, likewise wide. Pad is [top, left, bottom,
// right] and may be negative, which extends the result (ONNX
// output_shape can ask for that); OutPad is [h, w].
type ConvTranspose2D struct {
	Stride   []int `attr:"stride"`
	Pad      []int `attr:"pad"`
	Dilation []int `attr:"dilation"`
	OutPad   []int `attr:"out_pad"`
	Groups   int   `attr:"groups"`
}

func (*ConvTranspose2D) Kind() Kind { return KConvTranspose2D }

// BatchNorm is inference batch normalisation over axis 1:
// (x − mean)/sqrt(var + eps)·scale + bias; inputs x, scale, bias, mean, var.
type BatchNorm struct {
	Eps float64 `attr:"eps"`
}

func (*BatchNorm) Kind() Kind { return KBatchNorm }

// LayerNorm normalises over the dimensions from Axis to the last:
// (x − mean)/sqrt(var + eps)·scale + bias, with scale and bias shaped like
// those dimensions; layernorm(x, scale) has no bias, and layernorm(x) is
// the plain normalisation (bn-fold moves the affine part into the linears
// that read it, docs/algorithms.md §2.5).
type LayerNorm struct {
	Axis int     `attr:"axis"`
	Eps  float64 `attr:"eps"`
}

func (*LayerNorm) Kind() Kind { return KLayerNorm }

// LeakyRelu is x if x ≥ 0 else alpha·x.
type LeakyRelu struct {
	Alpha float64 `attr:"alpha"`
}

func (*LeakyRelu) Kind() Kind { return KLeakyRelu }

// Gelu is x·Φ(x); Approximate "tanh" uses
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
type Gelu struct {
	Approximate string `attr:"approximate"`
}

func (*Gelu) Kind() Kind { return KGelu }

// HardSigmoid is max(0, min(1, alpha·x + beta)).
type HardSigmoid struct {
	Alpha float64 `attr:"alpha"`
	Beta  float64 `attr:"beta"`
}

func (*HardSigmoid) Kind() Kind { return KHardSigmoid }

// Clip is min(max(x, Min), Max); NaN stays NaN.
type Clip struct {
	Min float64 `attr:"min"`
	Max float64 `attr:"max"`
}

func (*Clip) Kind() Kind { return KClip }

// Softmax is softmax or log-softmax along Axis.
type Softmax struct {
	K    Kind
	Axis int `attr:"axis"`
}

func (o *Softmax) Kind() Kind { return o.K }

// Reshape gives x a new shape with the same number of elements.
type Reshape struct {
	Shape Shape `attr:"shape"`
}

func (*Reshape) Kind() Kind { return KReshape }

// Transpose permutes dimensions: out.shape[i] = x.shape[Perm[i]].
type Transpose struct {
	Perm []int `attr:"perm"`
}

func (*Transpose) Kind() Kind { return KTranspose }

// Flatten is ONNX Flatten: [prod(dims < Axis), prod(dims ≥ Axis)].
type Flatten struct {
	Axis int `attr:"axis"`
}

func (*Flatten) Kind() Kind { return KFlatten }

// Concat joins its inputs along Axis.
type Concat struct {
	Axis int `attr:"axis"`
}

func (*Concat) Kind() Kind { return KConcat }

// Split cuts x along Axis into parts of the given sizes, one result each.
type Split struct {
	Axis  int   `attr:"axis"`
	Sizes []int `attr:"sizes"`
}

func (*Split) Kind() Kind { return KSplit }

// Slice is ONNX Slice: for each listed axis, elements starts, starts+step,
// ... before ends, negative indices counting from the end and out-of-range
// bounds clamped. Steps default to 1.
type Slice struct {
	Starts []int `attr:"starts"`
	Ends   []int `attr:"ends"`
	Axes   []int `attr:"axes"`
	Steps  []int `attr:"steps"`
}

func (*Slice) Kind() Kind { return KSlice }

// Pad adds constant Value around x; Pads is [begin₀..beginᵣ₋₁, end₀..endᵣ₋₁]
// (ONNX order). Negative pads crop.
type Pad struct {
	Pads  []int   `attr:"pads"`
	Value float64 `attr:"value"`
}

func (*Pad) Kind() Kind { return KPad }

// Expand broadcasts x to broadcast(x.shape, Shape).
type Expand struct {
	Shape Shape `attr:"shape"`
}

func (*Expand) Kind() Kind { return KExpand }

// Gather is numpy take(data, indices, axis): negative indices count from
// the end; out of range is an evaluation error.
type Gather struct {
	Axis int `attr:"axis"`
}

func (*Gather) Kind() Kind { return KGather }

// Cast converts element types: float→int truncates toward zero, any→bool
// is x ≠ 0.
type Cast struct {
	To DType `attr:"to"`
}

func (*Cast) Kind() Kind { return KCast }

// MaxPool takes window maxima over NCHW; padding counts as −inf. With
// CeilMode the output rounds up, but a window must start inside the input
// or its left padding (PyTorch's rule).
type MaxPool struct {
	Kernel   []int `attr:"kernel"`
	Stride   []int `attr:"stride"`
	Pad      []int `attr:"pad"`
	Dilation []int `attr:"dilation"`
	CeilMode bool  `attr:"ceil_mode"`
}

func (*MaxPool) Kind() Kind { return KMaxPool }

// AvgPool takes window means over NCHW. CountIncludePad counts the padding
// cells in the divisor, but never the cells past the padding that CeilMode
// adds.
type AvgPool struct {
	Kernel          []int `attr:"kernel"`
	Stride          []int `attr:"stride"`
	Pad             []int `attr:"pad"`
	CeilMode        bool  `attr:"ceil_mode"`
	CountIncludePad bool  `attr:"count_include_pad"`
}

func (*AvgPool) Kind() Kind { return KAvgPool }

// Reduce is reduce_mean or reduce_sum over Axes (all axes if empty).
type Reduce struct {
	K        Kind
	Axes     []int `attr:"axes"`
	KeepDims bool  `attr:"keepdims"`
}

func (o *Reduce) Kind() Kind { return o.K }

// Attention is multi-head scaled dot-product attention on q[B,T,D],
// k[B,S,D], v[B,S,Dv]: head h takes columns h·D/heads … (h+1)·D/heads − 1,
// softmax(Scale·q_h·k_hᵀ)·v_h, with keys j > i masked to −inf when Causal.
type Attention struct {
	Heads  int     `attr:"heads"`
	Causal bool    `attr:"causal"`
	Scale  float64 `attr:"scale"`
}

func (*Attention) Kind() Kind { return KAttention }

// EpilogueOf returns a linear, conv2d, phm_linear or phc_conv2d op's
// epilogue.
func EpilogueOf(op Op) (Epilogue, bool) {
	switch o := op.(type) {
	case *Linear:
		return o.Epilogue, true
	case *Conv2D:
		return o.Epilogue, true
	case *PHMLinear:
		return o.Epilogue, true
	case *PHCConv2D:
		return o.Epilogue, true
	}
	return Epilogue{}, false
}

// SetEpilogue sets the epilogue of an op EpilogueOf knows.
func SetEpilogue(op Op, e Epilogue) {
	switch o := op.(type) {
	case *Linear:
		o.Epilogue = e
	case *Conv2D:
		o.Epilogue = e
	case *PHMLinear:
		o.Epilogue = e
	case *PHCConv2D:
		o.Epilogue = e
	}
}

// HasBias reports whether a linear or conv2d node with n inputs has a
// bias (phm_linear and phc_conv2d: KronInputs).
func (e Epilogue) HasBias(n int) bool {
	if e.Residual {
		n--
	}
	return n == 3
}

// ActKnown reports whether e's activation is one an epilogue may hold:
// "" (none), relu, relu6 (Clip(0, 6)), hardsigmoid (PyTorch's: x/6 + ½
// clamped to [0, 1]), hardswish, sigmoid, silu (x·sigmoid(x)), gelu (erf)
// or gelu_tanh.
func (e Epilogue) ActKnown() bool {
	switch e.Act {
	case "", "relu", "relu6", "hardsigmoid", "hardswish", "sigmoid", "silu", "gelu", "gelu_tanh":
		return true
	}
	return false
}

// Apply computes the epilogue's activation of v.
func (e Epilogue) Apply(v float64) float64 {
	switch e.Act {
	case "relu":
		return relu(v)
	case "relu6":
		return clamp(v, 0, 6)
	case "hardsigmoid":
		return clamp(v/6+0.5, 0, 1)
	case "hardswish":
		return hardswish(v)
	case "sigmoid":
		return sigmoid(v)
	case "silu":
		return v * sigmoid(v)
	case "gelu":
		return geluErf(v)
	case "gelu_tanh":
		return geluTanh(v)
	}
	return v
}
