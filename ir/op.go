package ir

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Op is an operation's kind plus its attributes. Every op is a Go struct
// whose attribute fields carry an `attr:"name"` tag: the printer, the
// parser and NewOp read and write attributes through those tags, so adding
// an attribute is adding a field.
type Op interface {
	Kind() Kind
}

// Kind names an operation. The table ops below gives each kind its printed
// name, its arity, a constructor with default attributes and its shape rule.
type Kind uint8

const (
	KInvalid Kind = iota
	// Dense algebra.
	KLinear
	KGemm
	KMatMul
	KConv2D
	KConvTranspose2D
	// Normalisation.
	KBatchNorm
	KLayerNorm
	// Elementwise binary (numpy broadcasting).
	KAdd
	KSub
	KMul
	KDiv
	KPow
	// Elementwise unary.
	KRelu
	KLeakyRelu
	KSigmoid
	KTanh
	KGelu
	KErf
	KExp
	KLog
	KSqrt
	KNeg
	KAbs
	KHardSigmoid
	KHardSwish
	KClip
	// Row ops.
	KSoftmax
	KLogSoftmax
	// Data movement.
	KReshape
	KTranspose
	KFlatten
	KConcat
	KSplit
	KSlice
	KPad
	KExpand
	KWhere
	KGather
	KCast
	// Pooling and reductions.
	KMaxPool
	KAvgPool
	KGlobalAvgPool
	KReduceMean
	KReduceSum
	// Model-level ops.
	KEmbedding
	KAttention
	// Lowering ops, inserted by passes.
	KRelayout
	// Comparisons, logic and bitwise ops, min, max, mod (ops_compare.go).
	KEqual
	KLess
	KLessEqual
	KGreater
	KGreaterEqual
	KAnd
	KOr
	KXor
	KNot
	KBitAnd
	KBitOr
	KBitXor
	KBitNot
	KBitShift
	KMin
	KMax
	KMod
	KPRelu
	// Unary math and activations (ops_unary.go).
	KSin
	KCos
	KTan
	KAsin
	KAcos
	KAtan
	KSinh
	KCosh
	KAsinh
	KAcosh
	KAtanh
	KCeil
	KFloor
	KRound
	KSign
	KReciprocal
	KSoftplus
	KSoftsign
	KMish
	KIsNaN
	KIsInf
	KElu
	KCelu
	KSelu
	KThresholdedRelu
	KShrink
	KSwish
	// Reductions and selections (ops_reduce.go).
	KReduceMax
	KReduceMin
	KReduceProd
	KReduceL1
	KReduceL2
	KReduceLogSum
	KReduceLogSumExp
	KReduceSumSquare
	KArgMax
	KArgMin
	KTopK
	KHardmax
	KCumSum
	KCumProd
	// Indexing and generators (ops_index.go).
	KTile
	KTrilu
	KOneHot
	KGatherElements
	KScatterElements
	KGatherND
	KScatterND
	KEinsum
	KResize
	KBitCast
	// Sampling (ops_sample.go).
	KGridSample
	// Determinants (ops_det.go).
	KDet
	// Quantized ops (ops_quant.go).
	KQuantize
	KDequantize
	KRequantize
	KQLinear
	KQConv2D
	// Kronecker-factored layers (ops_phm.go).
	KPHMLinear
	KPHCConv2D
	// Recurrences (ops_recurrent.go).
	KRecurrent
	// Convolutions and pools of any spatial rank (ops_window.go).
	KConvND
	KConvTransposeND
	KMaxPoolND
	KAvgPoolND
	numKinds
)

// OpInfo is one row of the op table.
type OpInfo struct {
	Name         string
	MinIn, MaxIn int // inputs; MaxIn < 0 means variadic
	New          func() Op
	Infer        func(op Op, in []Type) ([]Type, error)
}

func simple(k Kind) func() Op { return func() Op { return Simple{K: k} } }

// ops is the op table, indexed by Kind.
var ops = [numKinds]OpInfo{
	KLinear: {"linear", 2, 4, func() Op { return &Linear{} }, inferLinear},
	KGemm:   {"gemm", 2, 3, func() Op { return &Gemm{Alpha: 1, Beta: 1} }, inferGemm},
	KMatMul: {"matmul", 2, 2, simple(KMatMul), inferMatMul},
	KConv2D: {"conv2d", 2, 6, func() Op {
		return &Conv2D{Stride: []int{1, 1}, Pad: []int{0, 0, 0, 0}, Dilation: []int{1, 1}, Groups: 1}
	}, inferConv2D},
	KConvTranspose2D: {"conv_transpose2d", 2, 3, func() Op {
		return &ConvTranspose2D{Stride: []int{1, 1}, Pad: []int{0, 0, 0, 0}, Dilation: []int{1, 1}, OutPad: []int{0, 0}, Groups: 1}
	}, inferConvTranspose2D},
	KBatchNorm:     {"batchnorm", 5, 5, func() Op { return &BatchNorm{Eps: 1e-5} }, inferBatchNorm},
	KLayerNorm:     {"layernorm", 1, 3, func() Op { return &LayerNorm{Axis: -1, Eps: 1e-5} }, inferLayerNorm},
	KAdd:           {"add", 2, 2, simple(KAdd), inferBroadcast},
	KSub:           {"sub", 2, 2, simple(KSub), inferBroadcast},
	KMul:           {"mul", 2, 2, simple(KMul), inferBroadcast},
	KDiv:           {"div", 2, 2, simple(KDiv), inferBroadcast},
	KPow:           {"pow", 2, 2, simple(KPow), inferBroadcast},
	KRelu:          {"relu", 1, 1, simple(KRelu), inferFloatUnary},
	KLeakyRelu:     {"leaky_relu", 1, 1, func() Op { return &LeakyRelu{Alpha: 0.01} }, inferFloatUnary},
	KSigmoid:       {"sigmoid", 1, 1, simple(KSigmoid), inferFloatUnary},
	KTanh:          {"tanh", 1, 1, simple(KTanh), inferFloatUnary},
	KGelu:          {"gelu", 1, 1, func() Op { return &Gelu{Approximate: "none"} }, inferGelu},
	KErf:           {"erf", 1, 1, simple(KErf), inferFloatUnary},
	KExp:           {"exp", 1, 1, simple(KExp), inferFloatUnary},
	KLog:           {"log", 1, 1, simple(KLog), inferFloatUnary},
	KSqrt:          {"sqrt", 1, 1, simple(KSqrt), inferFloatUnary},
	KNeg:           {"neg", 1, 1, simple(KNeg), inferUnary},
	KAbs:           {"abs", 1, 1, simple(KAbs), inferUnary},
	KHardSigmoid:   {"hardsigmoid", 1, 1, func() Op { return &HardSigmoid{Alpha: 0.2, Beta: 0.5} }, inferFloatUnary},
	KHardSwish:     {"hardswish", 1, 1, simple(KHardSwish), inferFloatUnary},
	KClip:          {"clip", 1, 1, func() Op { return &Clip{Min: negInf, Max: posInf} }, inferFloatUnary},
	KSoftmax:       {"softmax", 1, 1, func() Op { return &Softmax{K: KSoftmax, Axis: -1} }, inferSoftmax},
	KLogSoftmax:    {"log_softmax", 1, 1, func() Op { return &Softmax{K: KLogSoftmax, Axis: -1} }, inferSoftmax},
	KReshape:       {"reshape", 1, 1, func() Op { return &Reshape{} }, inferReshape},
	KTranspose:     {"transpose", 1, 1, func() Op { return &Transpose{} }, inferTranspose},
	KFlatten:       {"flatten", 1, 1, func() Op { return &Flatten{Axis: 1} }, inferFlatten},
	KConcat:        {"concat", 1, -1, func() Op { return &Concat{} }, inferConcat},
	KSplit:         {"split", 1, 1, func() Op { return &Split{} }, inferSplit},
	KSlice:         {"slice", 1, 1, func() Op { return &Slice{} }, inferSlice},
	KPad:           {"pad", 1, 1, func() Op { return &Pad{} }, inferPad},
	KExpand:        {"expand", 1, 1, func() Op { return &Expand{} }, inferExpand},
	KWhere:         {"where", 3, 3, simple(KWhere), inferWhere},
	KGather:        {"gather", 2, 2, func() Op { return &Gather{} }, inferGather},
	KCast:          {"cast", 1, 1, func() Op { return &Cast{} }, inferCast},
	KMaxPool:       {"maxpool", 1, 1, func() Op { return &MaxPool{Stride: []int{1, 1}, Pad: []int{0, 0, 0, 0}, Dilation: []int{1, 1}} }, inferMaxPool},
	KAvgPool:       {"avgpool", 1, 1, func() Op { return &AvgPool{Stride: []int{1, 1}, Pad: []int{0, 0, 0, 0}} }, inferAvgPool},
	KGlobalAvgPool: {"global_avgpool", 1, 1, simple(KGlobalAvgPool), inferGlobalAvgPool},
	KReduceMean:    {"reduce_mean", 1, 1, func() Op { return &Reduce{K: KReduceMean, KeepDims: true} }, inferReduce},
	KReduceSum:     {"reduce_sum", 1, 1, func() Op { return &Reduce{K: KReduceSum, KeepDims: true} }, inferReduce},
	KEmbedding:     {"embedding", 2, 2, simple(KEmbedding), inferEmbedding},
	KAttention:     {"attention", 3, 3, func() Op { return &Attention{Heads: 1} }, inferAttention},
	KRelayout:      {"relayout", 1, 1, simple(KRelayout), inferRelayout},
}

// Info returns k's row of the op table.
func (k Kind) Info() *OpInfo {
	if k > KInvalid && k < numKinds {
		return &ops[k]
	}
	return nil
}

func (k Kind) String() string {
	if i := k.Info(); i != nil {
		return i.Name
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// kindByName maps printed names to kinds. It is built on first use: the
// op families' files fill their rows of ops in init functions.
var kindByName = sync.OnceValue(func() map[string]Kind {
	m := map[string]Kind{}
	for k := KInvalid + 1; k < numKinds; k++ {
		if ops[k].Name != "" {
			m[ops[k].Name] = k
		}
	}
	return m
})

// KindOf looks up an op kind by its printed name.
func KindOf(name string) (Kind, bool) {
	k, ok := kindByName()[name]
	return k, ok
}

// OpNames lists every op name, sorted.
func OpNames() []string {
	var s []string
	for n := range kindByName() {
		s = append(s, n)
	}
	sort.Strings(s)
	return s
}

// NewOp builds an op from its name and attribute values (ints, floats,
// bools, strings, lists of ints or dims, as a parser or JSON produces
// them). Unset attributes keep their defaults; unknown ones are errors.
func NewOp(name string, attrs map[string]any) (Op, error) {
	k, ok := KindOf(name)
	if !ok {
		return nil, fmt.Errorf("unknown op %q", name)
	}
	op := ops[k].New()
	keys := make([]string, 0, len(attrs))
	for a := range attrs {
		keys = append(keys, a)
	}
	sort.Strings(keys)
	for _, a := range keys {
		var err error
		if op, err = SetAttr(op, a, attrs[a]); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return op, nil
}

// Infer applies op's shape rule to its input types, checking arity first.
func Infer(op Op, in []Type) ([]Type, error) {
	info := op.Kind().Info()
	if info == nil {
		return nil, fmt.Errorf("invalid op")
	}
	if len(in) < info.MinIn || (info.MaxIn >= 0 && len(in) > info.MaxIn) {
		want := fmt.Sprint(info.MinIn)
		switch {
		case info.MaxIn < 0:
			want = fmt.Sprintf("at least %d", info.MinIn)
		case info.MaxIn != info.MinIn:
			want = fmt.Sprintf("%d or %d", info.MinIn, info.MaxIn)
		}
		return nil, fmt.Errorf("takes %s inputs, got %d", want, len(in))
	}
	return info.Infer(op, in)
}

// Describe returns a one-line summary of the op with its attributes, as
// the printer writes it: "conv2d {stride=[2,2], ...}".
func Describe(op Op) string {
	var sb strings.Builder
	sb.WriteString(op.Kind().String())
	if a := formatAttrs(op); a != "" {
		sb.WriteString(" ")
		sb.WriteString(a)
	}
	return sb.String()
}
