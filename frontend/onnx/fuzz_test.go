package onnx_test

import (
	"testing"

	"github.com/modelc/modelc/frontend/onnx"
	"github.com/modelc/modelc/ir"
)

// FuzzReadONNX feeds arbitrary bytes to Load (and DecodeTensor): they must
// return an error or a graph that verifies, never panic. Seeds: models
// built here and testdata/fuzz/FuzzReadONNX (node-test models, some
// truncated or with a flipped byte).
func FuzzReadONNX(f *testing.F) {
	f.Add(shapeMathModel().bytes(f))
	f.Add(newModel(17).input("x", 2, 3).
		node("Conv", []string{"x", "w"}, []string{"y"}, attrInts("pads", 1, 1)).
		floats("w", []int64{1, 1, 3}, 1, 2, 3).output("y").bytes(f))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := onnx.Load(data, onnx.Options{})
		if err == nil {
			if err := ir.Verify(g); err != nil {
				t.Fatalf("Load returned a graph that does not verify: %v", err)
			}
		}
		onnx.DecodeTensor(data)
	})
}
