package twins

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/passes"
)

// TestQuantizedPackage compiles the repvgg twin with quantize (int8,
// fixed point: integer convolutions whose epilogues requantize into the
// next one's format) into a generated package: its own TestVectors
// (for a lossy build, the compiled graph's outputs on model.yaml's test
// rows) pass, and on every held-out row its logits match the compiled
// graph's (ir.Eval) by design.md's rule and score what they score.
func TestQuantizedPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	tw, err := Load(".", "repvgg")
	if err != nil {
		t.Fatal(err)
	}
	p, err := passes.Build([]passes.Spec{{Name: "bn-fold"}, {Name: "quantize", Options: map[string]any{"bits": []any{int64(8)}}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := compile.Compile(tw.Model, compile.Options{Pipeline: p, Command: "modelc build model.yaml -o .", Version: "test", TestVectors: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Graph.String(), "qconv2d") || !strings.Contains(res.Graph.String(), `act="relu", to=i8`) {
		t.Fatalf("no requantizing integer convolution in the compiled graph:\n%s", res.Graph)
	}
	mod := harness.TempModule(t, "qtwin")
	mod.MustAdd(t, "repvgg", res.Files)
	dir := mod.PkgDir("repvgg")
	must(t, os.WriteFile(filepath.Join(dir, "twin_test.go"), fmt.Appendf(nil, twinRowsTest, tw.Model.Package, tw.X.Shape[0]), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "testdata"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "testdata", "twin_x.f32"), f32Bytes(tw.X.F), 0o644))
	out, err := mod.Go(nil, "test", "-count=1", "-v", "-run", "TestVectors|TestTwinRows", "./...")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestVectors") {
		t.Fatalf("the generated TestVectors did not run:\n%s", out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "testdata", "twin_logits.f32"))
	must(t, err)
	got := make([]float32, len(data)/4)
	for i := range got {
		got[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	want, err := Eval(res.Graph, tw.X, 120)
	must(t, err)
	classes := tw.Logits.Shape[1]
	if _, err := match.Outputs(got, want, classes, 1e-4); err != nil {
		t.Fatalf("generated int8 package vs the compiled graph: %v", err)
	}
	correct, float := Top1(got, tw.Labels), Top1(tw.Logits.F, tw.Labels)
	t.Logf("int8 package: held-out top-1 %d/%d (float %d)", correct, len(tw.Labels), float)
	if float-correct > 3 {
		t.Errorf("int8 package loses more than a point: %d/%d, float %d", correct, len(tw.Labels), float)
	}
}
