package ir

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/runtime/quant"
)

// Quantized ops (docs/algorithms.md §5): conversions between float and
// quantized integer tensors, and the integer linear layer and convolution
// whose epilogue requantizes, dequantizes or keeps the accumulator. The
// arithmetic is runtime/quant's, which generated code shares, so the
// pure-Go kernels are bit-exact with this evaluator by construction.
//
//	quantize {to, scale, zp | wl, fl}(x f32)          → to<format>
//	dequantize(q)                                    → f32
//	requantize {to, scale, zp | wl, fl}(q)            → to<format>
//	qlinear {act, acc, requant, to, …}(x, w, ws, b?)  → to
//	qconv2d {stride, pad, dilation, groups, act, acc, requant, to, …}(x, w, ws, b?) → to
//
// A quantized type carries its format (Quant): affine S·(q − Z), or fixed
// point q·2^−FL, which computes as S = 2^−FL, Z = 0.

// QFormat is the type an op gives its result: dtype To and, for a
// quantized integer, its format — Scale and ZP (affine), or WL and FL
// (fixed point). Scale must be a float32 value: the kernels compute in
// float32.
type QFormat struct {
	To    DType   `attr:"to"`
	Scale float64 `attr:"scale"`
	ZP    int     `attr:"zp"`
	WL    int     `attr:"wl"`
	FL    int     `attr:"fl"`
}

// Quant returns the format as a type's Quant.
func (f QFormat) Quant() Quant {
	return Quant{Scale: f.Scale, ZeroPoint: int64(f.ZP), WordLen: f.WL, FracLen: f.FL}
}

// FormatOf returns the QFormat giving type t.
func FormatOf(t Type) QFormat {
	return QFormat{To: t.DType, Scale: t.Quant.Scale, ZP: int(t.Quant.ZeroPoint), WL: t.Quant.WordLen, FL: t.Quant.FracLen}
}

// Affine returns q as a scale and zero point: a fixed-point format is
// scale 2^−FracLen, zero point 0; no format at all is scale 1, zero point
// 0 (a plain integer).
func (q Quant) Affine() (scale float64, zp int64) {
	switch {
	case q.Scale != 0:
		return q.Scale, q.ZeroPoint
	case q.WordLen != 0:
		return math.Ldexp(1, -q.FracLen), 0
	}
	return 1, 0
}

// IntRange returns the range of an integer dtype, for saturation.
func IntRange(dt DType) (lo, hi int64, ok bool) { return quant.Range(dt.String()) }

// QuantRange returns the values a quantized type may hold: its dtype's
// range, narrowed to WL bits for a fixed-point format.
func QuantRange(t Type) (lo, hi int64) {
	lo, hi, _ = IntRange(t.DType)
	if wl := t.Quant.WordLen; wl > 0 && wl < 8*t.DType.Size() {
		if t.DType.IsUnsigned() {
			hi = 1<<wl - 1
		} else {
			lo, hi = -(1 << (wl - 1)), 1<<(wl-1)-1
		}
	}
	return lo, hi
}

// quantDTypes are the integer types a quantized tensor may have.
func quantDType(dt DType) bool {
	return dt == I8 || dt == U8 || dt == I16 || dt == U16 || dt == I32
}

// CheckQuant checks a quantized type's format: exactly one of affine
// and fixed point, a positive float32 scale, a zero point in the dtype's
// range, a word length within the container.
func CheckQuant(t Type) error {
	q := t.Quant
	if q.IsZero() {
		return nil
	}
	if !quantDType(t.DType) {
		return fmt.Errorf("%s cannot carry a quantized format (want i8, u8, i16, u16 or i32)", t.DType)
	}
	lo, hi, _ := IntRange(t.DType)
	switch {
	case q.Scale != 0 && q.WordLen != 0:
		return fmt.Errorf("a format is affine (scale, zp) or fixed point (word, fraction length), not both")
	case q.Scale != 0:
		if !(q.Scale > 0) || math.IsInf(q.Scale, 0) || float64(float32(q.Scale)) != q.Scale || float32(q.Scale) == 0 {
			return fmt.Errorf("scale %s must be a positive, finite float32 value", FormatFloat(q.Scale))
		}
		if q.ZeroPoint < lo || q.ZeroPoint > hi {
			return fmt.Errorf("zero point %d is outside %s's range [%d, %d]", q.ZeroPoint, t.DType, lo, hi)
		}
	default:
		if q.ZeroPoint != 0 {
			return fmt.Errorf("a fixed-point format has no zero point")
		}
		if q.WordLen < 2 || q.WordLen > 8*t.DType.Size() {
			return fmt.Errorf("word length %d does not fit %s (want 2…%d bits)", q.WordLen, t.DType, 8*t.DType.Size())
		}
		if q.FracLen < -100 || q.FracLen > 100 {
			return fmt.Errorf("fraction length %d out of range [−100, 100]", q.FracLen)
		}
	}
	return nil
}

// resultType checks f and builds the result type of shape s.
func (f QFormat) resultType(s Shape, allowPlain bool) (Type, error) {
	t := Type{DType: f.To, Shape: s, Quant: f.Quant()}
	switch {
	case f.To == F32 || (allowPlain && f.To == I32):
		if !t.Quant.IsZero() {
			return Type{}, fmt.Errorf("a %s result takes no scale, zp, wl or fl", f.To)
		}
		return t, nil
	case t.Quant.IsZero():
		return Type{}, fmt.Errorf("a %s result needs its format: scale (and zp) or wl and fl", f.To)
	}
	if err := CheckQuant(t); err != nil {
		return Type{}, err
	}
	return t, nil
}

// Quantize converts floats to integers of format QFormat:
// clamp(round_half_even(x / S) + Z) (quant.Quantize), the division in
// float32, as ONNX QuantizeLinear. NaN becomes Z.
type Quantize struct {
	QFormat
}

func (*Quantize) Kind() Kind { return KQuantize }

// Requantize converts quantized integers to another format: clamp(Z' +
// requant(q − Z, S/S')) with the canonical requantization (quant.Output).
// From a plain integer (no format) it keeps the values and gives them the
// format: how an imported model's integers, whose scales were separate
// tensors, become a quantized type.
type Requantize struct {
	QFormat
}

func (*Requantize) Kind() Kind { return KRequantize }

// QLinear is an integer linear layer, x[..., K] · wᵀ with w[N, K] (int8
// or int16, symmetric: zero point 0), ws[N] the per-output-channel
// weight scales (f32) and b[N] an optional int32 bias in accumulator
// units:
//
//	acc_j = Σ_k (x_k − Z_x)·w_jk + b_j
//
// exact, then wrapped to int32 when Acc is 32 (the quantize pass and
// import pick 64 where int32 could overflow, docs/algorithms.md §5.5).
// The epilogue depends on To:
//
//	f32        y = float32(acc)·float32(S_x·ws_j), then Act
//	i32        y = acc (Act must be "")
//	quantized  y = clamp(Z_y + requant(acc, S_x·ws_j/S_y)), canonical
//	           (Requant ""), or ONNX Runtime's float form (Requant
//	           "float": quant.RequantFloat with (S_x·ws_j)/S_y in float32);
//	           Act relu clamps at Z_y.
type QLinear struct {
	Act     string `attr:"act"`
	Acc     int    `attr:"acc"`
	Requant string `attr:"requant"`
	QFormat
}

func (*QLinear) Kind() Kind { return KQLinear }

// QConv2D is the integer convolution on NCHW (x[N,C,H,W] quantized,
// w[O, C/groups, kh, kw] int8 or int16, ws[O], b[O]?): qlinear's
// accumulation and epilogue over each output pixel's window, padding
// counting as Z_x (the real zero). Pad is [top, left, bottom, right].
type QConv2D struct {
	Stride   []int  `attr:"stride"`
	Pad      []int  `attr:"pad"`
	Dilation []int  `attr:"dilation"`
	Groups   int    `attr:"groups"`
	Act      string `attr:"act"`
	Acc      int    `attr:"acc"`
	Requant  string `attr:"requant"`
	QFormat
}

func (*QConv2D) Kind() Kind { return KQConv2D }

// QEpilogue is a qlinear or qconv2d's accumulator width and epilogue.
type QEpilogue struct {
	Act     string
	Acc     int
	Requant string
	Out     QFormat
}

// QEpilogueOf returns a qlinear or qconv2d op's epilogue.
func QEpilogueOf(op Op) (QEpilogue, bool) {
	switch o := op.(type) {
	case *QLinear:
		return QEpilogue{o.Act, o.Acc, o.Requant, o.QFormat}, true
	case *QConv2D:
		return QEpilogue{o.Act, o.Acc, o.Requant, o.QFormat}, true
	}
	return QEpilogue{}, false
}

func init() {
	ops[KQuantize] = OpInfo{"quantize", 1, 1, func() Op { return &Quantize{QFormat{To: I8}} }, inferQuantize}
	ops[KDequantize] = OpInfo{"dequantize", 1, 1, simple(KDequantize), inferDequantize}
	ops[KRequantize] = OpInfo{"requantize", 1, 1, func() Op { return &Requantize{QFormat{To: I8}} }, inferRequantize}
	ops[KQLinear] = OpInfo{"qlinear", 3, 4, func() Op { return &QLinear{Acc: 32, QFormat: QFormat{To: F32}} }, inferQLinear}
	ops[KQConv2D] = OpInfo{"qconv2d", 3, 4, func() Op {
		return &QConv2D{Stride: []int{1, 1}, Pad: []int{0, 0, 0, 0}, Dilation: []int{1, 1}, Groups: 1, Acc: 32, QFormat: QFormat{To: F32}}
	}, inferQConv2D}
	evalTable[KQuantize] = evalQuantize
	evalTable[KDequantize] = evalDequantize
	evalTable[KRequantize] = evalRequantize
	evalTable[KQLinear] = evalQLinear
	evalTable[KQConv2D] = evalQConv2D
}

func inferQuantize(op Op, in []Type) ([]Type, error) {
	if err := wantFloat(0, in[0]); err != nil {
		return nil, err
	}
	f := op.(*Quantize).QFormat
	if f.To == F32 {
		return nil, fmt.Errorf("to must be an integer type")
	}
	t, err := f.resultType(in[0].Shape.Clone(), false)
	if err != nil {
		return nil, err
	}
	return one(t), nil
}

// wantQuant checks that input i is a quantized integer.
func wantQuant(i int, t Type) error {
	if t.Quant.IsZero() {
		return fmt.Errorf("input %d must be a quantized integer (with a scale or fixed-point format), got %s", i, FormatType(t))
	}
	return CheckQuant(t)
}

func inferDequantize(op Op, in []Type) ([]Type, error) {
	if err := wantQuant(0, in[0]); err != nil {
		return nil, err
	}
	return one(TensorType(F32, in[0].Shape.Clone())), nil
}

func inferRequantize(op Op, in []Type) ([]Type, error) {
	if !in[0].DType.IsInt() {
		return nil, fmt.Errorf("input 0 must be an integer tensor, got %s", in[0].DType)
	}
	if err := CheckQuant(in[0]); err != nil {
		return nil, err
	}
	f := op.(*Requantize).QFormat
	if f.To == F32 {
		return nil, fmt.Errorf("to must be an integer type")
	}
	t, err := f.resultType(in[0].Shape.Clone(), false)
	if err != nil {
		return nil, err
	}
	return one(t), nil
}

// checkQLayer checks a qlinear or qconv2d's operands after the shape
// checks: x quantized i8/u8/i16, w int8 or int16 without a format, ws
// f32 [n], b i32 [n], and the epilogue.
func checkQLayer(e QEpilogue, in []Type, n Dim, out Shape) (Type, error) {
	x, w, ws := in[0], in[1], in[2]
	if err := wantQuant(0, x); err != nil {
		return Type{}, err
	}
	if x.DType != I8 && x.DType != U8 && x.DType != I16 {
		return Type{}, fmt.Errorf("input 0 must be i8, u8 or i16, got %s", x.DType)
	}
	if w.DType != I8 && w.DType != I16 || !w.Quant.IsZero() {
		return Type{}, fmt.Errorf("weight must be plain i8 or i16 (symmetric; its scales are ws), got %s", FormatType(w))
	}
	if ws.DType != F32 || !ws.Shape.Equal(Shape{n}) {
		return Type{}, fmt.Errorf("ws must be f32[%s] (a scale per output channel), got %s", n, FormatType(ws))
	}
	if len(in) == 4 {
		if b := in[3]; b.DType != I32 || !b.Shape.Equal(Shape{n}) || !b.Quant.IsZero() {
			return Type{}, fmt.Errorf("bias must be i32[%s] (accumulator units), got %s", n, FormatType(b))
		}
	}
	switch e.Act {
	case "", "relu":
	default:
		return Type{}, fmt.Errorf(`act must be "" or "relu", got %q`, e.Act)
	}
	if e.Acc != 32 && e.Acc != 64 {
		return Type{}, fmt.Errorf("acc must be 32 or 64 (accumulator bits), got %d", e.Acc)
	}
	switch e.Requant {
	case "":
	case "float":
		if e.Out.To == F32 || e.Out.To == I32 {
			return Type{}, fmt.Errorf(`requant "float" needs a quantized result, got %s`, e.Out.To)
		}
		if e.Acc != 32 {
			return Type{}, fmt.Errorf(`requant "float" takes an int32 accumulator (acc=32)`)
		}
	default:
		return Type{}, fmt.Errorf(`requant must be "" (canonical) or "float" (ONNX Runtime's), got %q`, e.Requant)
	}
	if e.Out.To == I32 && e.Act != "" {
		return Type{}, fmt.Errorf("an i32 result is the accumulator: no act")
	}
	return e.Out.resultType(out, true)
}

func inferQLinear(op Op, in []Type) ([]Type, error) {
	e, _ := QEpilogueOf(op)
	x, w := in[0].Shape, in[1].Shape
	if x.Rank() < 1 || w.Rank() != 2 || !w.Static() {
		return nil, fmt.Errorf("want x[..., in] and a static weight [out, in], got %s and %s", x, w)
	}
	if x[x.Rank()-1] != w[1] {
		return nil, fmt.Errorf("input features %s do not match weight %s (want [out, in])", x[x.Rank()-1], w)
	}
	s := x.Clone()
	s[len(s)-1] = w[0]
	t, err := checkQLayer(e, in, w[0], s)
	if err != nil {
		return nil, err
	}
	return one(t), nil
}

func inferQConv2D(op Op, in []Type) ([]Type, error) {
	c := op.(*QConv2D)
	e, _ := QEpilogueOf(op)
	x, w := in[0].Shape, in[1].Shape
	if w.Rank() != 4 || !w.Static() {
		return nil, fmt.Errorf("weight must be static [O, C/groups, kh, kw], got %s", w)
	}
	kernel := []int{w[2].B, w[3].B}
	if err := checkWindow("qconv2d", x, kernel, c.Stride, c.Pad, c.Dilation); err != nil {
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
	t, err := checkQLayer(e, in, w[0], Shape{x[0], w[0], D(oh), D(ow)})
	if err != nil {
		return nil, err
	}
	return one(t), nil
}

// quantParams is a quantized type's format as the evaluator applies it.
type quantParams struct {
	scale  float64
	zp     int64
	lo, hi int64
}

func paramsOf(t Type) quantParams {
	s, z := t.Quant.Affine()
	lo, hi := QuantRange(t)
	return quantParams{s, z, lo, hi}
}

func evalQuantize(_ *evalCtx, _ Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	p := paramsOf(out[0])
	x := in[0]
	res := NewTensor(out[0].DType, x.Shape)
	s := float32(p.scale)
	for i, v := range x.F {
		res.I[i] = int64(quant.Quantize(v, s, int32(p.zp), int32(p.lo), int32(p.hi)))
	}
	return []*Tensor{res}, nil
}

func evalDequantize(c *evalCtx, _ Op, in []*Tensor, _ []Type) ([]*Tensor, error) {
	p := paramsOf(c.inTypes[0])
	q := in[0]
	res := NewTensor(F32, q.Shape)
	s, zp := float32(p.scale), int32(p.zp)
	for i, v := range q.I {
		res.F[i] = quant.Dequantize(int32(v), zp, s)
	}
	return []*Tensor{res}, nil
}

func evalRequantize(c *evalCtx, _ Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x := in[0]
	res := NewTensor(out[0].DType, x.Shape)
	po := paramsOf(out[0])
	if c.inTypes[0].Quant.IsZero() {
		// A plain integer takes the format as it is, saturated.
		for i, v := range x.I {
			res.I[i] = quant.Clamp(v, po.lo, po.hi)
		}
		return []*Tensor{res}, nil
	}
	pi := paramsOf(c.inTypes[0])
	m, err := quant.Encode(pi.scale / po.scale)
	if err != nil {
		return nil, err
	}
	for i, v := range x.I {
		res.I[i] = quant.Output(v-pi.zp, m, po.zp, po.lo, po.hi)
	}
	return []*Tensor{res}, nil
}

// qEpilogue applies a qlinear or qconv2d's epilogue to output channel
// j's accumulators.
type qEpilogue struct {
	e      QEpilogue
	out    quantParams
	toF32  bool
	scales []float32          // f32: S_x·ws_j in float32
	mults  []quant.Multiplier // canonical requantization
	fscale []float32          // requant "float": (S_x·ws_j)/S_y in float32
}

// newQEpilogue prepares the epilogue of a layer with input type x,
// weight scales ws and result type out.
func newQEpilogue(e QEpilogue, x Type, ws *Tensor, out Type) (*qEpilogue, error) {
	q := &qEpilogue{e: e, out: paramsOf(out), toF32: out.DType == F32}
	sx, _ := x.Quant.Affine()
	n := ws.Numel()
	switch {
	case out.DType == I32:
	case q.toF32:
		q.scales = make([]float32, n)
		for j := range n {
			q.scales[j] = LayerScale(sx, ws.Dense().F[j])
		}
	case e.Requant == "float":
		q.fscale = make([]float32, n)
		for j := range n {
			q.fscale[j] = quant.FloatScale(float32(sx), ws.Dense().F[j], float32(q.out.scale))
		}
	default:
		q.mults = make([]quant.Multiplier, n)
		for j := range n {
			m, err := LayerMultiplier(sx, ws.Dense().F[j], q.out.scale)
			if err != nil {
				return nil, fmt.Errorf("output channel %d: %w", j, err)
			}
			q.mults[j] = m
		}
	}
	if e.Act == "relu" {
		q.out.lo = max(q.out.lo, q.out.zp)
	}
	return q, nil
}

// LayerScale is an integer layer's dequantization scale for output
// channel j, S_x·ws_j rounded once to float32 (both factors are float32
// values, so the float64 product is exact): what a kernel multiplies
// float32(acc) by.
func LayerScale(sx float64, ws float32) float32 { return float32(sx * float64(ws)) }

// LayerMultiplier is an integer layer's canonical requantization
// multiplier for an output channel, (S_x·ws)/S_y in float64, encoded.
func LayerMultiplier(sx float64, ws float32, sy float64) (quant.Multiplier, error) {
	return quant.Encode(sx * float64(ws) / sy)
}

// apply turns channel j's accumulator into the result, as an int64 (an
// integer result) or a float32 (f32).
func (q *qEpilogue) apply(acc int64, j int) (int64, float32) {
	if q.e.Acc == 32 {
		acc = int64(int32(acc))
	}
	switch {
	case q.toF32:
		v := float32(acc) * q.scales[j] // one rounding of acc, half to even
		if q.e.Act == "relu" {
			v = max(v, 0)
		}
		return 0, v
	case q.scales == nil && q.mults == nil && q.fscale == nil:
		return int64(int32(acc)), 0 // i32: the accumulator, wrapped
	case q.fscale != nil:
		return int64(quant.RequantFloat(int32(acc), q.fscale[j], int32(q.out.zp), int32(q.out.lo), int32(q.out.hi))), 0
	}
	return quant.Output(acc, q.mults[j], q.out.zp, q.out.lo, q.out.hi), 0
}

func evalQLinear(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	e, _ := QEpilogueOf(op)
	x, w := in[0], in[1].Dense()
	xt := c.inTypes[0]
	_, zx := xt.Quant.Affine()
	ep, err := newQEpilogue(e, xt, in[2], out[0])
	if err != nil {
		return nil, err
	}
	nOut, k := w.Shape[0], w.Shape[1]
	rows := x.Numel() / max(k, 1)
	var bias []int64
	if len(in) == 4 {
		bias = in[3].Dense().I
	}
	res := NewTensor(out[0].DType, out[0].Shape.Ints())
	parallelFor(c.threads, rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x.I[r*k : (r+1)*k]
			for j := range nOut {
				acc := int64(0)
				if bias != nil {
					acc = bias[j]
				}
				for i, wv := range w.I[j*k : (j+1)*k] {
					acc += (xr[i] - zx) * wv
				}
				iv, fv := ep.apply(acc, j)
				if res.F != nil {
					res.F[r*nOut+j] = fv
				} else {
					res.I[r*nOut+j] = iv
				}
			}
		}
	})
	return []*Tensor{res}, nil
}

func evalQConv2D(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	cv := op.(*QConv2D)
	e, _ := QEpilogueOf(op)
	x, w := in[0], in[1].Dense()
	xt := c.inTypes[0]
	_, zx := xt.Quant.Affine()
	ep, err := newQEpilogue(e, xt, in[2], out[0])
	if err != nil {
		return nil, err
	}
	var bias []int64
	if len(in) == 4 {
		bias = in[3].Dense().I
	}
	N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	O, CG, KH, KW := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	os := out[0].Shape.Ints()
	OH, OW := os[2], os[3]
	OG := O / cv.Groups
	res := NewTensor(out[0].DType, os)
	parallelFor(c.threads, N*O, func(lo, hi int) {
		for no := lo; no < hi; no++ {
			b, o := no/O, no%O
			g := o / OG
			for oy := range OH {
				for ox := range OW {
					acc := int64(0)
					if bias != nil {
						acc = bias[o]
					}
					for ci := range CG {
						plane := x.I[(b*C+g*CG+ci)*H*W:][:H*W]
						wk := w.I[(o*CG+ci)*KH*KW:][:KH*KW]
						for kh := range KH {
							iy := oy*cv.Stride[0] - cv.Pad[0] + kh*cv.Dilation[0]
							if iy < 0 || iy >= H {
								continue // padding: x = Z_x contributes 0
							}
							for kw := range KW {
								ix := ox*cv.Stride[1] - cv.Pad[1] + kw*cv.Dilation[1]
								if ix >= 0 && ix < W {
									acc += (plane[iy*W+ix] - zx) * wk[kh*KW+kw]
								}
							}
						}
					}
					iv, fv := ep.apply(acc, o)
					at := (no*OH+oy)*OW + ox
					if res.F != nil {
						res.F[at] = fv
					} else {
						res.I[at] = iv
					}
				}
			}
		}
	})
	return []*Tensor{res}, nil
}
