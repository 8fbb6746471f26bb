package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/frontend/tensorio"
	"github.com/modelc/modelc/ir"
)

// modelc runs the CLI in-process and returns what it printed.
func modelc(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	err := dispatch(args, &buf)
	return buf.String(), err
}

func requireUsageError(t *testing.T, err error, msg string) {
	t.Helper()
	require.Error(t, err)
	var ue usageError
	require.True(t, errors.As(err, &ue), "want a usage error (exit 2), got %T: %v", err, err)
	require.Contains(t, err.Error(), msg)
}

// tinyModel has two inputs and two outputs, so that inputs and outputs
// are matched by name and not by position.
const tinyModel = `name: tiny
inputs:
  - {name: x, shape: [N, 4]}
  - {name: ids, shape: [N, 2], dtype: i64}
init: {seed: 5}
outputs: [logits, emb]
graph:
  - linear: {name: fc, in: x, features: 5, out: logits}
  - embedding: {name: tok, in: ids, vocab: 5, dim: 2, out: emb}
`

func writeTiny(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(file, []byte(tinyModel), 0o644))
	return dir, file
}

func TestRunZooFlagOrder(t *testing.T) {
	for _, args := range [][]string{
		{"run", "zoo:resnet20", "--engine", "reference"},
		{"run", "--engine", "reference", "zoo:resnet20"},
		{"run", "-engine=reference", "zoo:resnet20"},
		{"run", "zoo:resnet20"},
		{"run", "--", "zoo:resnet20"},
		{"run", "--engine", "reference", "--", "zoo:resnet20"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, err := modelc(t, args...)
			require.NoError(t, err)
			require.Contains(t, out, "logits f32[2 10]: [")
			require.Contains(t, out, "matches test vectors")
			require.Contains(t, out, "reference engine: ")
		})
	}
}

func TestArgErrors(t *testing.T) {
	_, tiny := writeTiny(t)
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown command", []string{"frob"}, `unknown command "frob"`},
		{"unknown flag", []string{"run", "zoo:resnet20", "--fast"}, "flag provided but not defined: -fast"},
		{"flag without value", []string{"run", "zoo:resnet20", "--engine"}, "flag needs an argument: -engine"},
		{"flags after -- are positional", []string{"run", "zoo:resnet20", "--", "--engine", "reference"}, "usage: modelc run MODEL"},
		{"no model", []string{"inspect"}, "usage: modelc inspect MODEL"},
		{"two models", []string{"inspect", "zoo:mlp", "zoo:resnet20"}, "usage: modelc inspect MODEL"},
		{"unknown engine", []string{"run", tiny, "--engine", "jit"}, "--engine jit: want reference or generated"},
		{"bad --input", []string{"run", tiny, "--input", tiny}, "--input " + tiny + ": want NAME=FILE.npy, FILE.npz, or FILE.npy for a model with one input"},
		{"zoo export without -o", []string{"zoo", "export", "mlp"}, "zoo export: give -o DIR"},
		{"zoo unknown subcommand", []string{"zoo", "frob"}, "usage: modelc zoo list"},
		{"zoo list with an argument", []string{"zoo", "list", "mlp"}, "usage: modelc zoo list"},
		{"--passes naming a pass twice", []string{"inspect", "zoo:resnet20", "--passes", "bn-fold,bn-fold"}, "--passes names bn-fold twice"},
		{"--exclude-passes naming a pass twice", []string{"inspect", "zoo:resnet20", "--exclude-passes", "bn-fold,bn-fold"}, "--exclude-passes names bn-fold twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := modelc(t, tc.args...)
			requireUsageError(t, err, tc.msg)
		})
	}

	// An unknown command also prints the commands.
	_, err := modelc(t, "frob")
	require.ErrorContains(t, err, "Commands:")

	// Errors that are not about the command line (exit 1).
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"not a model file", []string{"inspect", "m.txt"}, "m.txt: MODEL must be a .yaml or .onnx file or zoo:NAME"},
		{"missing onnx file", []string{"inspect", filepath.Join(t.TempDir(), "m.onnx")}, "m.onnx: no such file or directory"},
		{"unknown zoo model", []string{"inspect", "zoo:nope"}, `no model "nope" (have gpt-mini, mlp, resnet20, vit-tiny)`},
		{"missing file", []string{"inspect", filepath.Join(t.TempDir(), "none.yaml")}, "no such file or directory"},
		{"zoo export of an unknown model", []string{"zoo", "export", "nope", "-o", filepath.Join(t.TempDir(), "x")}, `no model "nope"`},
		{"run without test vectors", []string{"run", tiny}, "no test: vectors (give --input or --batch)"},
		{"--passes with an unknown pass", []string{"inspect", "zoo:mlp", "--passes", "fold-all"}, `--passes: unknown pass "fold-all"`},
		{"--exclude-passes with an unknown pass", []string{"inspect", "zoo:mlp", "--exclude-passes", "fold-all"}, `--exclude-passes: exclude_passes: unknown pass "fold-all" (default passes: bn-fold)`},
		{"--exclude-passes with a pass that is not a default", []string{"build", "zoo:mlp", "--exclude-passes", "dce"}, "--exclude-passes: exclude_passes: dce is not a default pass"},
		{"--target without a back end", []string{"build", "zoo:mlp", "--target", "cuda", "-o", filepath.Join(t.TempDir(), "x")}, "--target: cuda has no back end yet"},
		{"--target unknown", []string{"build", "zoo:mlp", "--target", "riscv", "-o", filepath.Join(t.TempDir(), "x")}, `--target: unknown target "riscv"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := modelc(t, tc.args...)
			require.ErrorContains(t, err, tc.msg)
			var ue usageError
			require.False(t, errors.As(err, &ue), "%v should not be a usage error", err)
		})
	}
}

// TestDoubleDash: after --, an argument that starts with - is a MODEL.
func TestDoubleDash(t *testing.T) {
	dir, _ := writeTiny(t)
	require.NoError(t, os.Rename(filepath.Join(dir, "m.yaml"), filepath.Join(dir, "-m.yaml")))
	t.Chdir(dir)
	out, err := modelc(t, "inspect", "--", "-m.yaml")
	require.NoError(t, err)
	require.Contains(t, out, "graph tiny {")
	out, err = modelc(t, "run", "--batch", "1", "--", "-m.yaml")
	require.NoError(t, err)
	require.Contains(t, out, "logits f32[1 5]")

	_, err = modelc(t, "inspect", "-m.yaml")
	requireUsageError(t, err, "flag provided but not defined: -m.yaml")
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"-h"}, {"--help"}, {"help"}} {
		out, err := modelc(t, args...)
		require.NoError(t, err)
		require.Contains(t, out, "Commands:")
		for _, c := range []string{"inspect", "build", "run", "zoo"} {
			require.Contains(t, out, "  "+c+" ")
		}
	}
	tests := []struct {
		args  []string
		usage string
		flags []string
	}{
		{[]string{"inspect", "-h"}, "usage: modelc inspect MODEL", []string{"-data", "-frontend", "-print-after", "-allow-external-paths"}},
		{[]string{"build", "-h"}, "usage: modelc build MODEL", []string{"-o", "-force", "-allow-external-paths"}},
		{[]string{"inspect", "zoo:mlp", "-h"}, "usage: modelc inspect MODEL", []string{"-data"}},
		{[]string{"run", "-h"}, "usage: modelc run MODEL", []string{"-input", "-out", "-engine", "-batch", "-allow-external-paths"}},
		{[]string{"run", "--help"}, "usage: modelc run MODEL", []string{"-engine"}},
		{[]string{"zoo", "-h"}, "usage: modelc zoo list |", []string{"-o"}},
		{[]string{"zoo", "--help"}, "usage: modelc zoo list |", []string{"-o"}},
		{[]string{"zoo"}, "usage: modelc zoo list", []string{"-o"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := modelc(t, tc.args...)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(out, tc.usage), "got:\n%s", out)
			for _, f := range tc.flags {
				require.Contains(t, out, "  "+f)
			}
		})
	}
}

func TestInspect(t *testing.T) {
	out, err := modelc(t, "inspect", "zoo:mlp")
	require.NoError(t, err)
	for _, want := range []string{
		"graph mlp {\n",
		"  input %x: f32[N,3072]\n",
		"  const %embed.weight: f32[512,3072] = dense<elided>\n",
		"  const %blocks.5.fc2.bias: f32[512]",
		"  %logits = linear @head (",
		"  output %logits\n}\n",
		"// passes:",
	} {
		require.Contains(t, out, want)
	}
	// The printed IR is the IR: it parses back.
	text, _, ok := strings.Cut(out, "\n}\n")
	require.True(t, ok)
	g, err := ir.Parse("mlp.ir", []byte(text+"\n}\n"))
	require.NoError(t, err)
	// embed, 6 × (fc1, fc2) weight and bias, head; bn-fold (by default)
	// moved the layernorms' scale and shift into fc1 and the head.
	require.Len(t, g.Consts, 2+6*4+2)

	// --frontend prints the frontend's IR alone.
	out, err = modelc(t, "inspect", "--frontend", "zoo:resnet20")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "graph resnet20 {\n  input %image: f32[N,3,32,32]\n"), out[:100])
	require.True(t, strings.HasSuffix(out, "  output %logits\n}\n"))
	require.Contains(t, out, "const %layers.3.bn1.running_var: f32[32] = dense<elided>")
	_, err = ir.Parse("resnet20.ir", []byte(out))
	require.NoError(t, err)

	// --data prints every element; by default big constants are elided.
	_, tiny := writeTiny(t)
	out, err = modelc(t, "inspect", tiny, "--frontend")
	require.NoError(t, err)
	require.Contains(t, out, "const %fc.weight: f32[5,4] = dense<elided>")
	require.Contains(t, out, "const %fc.bias: f32[5] = dense<[")
	out, err = modelc(t, "inspect", tiny, "--data", "--frontend")
	require.NoError(t, err)
	require.Contains(t, out, "const %fc.weight: f32[5,4] = dense<[")
	require.NotContains(t, out, "elided")
}

func TestZooList(t *testing.T) {
	out, err := modelc(t, "zoo", "list")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	for i, name := range []string{"gpt-mini", "mlp", "resnet20", "vit-tiny"} {
		require.True(t, strings.HasPrefix(lines[i], name+" "), lines[i])
		require.Contains(t, lines[i], "M params")
	}
	require.Contains(t, out, "tokens: i64[N,128]")
	require.Contains(t, out, "image: f32[N,3,32,32]")
}

func TestZooExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	out, err := modelc(t, "zoo", "export", "mlp", "-o", dir)
	require.NoError(t, err)
	require.Contains(t, out, "exported mlp to "+dir)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"model.yaml", "weights.safetensors", "inputs.npy", "outputs.npy"}, names)

	// The weights bind to the exported YAML by name, and evaluating the
	// inputs reproduces the outputs.
	yaml, err := os.ReadFile(filepath.Join(dir, "model.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.yaml"),
		[]byte(strings.Replace(string(yaml), "init: {seed: 1}", "weights: weights.safetensors", 1)), 0o644))
	m, err := frontend.Load(filepath.Join(dir, "model.yaml"), frontend.Options{})
	require.NoError(t, err)
	in, err := tensorio.ReadNpy(filepath.Join(dir, "inputs.npy"))
	require.NoError(t, err)
	want, err := tensorio.ReadNpy(filepath.Join(dir, "outputs.npy"))
	require.NoError(t, err)
	require.Equal(t, []int{2, 3072}, in.Shape)
	require.Equal(t, []int{2, 10}, want.Shape)
	x, err := frontend.ToTensor(in)
	require.NoError(t, err)
	got, err := ir.Eval(m.Graph, x)
	require.NoError(t, err)
	wantF, err := want.Float32()
	require.NoError(t, err)
	require.Equal(t, wantF, got[0].F)

	// A second export into the same, now non-empty, directory is refused.
	_, err = modelc(t, "zoo", "export", "-o", dir, "mlp")
	require.ErrorContains(t, err, dir+" is not empty")

	// So is one into any non-empty directory; nothing is written there.
	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, "keep.txt"), []byte("x"), 0o644))
	_, err = modelc(t, "zoo", "export", "resnet20", "-o", other)
	require.ErrorContains(t, err, "is not empty")
	entries, err = os.ReadDir(other)
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

func TestRunInputsRoundTrip(t *testing.T) {
	dir, model := writeTiny(t)
	x := tensorio.FromFloat32("x", []int{2, 4}, []float32{1, -2, 3, 0.5, 0, 1, -1, 2})
	ids := tensorio.FromInt64("ids", []int{2, 2}, []int64{0, 4, 3, 1})
	xFile, idsFile := filepath.Join(dir, "x.npy"), filepath.Join(dir, "ids.npy")
	require.NoError(t, tensorio.WriteNpy(xFile, x))
	require.NoError(t, tensorio.WriteNpy(idsFile, ids))
	npz := filepath.Join(dir, "in.npz")
	require.NoError(t, tensorio.WriteNpz(npz, []tensorio.Array{x, ids}))

	// The expected outputs, from the library.
	m, err := frontend.Load(model, frontend.Options{})
	require.NoError(t, err)
	xt, err := frontend.ToTensor(x)
	require.NoError(t, err)
	idt, err := frontend.ToTensor(ids)
	require.NoError(t, err)
	want, err := ir.Eval(m.Graph, xt, idt)
	require.NoError(t, err)

	check := func(t *testing.T, outFile, printed string) {
		t.Helper()
		require.Contains(t, printed, "logits f32[2 5]: [")
		require.Contains(t, printed, "emb f32[2 2 2]: [")
		got, err := tensorio.ReadNpz(outFile)
		require.NoError(t, err)
		require.Len(t, got, 2)
		byName := map[string]tensorio.Array{}
		for _, a := range got {
			byName[a.Name] = a
		}
		for i, name := range []string{"logits", "emb"} {
			a, ok := byName[name]
			require.True(t, ok, "no %s in %s", name, outFile)
			require.Equal(t, tensorio.F32, a.DType)
			require.Equal(t, want[i].Shape, a.Shape)
			f, err := a.Float32()
			require.NoError(t, err)
			require.Equal(t, want[i].F, f, name)
		}
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"npy per input, flags after MODEL", []string{"run", model, "--input", "x=" + xFile, "--input", "ids=" + idsFile, "--out", "OUT"}},
		{"npy per input, flags first", []string{"run", "--out", "OUT", "--input", "ids=" + idsFile, "--input=x=" + xFile, model}},
		{"one npz", []string{"run", model, "--input", npz, "--out", "OUT", "--engine", "reference"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outFile := filepath.Join(t.TempDir(), "o.npz")
			for i, a := range tc.args {
				if a == "OUT" {
					tc.args[i] = outFile
				}
			}
			printed, err := modelc(t, tc.args...)
			require.NoError(t, err)
			check(t, outFile, printed)
		})
	}

	// Input errors name the input.
	_, err = modelc(t, "run", model, "--input", "x="+xFile)
	require.ErrorContains(t, err, `no data for input "ids" i64[N,2]`)
	_, err = modelc(t, "run", model, "--input", npz, "--input", "extra="+xFile)
	require.ErrorContains(t, err, `the model has no input named "extra"`)
	_, err = modelc(t, "run", model, "--input", "x="+filepath.Join(dir, "none.npy"), "--input", "ids="+idsFile)
	require.ErrorContains(t, err, "no such file or directory")

	// --batch runs on seeded random inputs.
	printed, err := modelc(t, "run", model, "--batch", "3")
	require.NoError(t, err)
	require.Contains(t, printed, "logits f32[3 5]: [")
	require.NotContains(t, printed, "matches test vectors")
}

// TestAllowExternalPaths: the flag reaches the loader.
func TestAllowExternalPaths(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "m")
	require.NoError(t, os.Mkdir(dir, 0o755))
	model := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(model, []byte(`name: ext
inputs: [{name: x, shape: [N, 2]}]
weights: ../w.safetensors
graph: [{linear: {name: fc, features: 1, bias: false}}]
`), 0o644))
	require.NoError(t, tensorio.WriteSafetensors(filepath.Join(base, "w.safetensors"),
		[]tensorio.Array{tensorio.FromFloat32("fc.weight", []int{1, 2}, []float32{2, 3})}, nil))

	_, err := modelc(t, "inspect", model)
	require.ErrorContains(t, err, model+":3:10: weights: ../w.safetensors resolves to")
	require.ErrorContains(t, err, "--allow-external-paths")
	out, err := modelc(t, "inspect", model, "--allow-external-paths")
	require.NoError(t, err)
	require.Contains(t, out, "const %fc.weight: f32[1,2] = dense<[2, 3]>")
}

// TestPassesFlag: bn-fold runs by default and leaves resnet20 without
// batchnorm (inspect says it ran by default); --exclude-passes turns it
// off; --passes naming it runs it as named; the reference engine runs
// the compiled graph, which still matches the test vectors.
func TestPassesFlag(t *testing.T) {
	out, err := modelc(t, "inspect", "zoo:resnet20")
	require.NoError(t, err)
	require.NotContains(t, out, "batchnorm")
	require.Contains(t, out, `act="relu", residual=true`)
	require.Regexp(t, `//   bn-fold \(default\) +nodes-removed 19, rule-a 19\n`, out)
	require.Contains(t, out, "// default passes: bn-fold ran (exclude with exclude_passes: in model.yaml or --exclude-passes)")
	out, err = modelc(t, "inspect", "zoo:resnet20", "--exclude-passes", "bn-fold")
	require.NoError(t, err)
	require.Contains(t, out, "batchnorm")
	require.NotContains(t, out, "//   bn-fold")
	require.Contains(t, out, "// default passes: none ran; bn-fold excluded")
	out, err = modelc(t, "inspect", "zoo:resnet20", "--passes", "bn-fold")
	require.NoError(t, err)
	require.Regexp(t, `//   bn-fold +nodes-removed 19, rule-a 19\n`, out)
	out, err = modelc(t, "run", "zoo:resnet20", "--engine", "reference")
	require.NoError(t, err, out)
	require.Contains(t, out, "matches test vectors")
	out, err = modelc(t, "run", "zoo:resnet20", "--exclude-passes", "bn-fold", "--engine", "reference")
	require.NoError(t, err, out)
	require.Contains(t, out, "matches test vectors")
}

// exclude_passes: in model.yaml turns a default pass off, and a name
// that is not a default pass is an error at its line and column.
func TestExcludePassesYAML(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.yaml")
	yaml := "name: m\ninputs: [{name: x, shape: [N, 4]}]\ninit: {seed: 1}\nexclude_passes: [bn-fold]\ngraph:\n  - linear: {name: fc, features: 4}\n  - batchnorm: {name: bn}\n"
	require.NoError(t, os.WriteFile(model, []byte(yaml), 0o644))
	out, err := modelc(t, "inspect", model)
	require.NoError(t, err)
	require.Contains(t, out, "batchnorm @bn")
	require.Contains(t, out, "// default passes: none ran; bn-fold excluded")
	_, err = modelc(t, "inspect", model, "--exclude-passes", "bn-fold")
	requireUsageError(t, err, "--exclude-passes bn-fold: "+model+":4:18 already excludes it")
	require.NoError(t, os.WriteFile(model, []byte(strings.Replace(yaml, "[bn-fold]", "[bn-fold, bnfold]", 1)), 0o644))
	_, err = modelc(t, "build", model, "-o", filepath.Join(dir, "out"))
	require.ErrorContains(t, err, model+`:4:27: exclude_passes: unknown pass "bnfold" (default passes: bn-fold)`)
	require.NoDirExists(t, filepath.Join(dir, "out"))
}
