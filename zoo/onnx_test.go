package zoo

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
)

// The ONNX exports in onnx/ (written by onnx/export.py, make zoo-onnx):
// PyTorch models exported with a dynamic batch, their inputs and
// PyTorch's logits. Each imports, its patterns become IR ops, the
// default pipeline (fuse-epilogue included) runs on it as on a YAML
// model, and both the reference evaluator and the generated package
// match PyTorch by design.md's rule for model outputs (rtol 1e-4, argmax
// equal outside near-ties). No Python needed.

// onnxExport is one export and what its imported graph must show.
type onnxExport struct {
	name string
	// ops the imported graph must hold (count by kind), and ops it must
	// not (what the patterns replace).
	want    map[ir.Kind]int
	notWant []ir.Kind
	// fused: fuse-epilogue must fold something into a linear or conv2d.
	fused bool
	// causal: every attention op must be causal.
	causal bool
}

var onnxExports = []onnxExport{
	{name: "resmlp", want: map[ir.Kind]int{ir.KLinear: 8, ir.KLayerNorm: 4, ir.KGelu: 3},
		notWant: []ir.Kind{ir.KGemm, ir.KErf}, fused: true},
	// BatchNorm stays as exported (folding it is bn-fold's job, a user
	// pass not implemented yet), so no conv2d is followed by a ReLU or
	// an Add that fuse-epilogue could fold.
	{name: "resnet-bn", want: map[ir.Kind]int{ir.KConv2D: 9, ir.KBatchNorm: 9, ir.KLinear: 1},
		notWant: []ir.Kind{ir.KGemm}},
	// The exported attention (MatMul, Div, Softmax, MatMul with reshapes
	// and transposes) is the IR's attention op.
	{name: "transformer", want: map[ir.Kind]int{ir.KAttention: 2, ir.KLinear: 14, ir.KLayerNorm: 5, ir.KGelu: 2},
		notWant: []ir.Kind{ir.KMatMul, ir.KSoftmax, ir.KGemm}, fused: true},
	// The peers' architectures, small, exported with constant folding as
	// the peers' script does. ViT: one packed QKV projection split by
	// Gather, the scale by Mul; the class token's expand(B, −1, −1) shape
	// math (Equal, Where) folds away.
	{name: "vit-mini", want: map[ir.Kind]int{ir.KAttention: 2, ir.KLayerNorm: 5, ir.KGelu: 2, ir.KExpand: 1},
		notWant: []ir.Kind{ir.KMatMul, ir.KSoftmax, ir.KEqual, ir.KWhere}},
	// GPT: masked_fill with the constant upper triangle (Where) is a
	// causal attention.
	{name: "gpt-micro", want: map[ir.Kind]int{ir.KAttention: 2, ir.KLayerNorm: 5, ir.KGelu: 2},
		notWant: []ir.Kind{ir.KMatMul, ir.KSoftmax, ir.KWhere}, causal: true},
	// ResNet's option-A shortcut: strided Slice and a channel Pad.
	{name: "resnet-a", want: map[ir.Kind]int{ir.KPad: 1, ir.KConv2D: 3, ir.KSlice: 2}},
	// nn.MultiheadAttention's sequence-first export.
	{name: "mha", want: map[ir.Kind]int{ir.KAttention: 1, ir.KLinear: 3},
		notWant: []ir.Kind{ir.KMatMul, ir.KSoftmax}},
	// nn.LSTM and nn.GRU, 2 layers, bidirectional, batch_first: each
	// layer's LSTM (GRU, linear_before_reset) node is a linear, the input
	// projection, and a recurrent op; the zero initial states
	// (ConstantOfShape of the batch) are inputs of it.
	{name: "lstm", want: map[ir.Kind]int{ir.KRecurrent: 2, ir.KLinear: 3}},
	{name: "gru", want: map[ir.Kind]int{ir.KRecurrent: 3, ir.KLinear: 4}},
}

func countOps(g *ir.Graph) map[ir.Kind]int {
	c := map[ir.Kind]int{}
	for _, n := range g.Nodes {
		c[n.Op.Kind()]++
	}
	return c
}

func TestONNXExports(t *testing.T) {
	for _, ex := range onnxExports {
		t.Run(ex.name, func(t *testing.T) {
			m, err := frontend.Load(filepath.Join("onnx", ex.name, "model.onnx"), frontend.Options{})
			if err != nil {
				t.Fatal(err)
			}
			x, err := m.ReadTensors("x.npy")
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.ReadTensors("logits.npy")
			if err != nil {
				t.Fatal(err)
			}
			if in := m.Graph.Inputs[0].Type.Shape; in[0] != ir.N {
				t.Errorf("input shape %s: the export's dynamic batch should be N", in)
			}
			ops := countOps(m.Graph)
			for k, n := range ex.want {
				if ops[k] != n {
					t.Errorf("imported graph has %d %s, want %d", ops[k], k, n)
				}
			}
			for _, n := range m.Graph.Nodes {
				if a, ok := n.Op.(*ir.Attention); ok && a.Causal != ex.causal {
					t.Errorf("attention %s: causal %v, want %v", n.Name, a.Causal, ex.causal)
				}
			}
			for _, k := range ex.notWant {
				if ops[k] != 0 {
					t.Errorf("imported graph still has %d %s (a pattern missed)", ops[k], k)
				}
			}

			// The reference evaluator.
			got, err := ir.Eval(m.Graph, x...)
			if err != nil {
				t.Fatal(err)
			}
			rowLen := want[0].Shape[len(want[0].Shape)-1]
			r, err := match.Outputs(got[0].F, want[0].F, rowLen, 1e-4)
			if err != nil {
				t.Fatalf("evaluator vs PyTorch: %v", err)
			}
			t.Logf("evaluator vs PyTorch: max error %.3g of the tolerance, max |a-b| %.3g", r.MaxErr, maxAbsDiff(got[0].F, want[0].F))

			// The default pipeline, fuse-epilogue included, then codegen.
			res, err := compile.Compile(m, compile.Options{
				Run: passes.RunOptions{VerifyExact: true}, Command: "modelc build model.onnx -o .", Version: "test",
				Test: &codegen.Vectors{Inputs: x, Outputs: want, Rtol: 1e-4},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range res.Log {
				if e.Pass == "fuse-epilogue" {
					t.Logf("fuse-epilogue: %s", e.Stats)
					if ex.fused && len(e.Stats) == 0 {
						t.Errorf("fuse-epilogue changed nothing on the imported graph")
					}
				}
			}
			if testing.Short() {
				return
			}
			mod := harness.TempModule(t, "onnx"+m.Package)
			mod.MustAdd(t, m.Package, res.Files)
			mod.MustGo(t, nil, "vet", "./"+m.Package)
			// TestVectors applies design.md's rule to the generated
			// package's outputs against PyTorch's logits.
			out := mod.MustGo(t, nil, "test", "-count=1", "-v", "-run", "TestVectors|TestWrongSizes|TestNoAllocs", "./"+m.Package)
			if !strings.Contains(out, "--- PASS: TestVectors") {
				t.Fatalf("generated package:\n%s", out)
			}
			t.Logf("generated package: %s", strings.Join(strings.Fields(strings.ReplaceAll(out, "\n", " ")), " "))
		})
	}
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}
