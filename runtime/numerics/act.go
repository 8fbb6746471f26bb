package numerics

// The activations of the vector kernels' epilogues (isa.Acts), in
// float32, as the kernels compute them: each is the pure-Go twin the
// kernels are checked against, and the Go code of a generated package
// applies the same functions where no vector kernel runs (a channel
// tail, the purego build). Their non-finite results are the reference
// evaluator's (float64 formulas in ir): Sigmoid32(−Inf) = 0,
// Silu32(−Inf) = HardSwish32(−Inf) = GeluTanh32(−Inf) = NaN (−Inf·0), NaN
// in gives NaN out.

// Constants of the epilogues, shared with the assembly kernels (ActVec).
const (
	// ActExpHi is the upper clamp of the sigmoid's exponent: above
	// ExpHi, so e^x still overflows to +Inf in the kernels (2ⁿ is built
	// as two factors: n = 145 stays representable) and 1/(1 + e^x) is
	// exactly 0 as in Exp32.
	ActExpHi float32 = 100
	// GeluTanhK is 2·√(2/π): ½·(1 + tanh(u)) = sigmoid(2u).
	GeluTanhK float32 = 1.5957691216057308
	GeluTanhC float32 = 0.044715
)

// Sigmoid32 is 1/(1 + e^−x) on Exp32.
func Sigmoid32(x float32) float32 { return 1 / (1 + Exp32(-x)) }

// Silu32 is x·sigmoid(x) (swish).
func Silu32(x float32) float32 { return x * Sigmoid32(x) }

// GeluTanh32 is GELU's tanh form, ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
// computed as x·sigmoid(2·√(2/π)·(x + 0.044715·x³)).
func GeluTanh32(x float32) float32 {
	return x * Sigmoid32(GeluTanhK*(x*x*GeluTanhC*x+x))
}

// HardSigmoid32 is PyTorch's hardsigmoid, max(0, min(1, x/6 + ½)).
func HardSigmoid32(x float32) float32 { return min(max(x*(1.0/6)+0.5, 0), 1) }

// HardSwish32 is x·hardsigmoid(x).
func HardSwish32(x float32) float32 { return x * HardSigmoid32(x) }

// Relu632 is min(max(x, 0), 6), ReLU6 (Clip(0, 6)).
func Relu632(x float32) float32 { return min(max(x, 0), 6) }

// Indices into ActVec.
const (
	ActVecZero = iota
	ActVecSix
	ActVecOne
	ActVecHalf
	ActVecSixth
	ActVecNegOne
	ActVecExpHi
	ActVecNegGeluK // −GeluTanhK: the sigmoid's argument comes out negated
	ActVecGeluC
	// Exp32's constants again (ExpVec's), so a kernel whose epilogue
	// takes one table has them: ExpLo, log₂e, C1, C2, P0 … P5.
	ActVecExpLo
	ActVecLog2e
	ActVecC1
	ActVecC2
	ActVecP0
	actVecLen = ActVecP0 + 6
)

// ActVec holds the epilogues' constants for the assembly kernels, each
// repeated 16 times (one 512-bit vector, or the first half of one):
// 0, 6, 1, ½, 1/6, −1, ActExpHi, −GeluTanhK, GeluTanhC, then Exp32's
// (as in ExpVec). The erf's are ErfVec's.
var ActVec = func() (v [actVecLen][16]float32) {
	vals := [actVecLen]float32{0, 6, 1, 0.5, 1.0 / 6, -1, ActExpHi, -GeluTanhK, GeluTanhC,
		ExpLo, ExpLog2e, ExpC1, ExpC2, ExpP0, ExpP1, ExpP2, ExpP3, ExpP4, ExpP5}
	for i, c := range vals {
		for j := range v[i] {
			v[i][j] = c
		}
	}
	return v
}()
