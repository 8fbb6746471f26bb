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
	"github.com/modelc/modelc/internal/qemu"
	"github.com/modelc/modelc/passes"
)

// TestQuantizedPackage compiles the repvgg twin with quantize (int8,
// fixed point: integer convolutions whose epilogues requantize into the
// next one's format) into a generated package: its own TestVectors
// (for a lossy build, the compiled graph's outputs on model.yaml's test
// rows, at every tier of the dispatch matrix) pass, and on every
// held-out row its logits match the compiled graph's (ir.Eval) by
// design.md's rule and score what they score.
func TestQuantizedPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	quantizedPackage(t, "repvgg", "qconv2d", `act="relu", to=i8`)
}

// TestQuantizedLinearPackage is TestQuantizedPackage on the resmlp-bn
// twin: integer linear layers, which run on the integer GEMM kernels
// (isa.QGemm: VNNI, AVX2, the pure-Go twin; on arm64 under qemu, SDOT
// and SMULL/SADALP).
func TestQuantizedLinearPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	mod := quantizedPackage(t, "resmlp-bn", "qlinear", "qlinear @blocks.0.fc2")
	// The other tiers' integer GEMMs: AVX2's (VNNI off), the pure-Go
	// twin's (AVX2 off, and the purego tag). The vectors are the
	// compiled graph's, so each must match ir.Eval.
	for _, c := range []struct{ env, tags string }{{"GODEBUG=cpu.avx512vnni=off", ""}, {"GODEBUG=cpu.avx2=off", ""}, {"", "purego"}} {
		args := []string{"test", "-count=1", "-run", "TestVectors", "-tags=" + c.tags, "./..."}
		var env []string
		if c.env != "" {
			env = append(env, c.env)
		}
		if out, err := mod.Go(env, args...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	// The arm64 integer GEMMs under qemu: SDOT on the core with the dot
	// product, SMULL/SADALP on the Cortex-A53.
	t.Run("arm64", func(t *testing.T) {
		emulator := qemu.Path(t)
		asm, err := os.ReadFile(filepath.Join(mod.PkgDir("resmlp-bn"), "kernels_arm64.s"))
		must(t, err)
		if !strings.Contains(string(asm), "qgemm_dotprod_") || !strings.Contains(string(asm), "qgemm_neon_") {
			t.Fatal("the package has no arm64 integer GEMM kernels")
		}
		for _, e := range qemu.ARM64 {
			out, err := mod.Go(e.Env(), "test", "-count=1", "-v", "-exec", emulator, "-run", "TestVectors|TestTier", "./...")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(string(out), "--- PASS: TestVectors") || !strings.Contains(string(out), "kernels run at tier "+e.Want) {
				t.Fatalf("QEMU_CPU=%s: TestVectors did not pass at tier %s:\n%s", e.CPU, e.Want, out)
			}
		}
	})
}

// quantizedPackage builds twin with quantize, checks op (with epi) is in
// its compiled graph, runs its tests and returns the module holding it.
func quantizedPackage(t *testing.T, twin, op, epi string) *harness.Module {
	tw, err := Load(".", twin)
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
	if !strings.Contains(res.Graph.String(), op) || !strings.Contains(res.Graph.String(), epi) {
		t.Fatalf("no requantizing %s in the compiled graph:\n%s", op, res.Graph)
	}
	mod := harness.TempModule(t, "qtwin")
	mod.MustAdd(t, twin, res.Files)
	dir := mod.PkgDir(twin)
	must(t, os.WriteFile(filepath.Join(dir, "twin_test.go"), fmt.Appendf(nil, twinRowsTest, tw.Model.Package, tw.X.Shape[0]), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "testdata"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "testdata", "twin_x.f32"), f32Bytes(tw.X.F), 0o644))
	out, err := mod.Go(nil, "test", "-count=1", "-v", "-run", "TestVectors|TestTier|TestTwinRows", "./...")
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
	return mod
}
