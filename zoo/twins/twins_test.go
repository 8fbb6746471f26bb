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
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/zoo"
)

// The twins' PyTorch references are checked by design.md's rule for model
// outputs (rtol 1e-4, argmax equal outside near-ties): the reference
// evaluator on two held-out rows here, the generated package on every
// held-out row in TestTwinPackages.

func loadAll(t *testing.T) []*Twin {
	t.Helper()
	names, err := Names(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 6 {
		t.Fatalf("found twins %v, want the six of zoo/train/train.py", names)
	}
	var tws []*Twin
	for _, n := range names {
		tw, err := Load(".", n)
		if err != nil {
			t.Fatal(err)
		}
		tws = append(tws, tw)
	}
	return tws
}

// TestTwins checks each twin's files against each other and the reference
// evaluator against PyTorch on the first two held-out rows.
func TestTwins(t *testing.T) {
	zooNames := zoo.Names()
	for _, tw := range loadAll(t) {
		t.Run(tw.Name, func(t *testing.T) {
			m, acc := tw.Model, tw.Accuracy
			// accuracy.json is PyTorch's logits scored against the labels.
			rows := len(tw.Labels)
			if got := Top1(tw.Logits.F, tw.Labels); got != acc.TestCorrect {
				t.Errorf("PyTorch's logits get %d/%d right, accuracy.json says %d", got, rows, acc.TestCorrect)
			}
			if want := float64(acc.TestCorrect) / float64(rows); math.Abs(acc.TestTop1-want) > 1e-6 {
				t.Errorf("accuracy.json: test_top1 %g, want %d/%d", acc.TestTop1, acc.TestCorrect, rows)
			}
			if acc.TestTop1 < 0.9 {
				t.Errorf("float top-1 %.4f: a twin should be a useful model (≥ 0.9)", acc.TestTop1)
			}
			if rows != acc.Split.Test || rows < 300 {
				t.Errorf("%d held-out rows, split says %d", rows, acc.Split.Test)
			}
			// Calibration data: labelled, and as many labels as inputs.
			cx, cy, err := tw.Calibration()
			if err != nil {
				t.Fatal(err)
			}
			if cx.Shape[0] != len(cy) || len(cy) != acc.Split.Calibration || m.Calibration.Metric != "top1" {
				t.Errorf("calibration: %d inputs, %d labels, split %d, metric %q", cx.Shape[0], len(cy), acc.Split.Calibration, m.Calibration.Metric)
			}
			// twin_of names zoo architectures; the table's first row is none.
			if len(m.TwinOf) == 0 {
				t.Errorf("model.yaml: twin_of: is missing")
			}
			if strings.Join(m.TwinOf, ",") != strings.Join(acc.TwinOf, ",") {
				t.Errorf("model.yaml: twin_of %v, accuracy.json (train.py) %v", m.TwinOf, acc.TwinOf)
			}
			for _, a := range m.TwinOf {
				if !contains(zooNames, a) {
					t.Errorf("twin_of: %q is not a zoo model (have %v)", a, zooNames)
				}
			}
			if len(m.Configurations) == 0 || m.Configurations[0].Name != "none" || len(m.Configurations[0].Passes) != 0 {
				t.Errorf("configurations: want none: [] first, got %+v", m.Configurations)
			}
			if acc.LayerNormShare != nil && *acc.LayerNormShare != 0 {
				t.Errorf("LayerNorm share %g at the end of training, want 0 (pure RepBN)", *acc.LayerNormShare)
			}

			// The reference evaluator at batch 2 (kept small: it is the
			// float64-accumulating oracle).
			got, err := ir.Eval(m.Graph, Rows(tw.X, 0, 2))
			if err != nil {
				t.Fatal(err)
			}
			classes := tw.Logits.Shape[1]
			r, err := match.Outputs(got[0].F, tw.Logits.F[:2*classes], classes, 1e-4)
			if err != nil {
				t.Fatalf("evaluator vs PyTorch: %v", err)
			}
			t.Logf("evaluator vs PyTorch, rows 0-1: max error %.3g of the tolerance", r.MaxErr)

			// The ONNX export imports and matches too.
			om, err := frontend.Load(filepath.Join(tw.Name, "model.onnx"), frontend.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err = ir.Eval(om.Graph, Rows(tw.X, 0, 2))
			if err != nil {
				t.Fatal(err)
			}
			if r, err = match.Outputs(got[0].F, tw.Logits.F[:2*classes], classes, 1e-4); err != nil {
				t.Fatalf("model.onnx (evaluator) vs PyTorch: %v", err)
			}
			checkFactors(t, m, om)
		})
	}
}

// checkFactors: where a twin keeps PHM/PHC layers factored (phm_linear,
// phc_conv2d), each layer's Σᵢ Aᵢ ⊗ Fᵢ is a weight of its ONNX export,
// which holds them materialised (by the kernel rule); the kronecker pass
// recovers the factors from those.
func checkFactors(t *testing.T, m, om *frontend.Model) {
	// The export computes the larger weights from A and F in the graph:
	// const-fold them (bn-fold excluded, so the weights stay as exported).
	p, err := passes.Build(nil, passes.Spec{Name: "bn-fold"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(om.Graph.Clone(), passes.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	layers := 0
	for _, n := range m.Graph.Nodes {
		if _, ok := ir.KronOf(n); !ok {
			continue
		}
		w64 := ir.KronSum(n.Inputs[1].Const, n.Inputs[2].Const)
		w := make([]float32, len(w64))
		for i, v := range w64 {
			w[i] = float32(v)
		}
		found := ""
		for _, c := range res.Graph.Consts {
			if c.Const.Numel() == len(w) && !c.Const.Splat && match.Kernel(c.Const.F, w) == nil {
				found = c.Name
			}
		}
		if found == "" {
			t.Errorf("%s: Σ A_i ⊗ F_i is no weight of model.onnx", n.Name)
		}
		layers++
	}
	if layers > 0 {
		t.Logf("%d PHM/PHC layers: Σ A_i ⊗ F_i is model.onnx's weight", layers)
	}
	if strings.HasPrefix(m.Name, "ph") && layers == 0 {
		t.Errorf("%s keeps no PHM/PHC layer factored", m.Name)
	}
}

// twinRowsTest is written into each generated package: it runs every
// held-out row through Predict, 32 rows a call, and writes the logits.
const twinRowsTest = `package %s

import (
	"encoding/binary"
	"math"
	"os"
	"testing"
)

func TestTwinRows(t *testing.T) {
	data, err := os.ReadFile("testdata/twin_x.f32")
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, len(data)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	const rows = %d
	row := len(x) / rows
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for lo := 0; lo < rows; lo += 32 {
		hi := min(lo+32, rows)
		if out, err = m.Predict(out, x[lo*row:hi*row]); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 0, 4*len(out))
	for _, v := range out {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	if err := os.WriteFile("testdata/twin_logits.f32", buf, 0o644); err != nil {
		t.Fatal(err)
	}
}
`

// TestTwinPackages compiles every twin into a generated package (default
// pipeline), whose own TestVectors checks model.yaml's test vectors (the
// first 32 held-out rows) against PyTorch's logits, and runs all held-out rows through it: the
// logits match PyTorch's by design.md's rule and the top-1 accuracy is
// accuracy.json's (a near-tie row may flip; it is listed). A twin with
// phm_linear layers is built twice: as the cost rule runs it (its small
// layers materialised) and with every layer on the factored kernels.
func TestTwinPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles seven generated packages")
	}
	tws := loadAll(t)
	mod := harness.TempModule(t, "twins")
	// Each twin's package, and for a twin with phm_linear layers a second
	// one running every one of them factored (exec: factored) where the
	// cost rule materialises these small layers.
	type build struct {
		name string
		tw   *Twin
		m    *frontend.Model
	}
	var builds []build
	for _, tw := range tws {
		builds = append(builds, build{tw.Name, tw, tw.Model})
		fm := *tw.Model
		fm.Graph = tw.Model.Graph.Clone()
		factored := 0
		for _, n := range fm.Graph.Nodes {
			if o, ok := n.Op.(*ir.PHMLinear); ok {
				o.Exec = ir.ExecFactored
				factored++
			}
		}
		if factored > 0 {
			fm.Package += "factored"
			builds = append(builds, build{tw.Name + "-factored", tw, &fm})
		}
	}
	for _, b := range builds {
		m, tw := b.m, b.tw
		// model.yaml's test vectors (the first 32 held-out rows), as
		// modelc build embeds them.
		res, err := compile.Compile(m, compile.Options{Command: "modelc build model.yaml -o .", Version: "test", TestVectors: true})
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		mod.MustAdd(t, b.name, res.Files)
		dir := mod.PkgDir(b.name)
		must(t, os.WriteFile(filepath.Join(dir, "twin_test.go"), fmt.Appendf(nil, twinRowsTest, m.Package, tw.X.Shape[0]), 0o644))
		must(t, os.MkdirAll(filepath.Join(dir, "testdata"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "testdata", "twin_x.f32"), f32Bytes(tw.X.F), 0o644))
	}
	// One go test for all: the packages build in parallel.
	out, err := mod.Go(nil, "test", "-count=1", "-v", "-run", "TestVectors|TestTwinRows", "./...")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range builds {
		tw := b.tw
		t.Run(b.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(mod.PkgDir(b.name), "testdata", "twin_logits.f32"))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got := make([]float32, len(data)/4)
			for i := range got {
				got[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
			}
			classes := tw.Logits.Shape[1]
			r, err := match.Outputs(got, tw.Logits.F, classes, 1e-4)
			if err != nil {
				t.Fatalf("generated package vs PyTorch on %d rows: %v", len(tw.Labels), err)
			}
			correct := Top1(got, tw.Labels)
			flips := 0
			for _, row := range r.NearTies {
				if Argmax(got[row*classes:(row+1)*classes]) != Argmax(tw.Logits.F[row*classes:(row+1)*classes]) {
					flips++
				}
			}
			if d := correct - tw.Accuracy.TestCorrect; d > flips || -d > flips {
				t.Errorf("generated package: %d/%d right, PyTorch %d (near-tie flips %d)", correct, len(tw.Labels), tw.Accuracy.TestCorrect, flips)
			}
			t.Logf("generated package vs PyTorch, %d rows: max error %.3g of the tolerance (max |a-b| %.3g), near-ties %v; top-1 %d/%d = %.4f (PyTorch %.4f)",
				len(tw.Labels), r.MaxErr, maxAbsDiff(got, tw.Logits.F), r.NearTies, correct, len(tw.Labels), float64(correct)/float64(len(tw.Labels)), tw.Accuracy.TestTop1)
		})
	}
	if !strings.Contains(string(out), "--- PASS: TestVectors") {
		t.Errorf("no generated TestVectors ran:\n%s", out)
	}
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
