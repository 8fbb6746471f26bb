package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/zoo/twins"
)

const twinsDir = "../../zoo/twins"

// TestBuild builds the table without the bench harness on two held-out
// rows per twin: the none rows score what PyTorch's logits score on
// those rows, configurations of passes not implemented yet are pending
// rows, and every architecture named by twin_of gets its row.
func TestBuild(t *testing.T) {
	rs, err := build(twinsDir, options{rows: 2, skipLossyArch: true})
	if err != nil {
		t.Fatal(err)
	}
	names, err := twins.Names(twinsDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	pending, attnRows := 0, 0
	for _, r := range rs {
		seen[r.Twin] = true
		if r.Pending != "" {
			pending++
			if !strings.HasPrefix(r.Pending, "pending: ") || !strings.HasSuffix(r.Pending, " not implemented") {
				t.Errorf("%s %s: pending cell %q", r.Twin, r.Config, r.Pending)
			}
			continue
		}
		if r.Config != "none" {
			switch {
			case r.Rows != 2:
				t.Errorf("%s %s: %d rows scored, want 2", r.Twin, r.Config, r.Rows)
			case r.Passes == "[bn-fold]" && r.Delta != 0:
				// bn-fold is exact: its rows score what the none rows score.
				t.Errorf("%s %s: %d/%d right (Δ %g), want the none row's score", r.Twin, r.Config, r.Correct, r.Rows, r.Delta)
			case strings.Contains(r.Passes, "attention-drop"):
				attnRows++
				if r.ArchParams != 0 {
					t.Errorf("%s %s: skipLossyArch, but the architecture was compiled", r.Twin, r.Config)
				}
			}
			continue
		}
		tw, err := twins.Load(twinsDir, r.Twin)
		if err != nil {
			t.Fatal(err)
		}
		want := twins.Top1(tw.Logits.F[:2*tw.Logits.Shape[1]], tw.Labels[:2])
		if r.Rows != 2 || r.Correct != want || r.Delta != 0 {
			t.Errorf("%s none: %d/%d right (Δ %g), PyTorch's logits %d/2", r.Twin, r.Correct, r.Rows, r.Delta, want)
		}
		if r.TwinParams < 1000 || r.ArchParams < r.TwinParams {
			t.Errorf("%s none: %d twin params, %s %d params", r.Twin, r.TwinParams, r.Arch, r.ArchParams)
		}
	}
	for _, n := range names {
		if !seen[n] {
			t.Errorf("no rows for twin %s", n)
		}
	}
	if pending == 0 {
		t.Errorf("no pending rows: the twins name kronecker configurations")
	}
	if attnRows == 0 {
		t.Errorf("no attention-drop rows")
	}
	var sb strings.Builder
	writeTable(&sb, rs, false, 1)
	for _, want := range []string{"| resmlp-bn | bn-fold | `[bn-fold]` | 100.00% (2/2) | +0.00 |",
		"| vit | none | `{exclude_passes: [bn-fold]}` |", "| gpt-mini |",
		"| phm-mlp | kronecker-0.05 | `[{kronecker: {max_rel_error: 0.05, n: 4}}]` | pending: kronecker not implemented |",
		"| resmlp-bn | int8 | `[bn-fold, {quantize: {bits: [8], max_metric_drop: 0.01, scheme: fixed-point}}]` | 100.00% (2/2) | +0.00 |"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, sb.String())
		}
	}
}

// TestPendingPasses: a planned pass is pending, an unknown one an error
// at its position.
func TestPendingPasses(t *testing.T) {
	cfg := frontend.Configuration{Name: "x", Passes: []frontend.PassSpec{{Name: "bn-fold", Line: 3, Col: 4}, {Name: "kronecker", Line: 3, Col: 9}, {Name: "quantize", Line: 3, Col: 20}}}
	p, err := pendingPasses("m.yaml", cfg)
	if err != nil || strings.Join(p, ",") != "kronecker" {
		t.Errorf("pending %v, %v; want kronecker", p, err)
	}
	cfg.Passes = []frontend.PassSpec{{Name: "bn-fold-typo", Line: 3, Col: 4}}
	if _, err := pendingPasses("m.yaml", cfg); err == nil || !strings.Contains(err.Error(), "m.yaml:3:4: unknown pass") {
		t.Errorf("unknown pass: got %v", err)
	}
	if p, err := pendingPasses("m.yaml", frontend.Configuration{Name: "none"}); err != nil || p != nil {
		t.Errorf("none: %v, %v", p, err)
	}
}

// TestArchYAML: the architecture with a configuration's passes loads,
// names them, and has no accuracy budget (its weights are random).
func TestArchYAML(t *testing.T) {
	cfg := archConfig(frontend.Configuration{Name: "int8", Passes: []frontend.PassSpec{
		{Name: "bn-fold"},
		{Name: "quantize", Options: map[string]any{"scheme": "fixed-point", "bits": []any{int64(8)}, "max_metric_drop": 0.01}},
	}, ExcludePasses: []frontend.PassSpec{{Name: "bn-fold"}}}, &compile.Result{})
	y, files, err := archYAML("resnet20", cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files["model.yaml"] = y
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := frontend.Load(filepath.Join(dir, "model.yaml"), frontend.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if len(m.Passes) != 2 || m.Passes[1].Name != "quantize" || m.Passes[1].Options["max_metric_drop"] != nil || m.Passes[1].Options["scheme"] != "fixed-point" {
		t.Errorf("passes %+v", m.Passes)
	}
	if len(m.ExcludePasses) != 1 || m.ExcludePasses[0].Name != "bn-fold" {
		t.Errorf("exclude_passes %+v", m.ExcludePasses)
	}
	if _, _, err := m.TestData(); err != nil {
		t.Errorf("the architecture's test vectors did not come along: %v", err)
	}
}

// TestArchConfig: a budget is left out on the architecture; an
// attention-drop with only a budget drops as many regions as it dropped
// on the twin, or is left out when it dropped none.
func TestArchConfig(t *testing.T) {
	budget := frontend.Configuration{Name: "b", Passes: []frontend.PassSpec{
		{Name: "bn-fold"},
		{Name: "attention-drop", Options: map[string]any{"max_metric_drop": 0.01, "strict": true, "target": "mlp"}},
	}}
	twin := &compile.Result{Log: []passes.Entry{{Pass: "bn-fold"}, {Pass: "attention-drop", Stats: passes.Stats{"dropped": 2}}}}
	got := archConfig(budget, twin)
	if l := passList(got.Passes); l != "[bn-fold, {attention-drop: {drop: 2, target: mlp}}]" {
		t.Errorf("got %s", l)
	}
	if l := passList(budget.Passes); l != "[bn-fold, {attention-drop: {max_metric_drop: 0.01, strict: true, target: mlp}}]" {
		t.Errorf("the twin's configuration changed: %s", l)
	}
	twin.Log[1].Stats = passes.Stats{}
	if l := passList(archConfig(budget, twin).Passes); l != "[bn-fold]" {
		t.Errorf("nothing dropped on the twin: got %s", l)
	}
	k := frontend.Configuration{Passes: []frontend.PassSpec{{Name: "attention-drop", Options: map[string]any{"drop": int64(3), "max_metric_drop": 0.01}}}}
	if l := passList(archConfig(k, twin).Passes); l != "[{attention-drop: {drop: 3}}]" {
		t.Errorf("got %s", l)
	}
}

// TestParseBench reads modelc's medians from a bench table.
func TestParseBench(t *testing.T) {
	out := `### mlp

| engine | batch | threads | median | p90 | runs |
| --- | --- | --- | --- | --- | --- |
| modelc 0.1.0-dev (generated, vnni kernels) | 1 | 1 | 1.833 ms | 2.5 ms | 10 |
| torch 1.13 | 1 | 1 | 9.759 ms | 10 ms | 10 |
| modelc 0.1.0-dev (generated, vnni kernels) | 32 | 1 | 8.824 ms | 9 ms | 10 |
`
	m, err := parseBench(out)
	if err != nil || m[1] != "1.833 ms" || m[32] != "8.824 ms" {
		t.Errorf("got %v, %v", m, err)
	}
	if _, err := parseBench(strings.ReplaceAll(out, "| 32 |", "| 16 |")); err == nil {
		t.Errorf("a table without batch 32 parsed")
	}
}
