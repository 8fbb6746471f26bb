package onnx_test

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/modelc/modelc/frontend/onnx"
	"github.com/modelc/modelc/frontend/onnx/onnxpb"
	"github.com/modelc/modelc/ir"
)

// TestHostileONNX: a few hundred bytes of ONNX that ask for 10¹⁰
// elements, more nodes than the limit, or the same initializer twice are
// errors naming the node or initializer, before anything is allocated.
func TestHostileONNX(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *modelBuilder
		msg  string
	}{
		{"ConstantOfShape of 10¹⁰ elements", newModel(13).input("x", "N", 4).ints("s", 100000, 100000).
			node("ConstantOfShape", []string{"s"}, []string{"c"}).node("Relu", []string{"x"}, []string{"y"}).output("y", "c"),
			`node 0 "c_node" (ConstantOfShape, opset 13): output "c" of shape [100000 100000] holds more than 268435456 elements (limits.TensorElems)`},
		{"Expand to 10¹⁰ elements per sample", newModel(13).input("x", "N", 1, 1).ints("s", 1, 100000, 100000).
			node("Expand", []string{"x", "s"}, []string{"y"}).output("y"),
			`(Expand, opset 13): output "y" of shape [1 100000 100000] holds more than 268435456 elements`},
		{"input of 2⁴⁰ elements per sample", newModel(13).input("x", "N", 1<<20, 1<<20).node("Relu", []string{"x"}, []string{"y"}).output("y"),
			`holds more than 268435456 elements per sample`},
		{"duplicate initializer", newModel(13).input("x", "N", 2).floats("w", []int64{2}, 1, 2).floats("w", []int64{2}, 3, 4).
			node("Add", []string{"x", "w"}, []string{"y"}).output("y"),
			`initializer "w" is given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := onnx.Load(tc.b.bytes(t), onnx.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want an error containing %q", err, tc.msg)
			}
		})
	}
	b := newModel(13).input("x", "N", 1)
	for i := 0; i < 50_001; i++ {
		b.node("Relu", []string{"x"}, []string{fmt.Sprintf("y%d", i)})
	}
	if _, err := onnx.Load(b.output("y0").bytes(t), onnx.Options{}); err == nil || !strings.Contains(err.Error(), "the graph has 50001 nodes, over the limit of 50000 (limits.Layers)") {
		t.Fatalf("50001 nodes: got %v", err)
	}
}

// TestSumOfManyInputs: a Sum of k inputs becomes k-1 adds whose
// temporaries are named in O(k) (the names used to be found by probing
// from .1 each time, O(k²): hours for 10⁵ inputs).
func TestSumOfManyInputs(t *testing.T) {
	const k = 40_000
	ins := make([]string, k)
	for i := range ins {
		ins[i] = "x"
	}
	g, err := onnx.Load(newModel(13).input("x", "N", 2).node("Sum", ins, []string{"y"}).output("y").bytes(t), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := ir.Eval(g, &ir.Tensor{DType: ir.F32, Shape: []int{1, 2}, F: []float32{1, -0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].F[0] != k || out[0].F[1] != -k/2 {
		t.Fatalf("Sum of %d × x = %v, want [%d %d]", k, out[0].F, k, -k/2)
	}
}

// TestFunctionBomb: model-local functions that each call the next ten
// times (a few hundred bytes) would inline to 10³¹ nodes, and with an
// empty innermost body to none at all after 10³¹ calls: inlining counts
// every node it meets against limits.Layers and stops, in well under a
// second, with an error naming the call.
func TestFunctionBomb(t *testing.T) {
	for _, leaf := range []string{"Relu", ""} {
		m := newModel(18).input("x", 4).output("y")
		m.m.OpsetImport = append(m.m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String("bomb"), Version: proto.Int64(1)})
		const depth = 31
		for i := 0; i < depth; i++ {
			f := &onnxpb.FunctionProto{Name: proto.String(fmt.Sprintf("F%d", i)), Domain: proto.String("bomb"), Input: []string{"x"}, Output: []string{"y"}}
			callee, domain := fmt.Sprintf("F%d", i+1), "bomb"
			if i == depth-1 {
				callee, domain = leaf, ""
			}
			if callee != "" {
				for j := 0; j < 10; j++ {
					out := fmt.Sprintf("t%d", j)
					if j == 9 {
						out = "y"
					}
					f.Node = append(f.Node, &onnxpb.NodeProto{OpType: proto.String(callee), Domain: proto.String(domain), Input: []string{"x"}, Output: []string{out}})
				}
			}
			m.m.Functions = append(m.m.Functions, f)
		}
		m.m.Graph.Node = []*onnxpb.NodeProto{{OpType: proto.String("F0"), Domain: proto.String("bomb"), Input: []string{"x"}, Output: []string{"y"}, Name: proto.String("call")}}
		start := time.Now()
		_, err := onnx.Load(m.bytes(t), onnx.Options{})
		if err == nil || !strings.Contains(err.Error(), "with its functions inlined, over the limit of 50000 (limits.Layers)") {
			t.Fatalf("leaf %q: got %v", leaf, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("leaf %q: refused after %v", leaf, d)
		}
	}
}

// TestRangeBounds: Range is folded at import, so its length is checked
// before the tensor is made: a limit of 10³⁰⁰ (which converted to int
// wraps negative) or NaN is an error, never a panic or 10³⁰⁰ elements.
func TestRangeBounds(t *testing.T) {
	for _, limit := range []float32{1e30, float32(math.Inf(1)), float32(math.NaN()), 1 << 29} {
		m := newModel(13).input("x", "N", 1).floats("start", nil, 0).floats("limit", nil, limit).floats("delta", nil, 1).
			node("Range", []string{"start", "limit", "delta"}, []string{"r"}).node("Relu", []string{"x"}, []string{"y"}).output("y", "r")
		_, err := onnx.Load(m.bytes(t), onnx.Options{})
		if err == nil || !strings.Contains(err.Error(), "over the limit of 268435456 (limits.TensorElems)") {
			t.Errorf("Range to %g: got %v", limit, err)
		}
	}
}

// TestSplatNotExpanded: a ConstantOfShape of 2²⁸ elements (within
// limits.TensorElems, a few bytes of ONNX) read by nodes that import
// evaluates (a reduction, Resize's scales) is never expanded: the import
// allocates well under the 1 GiB the dense tensor would take.
func TestSplatNotExpanded(t *testing.T) {
	for name, m := range map[string]*modelBuilder{
		"ReduceSum": newModel(13).input("x", "N", 1).ints("s", 1<<14, 1<<14).
			node("ConstantOfShape", []string{"s"}, []string{"c"}).
			node("ReduceSum", []string{"c"}, []string{"r"}, attrInt("keepdims", 0)).
			node("Relu", []string{"x"}, []string{"y"}).output("y", "r"),
		"Resize scales": newModel(13).input("x", "N", 1).ints("s", 1<<28).
			node("ConstantOfShape", []string{"s"}, []string{"c"}).
			node("Resize", []string{"x", "", "c"}, []string{"y"}).output("y"),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := onnx.Load(m.bytes(t), onnx.Options{})
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
			t.Errorf("%s: import allocated %d MiB (err %v)", name, got>>20, err)
		}
	}
}
