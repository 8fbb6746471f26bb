package kernels

import (
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
)

// opCase is one op on random inputs at batch n, and the reference
// evaluator's results.
type opCase struct {
	node    *ir.Node
	n       int
	in, out []*ir.Tensor
}

// evalOp builds a graph of op on inputs of the given types (every input a
// graph input), fills them with ir.SampleInputs at batch n, and
// evaluates it.
func evalOp(t *testing.T, n int, seed uint64, op ir.Op, ins ...ir.Type) opCase {
	t.Helper()
	return evalOpWith(t, n, seed, op, nil, ins...)
}

// evalOpWith is evalOp with fix changing the sample inputs first.
func evalOpWith(t *testing.T, n int, seed uint64, op ir.Op, fix func([]*ir.Tensor), ins ...ir.Type) opCase {
	t.Helper()
	b := ir.NewBuilder("t")
	var vs []*ir.Value
	for i, ty := range ins {
		v, err := b.Input(fmt.Sprintf("x%d", i), ty)
		require.NoError(t, err)
		vs = append(vs, v)
	}
	node, err := b.Add("op", op, vs)
	require.NoError(t, err)
	b.G.Outputs = node.Outputs
	in := ir.SampleInputs(b.G, n, seed)
	if fix != nil {
		fix(in)
	}
	out, err := ir.Eval(b.G, in...)
	require.NoError(t, err)
	return opCase{node: node, n: n, in: in, out: out}
}

// f32 returns the float32 type of shape s.
func f32(s ...ir.Dim) ir.Type { return ir.Type{DType: ir.F32, Shape: s} }

// matches checks a kernel's output against the reference's by the
// project's kernel rule.
func matches(t *testing.T, got []float32, want *ir.Tensor, what string) {
	t.Helper()
	require.NoError(t, match.Kernel(got, want.F), what)
}

func matchErr(got, want []float32) error { return match.Kernel(got, want) }

// outBuf returns an output buffer for reference tensor want, with guard
// values after it that a kernel must not touch (checked by guarded).
func outBuf(want *ir.Tensor) []float32 {
	b := make([]float32, want.Numel()+7)
	for i := range b {
		b[i] = 12345
	}
	return b
}

func guarded(t *testing.T, buf []float32, n int) []float32 {
	t.Helper()
	for i, v := range buf[n:] {
		require.Equal(t, float32(12345), v, "guard %d after the output was written", i)
	}
	return buf[:n]
}

// dims returns static sizes as ir.Dims, the first one the batch.
func batchShape(rest ...int) ir.Shape {
	s := ir.Shape{ir.N}
	for _, d := range rest {
		s = append(s, ir.D(d))
	}
	return s
}

// fn returns the package function an Inline hook names, bound to its
// trailing arguments, as a Go func of type T (a unary or binary op).
func inlined[T any](t *testing.T, h tmpl.Inline) T {
	t.Helper()
	f, ok := funcs[h.Func]
	require.True(t, ok, "no function %s in funcs", h.Func)
	fv := reflect.ValueOf(f)
	var zero T
	typ := reflect.TypeOf(zero)
	return reflect.MakeFunc(typ, func(args []reflect.Value) []reflect.Value {
		for _, a := range h.Args {
			args = append(args, reflect.ValueOf(a).Convert(fv.Type().In(len(args))))
		}
		return fv.Call(args)
	}).Interface().(T)
}

// funcs are the functions hooks inline, by name.
var funcs = map[string]any{
	"Relu": Relu, "LeakyRelu": LeakyRelu, "Sigmoid": Sigmoid, "Tanh": Tanh, "Gelu": Gelu, "GeluTanh": GeluTanh,
	"Erf": Erf, "Exp": Exp, "Log": Log, "Sqrt": Sqrt, "Neg": Neg, "Abs": Abs, "HardSigmoid": HardSigmoid,
	"HardSwish": HardSwish, "Clip": Clip,
	"Add": Add, "Sub": Sub, "Mul": Mul, "Div": Div, "Pow": Pow,
	"SumStep": SumStep, "MaxStep": MaxStep, "MinStep": MinStep, "ProdStep": ProdStep, "AbsStep": AbsStep,
	"SquareStep": SquareStep, "Same": Same, "MeanFinish": MeanFinish, "SqrtFinish": SqrtFinish, "LogFinish": LogFinish,
	"Sin": Sin, "Cos": Cos, "Tan": Tan, "Asin": Asin, "Acos": Acos, "Atan": Atan, "Sinh": Sinh, "Cosh": Cosh,
	"Asinh": Asinh, "Acosh": Acosh, "Atanh": Atanh, "Ceil": Ceil, "Floor": Floor, "Round": Round,
	"Reciprocal": Reciprocal, "Softsign": Softsign, "Sign": Sign, "Softplus": Softplus, "Mish": Mish, "Elu": Elu,
	"Celu": Celu, "ThresholdedRelu": ThresholdedRelu, "Swish": Swish, "Selu": Selu, "Shrink": Shrink,
	"IsNaN": IsNaN, "IsInf": IsInf, "Not": Not, "BitNot": BitNot, "SignInt": SignInt,
	"WrapUint16": WrapUint16, "WrapUint32": WrapUint32, "WrapBool": WrapBool,
	"Equal": Equal, "Less": Less, "LessEqual": LessEqual, "Greater": Greater, "GreaterEqual": GreaterEqual,
	"Min": Min, "Max": Max, "Mod": Mod, "PRelu": PRelu, "EqualInt": EqualInt, "LessInt": LessInt,
	"LessEqualInt": LessEqualInt, "GreaterInt": GreaterInt, "GreaterEqualInt": GreaterEqualInt, "LessU": LessU,
	"LessEqualU": LessEqualU, "GreaterU": GreaterU, "GreaterEqualU": GreaterEqualU, "AddInt": AddInt,
	"SubInt": SubInt, "MulInt": MulInt, "DivInt": DivInt, "DivU": DivU, "PowInt": PowInt, "And": And, "Or": Or,
	"Xor": Xor, "BitAnd": BitAnd, "BitOr": BitOr, "BitXor": BitXor, "MinInt": MinInt, "MaxInt": MaxInt,
	"MinU": MinU, "MaxU": MaxU, "PReluInt": PReluInt, "Rem": Rem, "ModFloor": ModFloor, "ModU": ModU,
	"ShiftLeft": ShiftLeft, "ShiftRight": ShiftRight,
	"WrapInt8": WrapInt8, "WrapUint8": WrapUint8, "WrapInt16": WrapInt16, "WrapInt32": WrapInt32, "WrapInt64": WrapInt64,
	"RoundF16": RoundF16, "RoundBF16": RoundBF16, "Same32": Same32, "SquareStepInt": SquareStepInt, "AbsStepInt": AbsStepInt,
}

// TestTemplatesParse: the embedded source loads, and every function a
// hook may inline is one return statement.
func TestTemplatesParse(t *testing.T) {
	s, err := tmpl.Load(Source)
	require.NoError(t, err)
	for name := range funcs {
		require.True(t, s.Has(name), name)
	}
}

// TestKernelTypes: each call-site type's F has its family's signature
// (isa.Family.Signature), so a template passes what the kernels take.
func TestKernelTypes(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "targets.go", mustRead(t, "targets.go"), 0)
	require.NoError(t, err)
	want := map[string]isa.Family{
		"ElementwiseKernel": isa.Elementwise, "LayerNormKernel": isa.LayerNorm, "SoftmaxKernel": isa.Softmax,
		"AttentionKernel": isa.Attention, "LinearKernel": isa.Linear, "ConvBlockKernel": isa.ConvBlock, "ConvRowKernel": isa.ConvRow,
		"DepthwiseKernel": isa.Depthwise, "QGemmKernel": isa.QGemm,
	}
	seen := 0
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		ts := gd.Specs[0].(*ast.TypeSpec)
		fam, ok := want[ts.Name.Name]
		require.True(t, ok, "%s is not a family's call site", ts.Name.Name)
		ft := ts.Type.(*ast.StructType).Fields.List[0].Type.(*ast.FuncType)
		var b strings.Builder
		require.NoError(t, format.Node(&b, fset, ft))
		require.Equal(t, "func"+fam.Signature(), b.String(), ts.Name.Name)
		seen++
	}
	require.Equal(t, len(want), seen)
}

func mustRead(t *testing.T, name string) []byte {
	b, err := Source.ReadFile(name)
	require.NoError(t, err)
	return b
}

// rng returns the tests' random source.
func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }
