package onnx_test

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/modelc/modelc/frontend/onnx"
	"github.com/modelc/modelc/frontend/onnx/onnxpb"
	"github.com/modelc/modelc/ir"
)

// shapeMathModel is what exporters write for x.view(x.size(0), -1) and
// an Expand to Shape(x)[0]: Shape → Gather → Unsqueeze → Concat →
// Reshape, on a batch that is a dim_param.
func shapeMathModel() *modelBuilder {
	return newModel(13).input("x", "batch", 2, 3).
		scalar("zero", 0).ints("axes0", 0).ints("minus1", -1).floats("row", []int64{1, 6}, 1, 2, 3, 4, 5, 6).
		node("Shape", []string{"x"}, []string{"s"}).
		node("Gather", []string{"s", "zero"}, []string{"n"}, attrInt("axis", 0)).
		node("Unsqueeze", []string{"n", "axes0"}, []string{"n1"}).
		node("Concat", []string{"n1", "minus1"}, []string{"shape"}, attrInt("axis", 0)).
		node("Reshape", []string{"x", "shape"}, []string{"flat"}).
		node("Shape", []string{"flat"}, []string{"s2"}).
		node("Expand", []string{"row", "s2"}, []string{"rows"}).
		node("Add", []string{"flat", "rows"}, []string{"y"}).
		output("y")
}

func TestShapeMathIsSymbolic(t *testing.T) {
	g, err := onnx.Load(shapeMathModel().bytes(t), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `graph t {
  input %x: f32[N,2,3]
  const %row: f32[1,6] = dense<[1, 2, 3, 4, 5, 6]>
  %flat = reshape @flat_node (%x) {shape=[N,6]}: f32[N,6]
  %rows = expand @rows_node (%row) {shape=[N,6]}: f32[N,6]
  %y = add @y_node (%flat, %rows): f32[N,6]
  output %y
}
`
	if got := g.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// And it runs at two batch sizes.
	for _, n := range []int{1, 3} {
		x := ir.NewTensor(ir.F32, []int{n, 2, 3})
		for i := range x.F {
			x.F[i] = float32(i)
		}
		out, err := ir.Eval(g, x)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out[0].F {
			if want := float32(i + i%6 + 1); v != want {
				t.Fatalf("batch %d: element %d = %v, want %v", n, i, v, want)
			}
		}
	}
}

func TestErrorsNameNodeOpAndOpset(t *testing.T) {
	cases := []struct {
		name string
		m    *modelBuilder
		want string
	}{
		{"unknown op", newModel(13).input("x", 2).node("Foo", []string{"x"}, []string{"y"}).output("y"),
			`node 0 "y_node" (Foo, opset 13): unsupported op type Foo (supported: Abs, Acos,`},
		{"opset too new for the op", newModel(13).input("x", 2).node("Gelu", []string{"x"}, []string{"y"}).output("y"),
			`node 0 "y_node" (Gelu, opset 13): unsupported Gelu at opset 13 (supported: opsets 20 to 28)`},
		{"unknown attribute", newModel(13).input("x", 2).node("Relu", []string{"x"}, []string{"y"}, attrInt("bogus", 1)).output("y"),
			`node 0 "y_node" (Relu, opset 13): unsupported attribute "bogus" of Relu`},
		{"attribute value", newModel(20).input("x", 2).node("Gelu", []string{"x"}, []string{"y"}, attrString("approximate", "fast")).output("y"),
			`node 0 "y_node" (Gelu, opset 20): unsupported approximate="fast" (supported: none, tanh)`},
		{"runtime shape", newModel(13).input("x", 2, 3).input("s", 2).node("Reshape", []string{"x", "s"}, []string{"y"}).output("y"),
			`node 0 "y_node" (Reshape, opset 13): shape (input 1) comes from graph input "s"`},
		{"shape math that is not affine", newModel(13).input("x", "n", 3).
			node("Shape", []string{"x"}, []string{"s"}).
			node("Mul", []string{"s", "s"}, []string{"s2"}).
			node("Reshape", []string{"x", "s2"}, []string{"y"}).output("y"),
			`node 1 "s2_node" (Mul, opset 13): shape math N Mul N is not affine in the batch N`},
		{"model opset", newModel(30).input("x", 2).node("Relu", []string{"x"}, []string{"y"}).output("y"),
			`unsupported opset 30 of the default domain (supported: 1 to 28)`},
		{"two symbols", newModel(13).input("x", "a", "b").node("Relu", []string{"x"}, []string{"y"}).output("y"),
			`graph input "x": unsupported second symbolic dimension "b"`},
		{"LpPool ceil mode", newModel(18).input("x", 1, 1, 3, 3, 3).
			node("LpPool", []string{"x"}, []string{"y"}, attrInts("kernel_shape", 2, 2, 2), attrInt("ceil_mode", 1)).output("y"),
			`node 0 "y_node" (LpPool, opset 18): unsupported LpPool with ceil_mode=1`},
		{"conv on a vector", newModel(13).input("x", 1, 3).floats("w", []int64{1, 3}, 1, 1, 1).
			node("Conv", []string{"x", "w"}, []string{"y"}).output("y"),
			`node 0 "y_node" (Conv, opset 13): input [1,3]: want [N,C,D1,...] (Conv over at least one spatial axis)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := onnx.Load(c.m.bytes(t), onnx.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestTruncatedModelIsAnError(t *testing.T) {
	data := shapeMathModel().bytes(t)
	for n := 0; n < len(data); n++ {
		if _, err := onnx.Load(data[:n], onnx.Options{}); err == nil {
			// A prefix can itself be a valid message; it must then import
			// or fail cleanly, which Load did.
			continue
		}
	}
	if _, err := onnx.Load([]byte("not a model"), onnx.Options{}); err == nil {
		t.Fatal("garbage loaded")
	}
}

func TestNeedsValueNamesTheInput(t *testing.T) {
	m := newModel(13).input("x", 2, 3).node("Reshape", []string{"x", "s"}, []string{"y"}).output("y")
	m.m.Graph.Input = append(m.m.Graph.Input, valueInfo("s", onnxpb.TensorProto_INT64, 2))
	_, err := onnx.Load(m.bytes(t), onnx.Options{})
	var need *onnx.NeedsValueError
	if !errors.As(err, &need) || need.Input != "s" {
		t.Fatalf("got %v, want a NeedsValueError for s", err)
	}
	g, err := onnx.Load(m.bytes(t), onnx.Options{Bind: map[string]*ir.Tensor{"s": {DType: ir.I64, Shape: []int{2}, I: []int64{3, 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Inputs) != 1 || !g.Outputs[0].Type.Shape.Equal(ir.StaticShape(3, 2)) {
		t.Fatalf("bound import gave\n%s", g)
	}
}

// TestPatterns: the GELU and LayerNorm that exporters spell out become
// the IR's gelu and layernorm, and compute what the spelled-out form
// computes.
func TestPatterns(t *testing.T) {
	gelu := newModel(13).input("x", "n", 8).
		floats("sqrt2", nil, 1.4142135).floats("one", nil, 1).floats("half", nil, 0.5).
		node("Div", []string{"x", "sqrt2"}, []string{"d"}).
		node("Erf", []string{"d"}, []string{"e"}).
		node("Add", []string{"e", "one"}, []string{"a"}).
		node("Mul", []string{"x", "a"}, []string{"m"}).
		node("Mul", []string{"m", "half"}, []string{"y"}).output("y")
	geluHalfFirst := newModel(13).input("x", "n", 8).
		floats("isqrt2", nil, 0.70710677).floats("one", nil, 1).floats("half", nil, 0.5).
		node("Mul", []string{"isqrt2", "x"}, []string{"d"}).
		node("Erf", []string{"d"}, []string{"e"}).
		node("Add", []string{"one", "e"}, []string{"a"}).
		node("Mul", []string{"half", "x"}, []string{"h"}).
		node("Mul", []string{"h", "a"}, []string{"y"}).output("y")
	geluTanh := newModel(13).input("x", "n", 8).
		floats("three", nil, 3).floats("c", nil, 0.044715).floats("k", nil, 0.7978846).floats("one", nil, 1).floats("half", nil, 0.5).
		node("Pow", []string{"x", "three"}, []string{"x3"}).
		node("Mul", []string{"c", "x3"}, []string{"cx3"}).
		node("Add", []string{"x", "cx3"}, []string{"in"}).
		node("Mul", []string{"in", "k"}, []string{"kin"}).
		node("Tanh", []string{"kin"}, []string{"th"}).
		node("Add", []string{"th", "one"}, []string{"a"}).
		node("Mul", []string{"x", "a"}, []string{"m"}).
		node("Mul", []string{"m", "half"}, []string{"y"}).output("y")
	ln := func(affine bool, square string) *modelBuilder {
		m := newModel(13).input("x", "n", 3, 8).
			floats("two", nil, 2).floats("eps", nil, 1e-5).
			floats("g", []int64{8}, 1, 2, 3, 4, 5, 6, 7, 8).floats("b", []int64{8}, 0, 1, 0, 1, 0, 1, 0, 1).
			node("ReduceMean", []string{"x"}, []string{"mean"}, attrInts("axes", -1)).
			node("Sub", []string{"x", "mean"}, []string{"d"})
		if square == "pow" {
			m.node("Pow", []string{"d", "two"}, []string{"sq"})
		} else {
			m.node("Mul", []string{"d", "d"}, []string{"sq"})
		}
		m.node("ReduceMean", []string{"sq"}, []string{"var"}, attrInts("axes", -1)).
			node("Add", []string{"var", "eps"}, []string{"ve"}).
			node("Sqrt", []string{"ve"}, []string{"sd"}).
			node("Div", []string{"d", "sd"}, []string{"nrm"})
		if !affine {
			return m.output("nrm")
		}
		return m.node("Mul", []string{"nrm", "g"}, []string{"sc"}).
			node("Add", []string{"sc", "b"}, []string{"y"}).output("y")
	}
	for _, c := range []struct {
		name string
		m    *modelBuilder
		op   ir.Kind
	}{
		{"gelu", gelu, ir.KGelu},
		{"gelu, half first", geluHalfFirst, ir.KGelu},
		{"gelu, tanh form", geluTanh, ir.KGelu},
		{"layernorm", ln(true, "pow"), ir.KLayerNorm},
		{"layernorm, d·d, no affine", ln(false, "mul"), ir.KLayerNorm},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := c.m.bytes(t)
			g, err := onnx.Load(data, onnx.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Nodes) != 1 || g.Nodes[0].Op.Kind() != c.op {
				t.Fatalf("want one %s node, got\n%s", c.op, g)
			}
			plain, err := onnx.Load(data, onnx.Options{KeepPatterns: true})
			if err != nil {
				t.Fatal(err)
			}
			x := ir.SampleInputs(g, 2, 1)
			got, err := ir.Eval(g, x...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ir.Eval(plain, x...)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want[0].F {
				if d := got[0].F[i] - w; d > 1e-5 || d < -1e-5 {
					t.Fatalf("element %d: %v, spelled out %v", i, got[0].F[i], w)
				}
			}
		})
	}
}

// TestOutputsThatAreInputsKeepTheirNames: an output that is another name
// for an input (Identity, one-input Sum, inference Dropout) or for
// another output is a value of its own, named after the ONNX output, so
// `modelc run --out` writes every output.
func TestOutputsThatAreInputsKeepTheirNames(t *testing.T) {
	m := newModel(13).input("x", 2, 3).
		node("Identity", []string{"x"}, []string{"a"}).
		node("Sum", []string{"x"}, []string{"b"}).
		node("Dropout", []string{"x"}, []string{"c"}).
		node("Relu", []string{"x"}, []string{"d"}).
		node("Identity", []string{"d"}, []string{"e"}).
		output("a", "b", "c", "d", "e")
	g, err := onnx.Load(m.bytes(t), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := &ir.Tensor{DType: ir.F32, Shape: []int{2, 3}, F: []float32{-1, 2, -3, 4, -5, 6}}
	got, err := ir.Eval(g, x)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		if g.Outputs[i].Name != name {
			t.Errorf("output %d is named %q, want %q", i, g.Outputs[i].Name, name)
		}
		want := x.F
		if name >= "d" {
			want = []float32{0, 2, 0, 4, 0, 6}
		}
		if fmt.Sprint(got[i].F) != fmt.Sprint(want) {
			t.Errorf("output %s = %v, want %v", name, got[i].F, want)
		}
	}
}

// TestBoundValuesTakeTheDeclaredType: values bound from the command line
// or model.yaml (numbers) become the input's declared dtype and rank; a
// fraction for an integer input is an error naming the input.
func TestBoundValuesTakeTheDeclaredType(t *testing.T) {
	m := newModel(13).input("x", 2, 3).node("Reshape", []string{"x", "s"}, []string{"y"}).output("y")
	m.m.Graph.Input = append(m.m.Graph.Input, valueInfo("s", onnxpb.TensorProto_INT64, 2))
	bind := func(v ...float32) map[string]*ir.Tensor {
		return map[string]*ir.Tensor{"s": {DType: ir.F32, Shape: []int{len(v)}, F: v}}
	}
	g, err := onnx.Load(m.bytes(t), onnx.Options{Bind: bind(3, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Outputs[0].Type.Shape.Equal(ir.StaticShape(3, 2)) {
		t.Fatalf("bound import gave\n%s", g)
	}
	if _, err := onnx.Load(m.bytes(t), onnx.Options{Bind: bind(3.5, 2)}); err == nil || !strings.Contains(err.Error(), `bound input "s"`) {
		t.Fatalf("a fractional shape: got %v", err)
	}
	if _, err := onnx.Load(m.bytes(t), onnx.Options{Bind: bind(6)}); err == nil || !strings.Contains(err.Error(), "declared") {
		t.Fatalf("a bound value of the wrong shape: got %v", err)
	}
	_, err = onnx.Load(m.bytes(t), onnx.Options{})
	if err == nil || !strings.Contains(err.Error(), "--bind s=") || !strings.Contains(err.Error(), "bind: {s:") {
		t.Fatalf("unbound: the error must say how to bind s, got %v", err)
	}
}

// TestFunctionsAreInlined: a model-local function (as newer exporters
// write for modules) is replaced by its body, with its attribute
// references resolved from the call or the function's default, and
// functions calling functions.
func TestFunctionsAreInlined(t *testing.T) {
	ref := func(name, ref string) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), RefAttrName: proto.String(ref), Type: onnxpb.AttributeProto_FLOAT.Enum()}
	}
	// Scaled(x) = LeakyRelu(x, alpha=@a)·2, a defaults to 0.5; Twice(x) = Scaled(Scaled(x)).
	scaled := &onnxpb.FunctionProto{
		Name: proto.String("Scaled"), Domain: proto.String("pkg.test"), Input: []string{"x"}, Output: []string{"y"},
		AttributeProto: []*onnxpb.AttributeProto{attrFloat("a", 0.5)},
		Node: []*onnxpb.NodeProto{
			{OpType: proto.String("LeakyRelu"), Input: []string{"x"}, Output: []string{"t"}, Attribute: []*onnxpb.AttributeProto{ref("alpha", "a")}},
			{OpType: proto.String("Add"), Input: []string{"t", "t"}, Output: []string{"y"}},
		},
	}
	twice := &onnxpb.FunctionProto{
		Name: proto.String("Twice"), Domain: proto.String("pkg.test"), Input: []string{"x"}, Output: []string{"y"},
		Node: []*onnxpb.NodeProto{
			{OpType: proto.String("Scaled"), Domain: proto.String("pkg.test"), Input: []string{"x"}, Output: []string{"m"}, Attribute: []*onnxpb.AttributeProto{attrFloat("a", 0.25)}},
			{OpType: proto.String("Scaled"), Domain: proto.String("pkg.test"), Input: []string{"m"}, Output: []string{"y"}},
		},
	}
	m := newModel(18).input("x", 4).output("y")
	m.m.OpsetImport = append(m.m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String("pkg.test"), Version: proto.Int64(1)})
	m.m.Functions = []*onnxpb.FunctionProto{scaled, twice}
	m.m.Graph.Node = []*onnxpb.NodeProto{{OpType: proto.String("Twice"), Domain: proto.String("pkg.test"), Input: []string{"x"}, Output: []string{"y"}, Name: proto.String("call")}}
	g, err := onnx.Load(m.bytes(t), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ir.Eval(g, &ir.Tensor{DType: ir.F32, Shape: []int{4}, F: []float32{-8, -1, 1, 3}})
	if err != nil {
		t.Fatal(err)
	}
	// −8 → leaky(·, .25)·2 = −4 → leaky(·, .5)·2 = −4; 3 → 6 → 12.
	if want := []float32{-4, -0.5, 4, 12}; fmt.Sprint(got[0].F) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got[0].F, want)
	}
	m.m.Functions[0].Node[1].OpType = proto.String("Twice") // Scaled calls Twice calls Scaled …
	m.m.Functions[0].Node[1].Domain = proto.String("pkg.test")
	m.m.Functions[0].Node[1].Input = []string{"t"}
	if _, err := onnx.Load(m.bytes(t), onnx.Options{}); err == nil || !strings.Contains(err.Error(), "deep") {
		t.Fatalf("recursive functions: got %v", err)
	}
}

// TestAttention23IsTheIRsOp: opset-23 Attention in its plain form (3-D,
// as many key as query heads, no mask or cache) imports as the IR's
// attention op (the node tests check its values); with a mask it is
// built from matmuls and a softmax.
func TestAttention23IsTheIRsOp(t *testing.T) {
	for name, want := range map[string]bool{"test_attention_3d_causal": true, "test_attention_3d_scaled": true, "test_attention_3d_attn_mask": false} {
		g, err := loadArchiveModel(t, name)
		if err != nil {
			t.Fatal(err)
		}
		var att *ir.Attention
		for _, n := range g.Nodes {
			if a, ok := n.Op.(*ir.Attention); ok {
				att = a
			}
		}
		if (att != nil) != want {
			t.Errorf("%s: attention op %v, want one: %v\n%s", name, att, want, g)
			continue
		}
		if att != nil && att.Causal != strings.Contains(name, "causal") {
			t.Errorf("%s: causal %v", name, att.Causal)
		}
	}
}

func loadArchiveModel(t *testing.T, name string) (*ir.Graph, error) {
	data, err := fs.ReadFile(backendData(t), "node/"+name+"/model.onnx")
	if err != nil {
		return nil, err
	}
	return onnx.Load(data, onnx.Options{})
}

// TestEinsumEllipsis: an ellipsis becomes labels of its own, broadcast
// from the right, and an implicit output becomes explicit (the
// ellipsis's labels first); a malformed one is an error.
func TestEinsumEllipsis(t *testing.T) {
	for _, tc := range []struct {
		eq     string
		shapes [][]any
		want   string
	}{
		{"...ii ->...i", [][]any{{3, 5, 5}}, "aii->ai"},
		{"...ij,...jk", [][]any{{2, 3, 4}, {4, 5}}, "aij,jk->aik"},
		{"b...,...a->...", [][]any{{2, 3, 4}, {4, 2}}, "bcd,da->cd"},
		{"...", [][]any{{}}, "->"},
		{"ij,jk", [][]any{{2, 3}, {3, 4}}, "ij,jk"},
		{"i..j", [][]any{{2, 3}}, ""},
		{"...i...", [][]any{{2, 3}}, ""},
		{"...ijk", [][]any{{2, 3}}, ""},
	} {
		m := newModel(12)
		var ins []string
		for i, s := range tc.shapes {
			name := fmt.Sprintf("x%d", i)
			m.input(name, s...)
			ins = append(ins, name)
		}
		m.node("Einsum", ins, []string{"y"}, attrString("equation", tc.eq)).output("y")
		g, err := onnx.Load(m.bytes(t), onnx.Options{})
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: imported, want an error", tc.eq)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.eq, err)
			continue
		}
		var got string
		for _, n := range g.Nodes {
			if e, ok := n.Op.(*ir.Einsum); ok {
				got = e.Equation
			}
		}
		if got != tc.want {
			t.Errorf("%q: equation %q, want %q", tc.eq, got, tc.want)
		}
	}
}

// TestLRN: LRN's decomposition matches its definition, on an even size
// (more channels after each than before) and a rank-3 input.
func TestLRN(t *testing.T) {
	const n, ch, d, size = 2, 5, 3, 4
	const alpha, beta, bias = 0.5, 0.75, 2.0
	m := newModel(13).input("x", n, ch, d).
		node("LRN", []string{"x"}, []string{"y"}, attrFloat("alpha", alpha), attrFloat("beta", beta), attrFloat("bias", bias), attrInt("size", size)).
		output("y")
	g, err := onnx.Load(m.bytes(t), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := ir.NewTensor(ir.F32, []int{n, ch, d})
	for i := range x.F {
		x.F[i] = float32(i%7) - 2.5
	}
	out, err := ir.Eval(g, x)
	if err != nil {
		t.Fatal(err)
	}
	for b := range n {
		for c := range ch {
			for j := range d {
				sum := 0.0
				for k := c - (size-1)/2; k <= c+size/2; k++ {
					if k >= 0 && k < ch {
						v := float64(x.F[(b*ch+k)*d+j])
						sum += v * v
					}
				}
				i := (b*ch+c)*d + j
				want := float64(x.F[i]) / math.Pow(bias+alpha/size*sum, beta)
				if got := float64(out[0].F[i]); math.Abs(got-want) > 1e-5*math.Abs(want)+1e-6 {
					t.Errorf("y[%d %d %d] = %g, want %g", b, c, j, got, want)
				}
			}
		}
	}
}

// TestMaxPoolInt8: int8 max pooling (run on floats) keeps the dtype and
// the values, negative ones included, padding never winning.
func TestMaxPoolInt8(t *testing.T) {
	m := newModel(12)
	m.m.Graph.Input = append(m.m.Graph.Input, valueInfo("x", onnxpb.TensorProto_INT8, 1, 1, 1, 5))
	m.node("MaxPool", []string{"x"}, []string{"y"}, attrInts("kernel_shape", 1, 2), attrInts("pads", 0, 1, 0, 1)).output("y")
	g, err := onnx.Load(m.bytes(t), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := ir.NewTensor(ir.I8, []int{1, 1, 1, 5})
	copy(x.I, []int64{-128, -7, 127, -1, -100})
	out, err := ir.Eval(g, x)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].DType != ir.I8 || fmt.Sprint(out[0].I) != "[-128 -7 127 127 -1 -100]" {
		t.Errorf("got %s %v", out[0].DType, out[0].I)
	}
}
