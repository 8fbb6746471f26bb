package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
)

// TestORTInputSpec: for an .onnx MODEL, the ort peer is told the input's
// name, dtype and per-sample dims; models it cannot feed say why.
func TestORTInputSpec(t *testing.T) {
	for name, want := range map[string]string{
		"resmlp":      "x:float32:64",
		"resnet-bn":   "x:float32:3x32x32",
		"transformer": "x:float32:16x32",
	} {
		m, err := frontend.Load(filepath.Join("..", "..", "zoo", "onnx", name, "model.onnx"), frontend.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != name {
			t.Errorf("%s/model.onnx is named %q, want the folder's name", name, m.Name)
		}
		if got, why := ortInputSpec(m.Graph); got != want || why != "" {
			t.Errorf("%s: spec %q (%s), want %q", name, got, why, want)
		}
	}
	// A fixed-shape export (no dynamic batch axis): fed at its own batch.
	b := ir.NewBuilder("static")
	if _, err := b.Input("x", ir.Type{DType: ir.F32, Shape: ir.Shape{ir.D(2), ir.D(3)}}); err != nil {
		t.Fatal(err)
	}
	if spec, why := ortInputSpec(b.G); spec != "x:float32:3" || why != "" {
		t.Errorf("static input: spec %q (%s), want x:float32:3", spec, why)
	}
	if fb := fixedBatch(b.G); fb != 2 {
		t.Errorf("static input [2, 3]: fixed batch %d, want 2", fb)
	}
	// Inputs whose leading dims differ, a scalar, or a symbolic batch:
	// no fixed batch, and no spec for the scalar.
	if _, err := b.Input("y", ir.Type{DType: ir.F32, Shape: ir.Shape{ir.D(3), ir.D(3)}}); err != nil {
		t.Fatal(err)
	}
	if fb := fixedBatch(b.G); fb != 0 {
		t.Errorf("inputs [2, 3] and [3, 3]: fixed batch %d, want 0", fb)
	}
	sc := ir.NewBuilder("scalar")
	if _, err := sc.Input("x", ir.Type{DType: ir.F32, Shape: ir.Shape{}}); err != nil {
		t.Fatal(err)
	}
	if spec, why := ortInputSpec(sc.G); spec != "" || why == "" || fixedBatch(sc.G) != 0 {
		t.Errorf("scalar input: spec %q, want a reason instead", spec)
	}
	// torch has no PyTorch source for an .onnx model: a missing peer
	// (a row saying so), not an error.
	pr := &peerRunner{model: "resmlp", onnx: "/x/model.onnx", input: "x:float32:64"}
	var miss missingPeer
	if err := pr.install("torch"); !errors.As(err, &miss) {
		t.Errorf("torch on an .onnx model: %v, want a missing peer", err)
	}
}
