package zoo

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
)

// TestPeerExports checks modelc on the PyTorch exports of the peers' four
// architectures (bench/peers/export_onnx_fixed.py, a copy of the
// project's reference script: fixed shapes, batch 1 and 32, opset 14,
// constant folding; about 190 MB, so not committed): each file imports,
// its attention becomes the IR's attention op, and the reference
// evaluator and the generated package match PyTorch's outputs by
// design.md's rule (rtol 1e-4). It runs when MODELC_PEER_EXPORTS names
// the export folder (make peer-exports).
func TestPeerExports(t *testing.T) {
	dir := os.Getenv("MODELC_PEER_EXPORTS")
	if dir == "" {
		t.Skip("MODELC_PEER_EXPORTS not set (make peer-exports)")
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest []struct {
		Model, File string
		Batch       int
		Input       struct{ Dtype string }
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	attention := map[string]int{"vit-tiny": 12, "gpt-mini": 6}
	for _, e := range manifest {
		t.Run(strings.TrimSuffix(e.File, ".onnx"), func(t *testing.T) {
			m, err := frontend.Load(filepath.Join(dir, e.File), frontend.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ops := countOps(m.Graph)
			if ops[ir.KAttention] != attention[e.Model] {
				t.Errorf("imported graph has %d attention ops, want %d", ops[ir.KAttention], attention[e.Model])
			}
			if attention[e.Model] > 0 && (ops[ir.KSoftmax] != 0 || ops[ir.KMatMul] != 0) {
				t.Errorf("imported graph still has %d softmax and %d matmul (a pattern missed)", ops[ir.KSoftmax], ops[ir.KMatMul])
			}
			in := m.Graph.Inputs[0]
			x := ir.NewTensor(in.Type.DType, in.Type.Shape.At(e.Batch))
			raw, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(e.File, ".onnx")+".input.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if err := fillRaw(x, raw); err != nil {
				t.Fatal(err)
			}
			outs := m.Graph.Outputs[0]
			want := ir.NewTensor(ir.F32, outs.Type.Shape.At(e.Batch))
			if raw, err = os.ReadFile(filepath.Join(dir, strings.TrimSuffix(e.File, ".onnx")+".output.bin")); err != nil {
				t.Fatal(err)
			}
			if err := fillRaw(want, raw); err != nil {
				t.Fatal(err)
			}
			got, err := ir.Eval(m.Graph, x)
			if err != nil {
				t.Fatal(err)
			}
			rowLen := want.Shape[len(want.Shape)-1]
			r, err := match.Outputs(got[0].F, want.F, rowLen, 1e-4)
			if err != nil {
				t.Fatalf("evaluator vs PyTorch: %v", err)
			}
			t.Logf("evaluator vs PyTorch: max error %.3g of the tolerance", r.MaxErr)

			res, err := compile.Compile(m, compile.Options{
				Command: "modelc build " + e.File, Version: "test",
				Test: &codegen.Vectors{Inputs: []*ir.Tensor{x}, Outputs: []*ir.Tensor{want}, Rtol: 1e-4},
			})
			if err != nil {
				t.Fatal(err)
			}
			mod := harness.TempModule(t, "peer"+m.Package)
			mod.MustAdd(t, m.Package, res.Files)
			out := mod.MustGo(t, nil, "test", "-count=1", "-v", "-run", "TestVectors", "./"+m.Package)
			if !strings.Contains(out, "--- PASS: TestVectors") {
				t.Fatalf("generated package:\n%s", out)
			}
		})
	}
}

// fillRaw reads little-endian float32 or int64 values into t.
func fillRaw(t *ir.Tensor, raw []byte) error {
	n := t.Numel()
	switch {
	case t.F != nil && len(raw) == 4*n:
		for i := range t.F {
			t.F[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case t.I != nil && len(raw) == 8*n:
		for i := range t.I {
			t.I[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	default:
		return os.ErrInvalid
	}
	return nil
}
