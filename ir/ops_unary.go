package ir

import "math"

// Unary math and activations, elementwise on floats (sign also on
// integers), computed in float64 and rounded once:
//
//	sin cos tan asin acos atan sinh cosh asinh acosh atanh   as math
//	ceil floor round                                         round: half to even
//	sign                                                     −1, 0 or 1 (NaN stays NaN)
//	reciprocal                                               1/x
//	softplus                                                 log(1 + eˣ)
//	softsign                                                 x/(1 + |x|)
//	mish                                                     x·tanh(softplus(x))
//	is_nan(x), is_inf{neg,pos}(x)                            bool results
//	elu{alpha}                                               x < 0 ? alpha·(eˣ − 1) : x
//	celu{alpha}                                              max(0,x) + min(0, alpha·(e^(x/alpha) − 1))
//	selu{alpha,gamma}                                        gamma·(x ≤ 0 ? alpha·(eˣ − 1) : x)
//	thresholded_relu{alpha}                                  x > alpha ? x : 0
//	shrink{bias,lambd}                                       x < −lambd ? x + bias : x > lambd ? x − bias : 0
//	swish{alpha}                                             x·sigmoid(alpha·x)

// AlphaAct is an activation with one parameter: elu, celu,
// thresholded_relu and swish.
type AlphaAct struct {
	K     Kind
	Alpha float64 `attr:"alpha"`
}

func (o *AlphaAct) Kind() Kind { return o.K }

// Selu is gamma·(x ≤ 0 ? alpha·(eˣ − 1) : x).
type Selu struct {
	Alpha float64 `attr:"alpha"`
	Gamma float64 `attr:"gamma"`
}

func (*Selu) Kind() Kind { return KSelu }

// Shrink is x < −lambd ? x + bias : x > lambd ? x − bias : 0.
type Shrink struct {
	Bias  float64 `attr:"bias"`
	Lambd float64 `attr:"lambd"`
}

func (*Shrink) Kind() Kind { return KShrink }

// IsInf tests for −Inf (Neg) and +Inf (Pos).
type IsInf struct {
	Neg bool `attr:"neg"`
	Pos bool `attr:"pos"`
}

func (*IsInf) Kind() Kind { return KIsInf }

func softplus(x float64) float64 {
	if x > 30 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func init() {
	math1 := map[Kind]struct {
		name string
		f    func(float64) float64
	}{
		KSin: {"sin", math.Sin}, KCos: {"cos", math.Cos}, KTan: {"tan", math.Tan},
		KAsin: {"asin", math.Asin}, KAcos: {"acos", math.Acos}, KAtan: {"atan", math.Atan},
		KSinh: {"sinh", math.Sinh}, KCosh: {"cosh", math.Cosh}, KAsinh: {"asinh", math.Asinh},
		KAcosh: {"acosh", math.Acosh}, KAtanh: {"atanh", math.Atanh},
		KCeil: {"ceil", math.Ceil}, KFloor: {"floor", math.Floor}, KRound: {"round", math.RoundToEven},
		KReciprocal: {"reciprocal", func(x float64) float64 { return 1 / x }},
		KSoftplus:   {"softplus", softplus},
		KSoftsign:   {"softsign", func(x float64) float64 { return x / (1 + math.Abs(x)) }},
		KMish:       {"mish", func(x float64) float64 { return x * math.Tanh(softplus(x)) }},
	}
	for k, m := range math1 {
		ops[k] = OpInfo{m.name, 1, 1, simple(k), inferFloatUnary}
		evalTable[k] = unaryF(m.f)
	}
	ops[KSign] = OpInfo{"sign", 1, 1, simple(KSign), inferUnary}
	evalTable[KSign] = unaryNum(func(x float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return x // 0 and NaN
	}, func(x int64) int64 { return int64(cmpOrd(x < 0, x > 0)) })
	ops[KIsNaN] = OpInfo{"is_nan", 1, 1, simple(KIsNaN), inferFloatTest}
	evalTable[KIsNaN] = floatTest(func(_ Op, x float64) bool { return x != x })
	ops[KIsInf] = OpInfo{"is_inf", 1, 1, func() Op { return &IsInf{Neg: true, Pos: true} }, inferFloatTest}
	evalTable[KIsInf] = floatTest(func(op Op, x float64) bool {
		o := op.(*IsInf)
		return o.Pos && math.IsInf(x, 1) || o.Neg && math.IsInf(x, -1)
	})

	alpha := func(k Kind, name string, def float64, f func(a, x float64) float64) {
		ops[k] = OpInfo{name, 1, 1, func() Op { return &AlphaAct{K: k, Alpha: def} }, inferFloatUnary}
		evalTable[k] = func(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
			a := op.(*AlphaAct).Alpha
			return unaryF(func(x float64) float64 { return f(a, x) })(c, op, in, out)
		}
	}
	alpha(KElu, "elu", 1, func(a, x float64) float64 {
		if x < 0 {
			return a * math.Expm1(x)
		}
		return x
	})
	alpha(KCelu, "celu", 1, func(a, x float64) float64 { return max(0, x) + min(0, a*math.Expm1(x/a)) })
	alpha(KThresholdedRelu, "thresholded_relu", 1, func(a, x float64) float64 {
		if x > a {
			return x
		}
		return 0
	})
	alpha(KSwish, "swish", 1, func(a, x float64) float64 { return x * sigmoid(a*x) })
	ops[KSelu] = OpInfo{"selu", 1, 1, func() Op { return &Selu{Alpha: 1.67326319217681884765625, Gamma: 1.05070102214813232421875} }, inferFloatUnary}
	evalTable[KSelu] = func(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
		s := op.(*Selu)
		return unaryF(func(x float64) float64 {
			if x <= 0 {
				return s.Gamma * s.Alpha * math.Expm1(x)
			}
			return s.Gamma * x
		})(c, op, in, out)
	}
	ops[KShrink] = OpInfo{"shrink", 1, 1, func() Op { return &Shrink{Lambd: 0.5} }, inferUnary}
	evalTable[KShrink] = func(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
		s := op.(*Shrink)
		f := func(x float64) float64 {
			switch {
			case x < -s.Lambd:
				return x + s.Bias
			case x > s.Lambd:
				return x - s.Bias
			}
			return 0
		}
		return unaryNum(f, func(x int64) int64 { return int64(f(float64(x))) })(c, op, in, out)
	}
}

func inferFloatTest(op Op, in []Type) ([]Type, error) {
	if err := wantFloat(0, in[0]); err != nil {
		return nil, err
	}
	return one(TensorType(Bool, in[0].Shape.Clone())), nil
}

func floatTest(f func(op Op, x float64) bool) evalFunc {
	return func(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
		res := NewTensor(Bool, out[0].Shape.Ints())
		for i, v := range in[0].F {
			res.I[i] = b2i(f(op, float64(v)))
		}
		return []*Tensor{res}, nil
	}
}
