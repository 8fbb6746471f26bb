package zoo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
)

// torchvisionModels are zoo/export_torchvision.py's models, with the
// most relayouts their compiled graphs may keep (-1: not checked yet):
// the MobileNets and EfficientNet run NHWC from the input's relayout to
// the logits' (depthwise convolutions, squeeze-and-excitation's scale and
// the fused activations included), but for the pooled vector of each
// squeeze-and-excitation block (C floats); ResNet's max pool adds two.
var torchvisionModels = []struct {
	name      string
	relayouts int
}{
	{"mobilenet_v2", 2}, {"mobilenet_v3_small", 11}, {"efficientnet_b0", 18}, {"regnet_y_400mf", -1},
	{"shufflenet_v2_x1_0", -1}, {"resnet18", 4}, {"convnext_tiny", -1},
}

// TestTorchvisionExports checks modelc on torchvision's classic CNNs as a
// new user exports them (zoo/export_torchvision.py: seeded weights,
// 64×64 images, opset 14, a fixed-shape and a dynamic-batch file each;
// about 250 MB, so not committed): each compiles, keeps the relayouts
// its architecture needs at most, and its generated package matches
// PyTorch's outputs by design.md's rule (rtol 1e-4) at batch 1 (fixed)
// and 4 (dynamic). It runs when MODELC_TORCHVISION names the export
// folder (make torchvision).
func TestTorchvisionExports(t *testing.T) {
	dir := os.Getenv("MODELC_TORCHVISION")
	if dir == "" {
		t.Skip("MODELC_TORCHVISION not set (make torchvision)")
	}
	for _, tv := range torchvisionModels {
		for _, v := range []struct{ file, batch string }{{"fixed", "1"}, {"dynamic", "4"}} {
			t.Run(tv.name+"/"+v.file, func(t *testing.T) {
				m, err := frontend.Load(filepath.Join(dir, tv.name, v.file+".onnx"), frontend.Options{})
				if err != nil {
					t.Fatal(err)
				}
				x, err := m.ReadTensors("x" + v.batch + ".npy")
				if err != nil {
					t.Fatal(err)
				}
				want, err := m.ReadTensors("logits" + v.batch + ".npy")
				if err != nil {
					t.Fatal(err)
				}
				res, err := compile.Compile(m, compile.Options{
					Command: "modelc build " + v.file + ".onnx", Version: "test",
					Test: &codegen.Vectors{Inputs: x, Outputs: want, Rtol: 1e-4},
				})
				if err != nil {
					t.Fatal(err)
				}
				if n := countOps(res.Graph)[ir.KRelayout]; tv.relayouts >= 0 && n > tv.relayouts {
					t.Errorf("compiled graph has %d relayouts, want at most %d (a body left NHWC)", n, tv.relayouts)
				}
				mod := harness.TempModule(t, "tv"+m.Package)
				mod.MustAdd(t, m.Package, res.Files)
				out := mod.MustGo(t, nil, "test", "-count=1", "-v", "-run", "TestVectors", "./"+m.Package)
				if !strings.Contains(out, "--- PASS: TestVectors") {
					t.Fatalf("generated package:\n%s", out)
				}
			})
		}
	}
}
