package onnx_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/modelc/modelc/frontend/onnx"
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
