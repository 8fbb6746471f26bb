package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/frontend/onnx"
	"github.com/modelc/modelc/frontend/tensorio"
	"github.com/modelc/modelc/internal/onnxdata"
)

// conformanceTest copies an ONNX conformance test's model into a folder
// and its inputs and outputs to .npy files named after the graph's
// runtime inputs.
func conformanceTest(t *testing.T, name string, inputs ...string) (dir string, ins, outs []string) {
	t.Helper()
	fsys, err := onnxdata.FS()
	require.NoError(t, err)
	dir = t.TempDir()
	model, err := fs.ReadFile(fsys, "node/"+name+"/model.onnx")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.onnx"), model, 0o644))
	for _, kind := range []string{"input", "output"} {
		for i := 0; ; i++ {
			data, err := fs.ReadFile(fsys, filepath.Join("node", name, "test_data_set_0", kind+"_"+string(rune('0'+i))+".pb"))
			if err != nil {
				break
			}
			tt, err := onnx.DecodeTensor(data)
			require.NoError(t, err)
			file := filepath.Join(dir, kind+string(rune('0'+i))+".npy")
			require.NoError(t, tensorio.WriteNpy(file, frontend.FromTensor("", tt)))
			if kind == "input" {
				ins = append(ins, file)
			} else {
				outs = append(outs, file)
			}
		}
	}
	return dir, ins, outs
}

func readNpz(t *testing.T, file string) map[string][]float32 {
	t.Helper()
	arrays, err := tensorio.ReadNpz(file)
	require.NoError(t, err)
	out := map[string][]float32{}
	for _, a := range arrays {
		f, err := a.Float32()
		require.NoError(t, err)
		out[a.Name] = f
	}
	return out
}

func readNpy(t *testing.T, file string) []float32 {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	ts, err := frontend.DecodeTensors(file, data)
	require.NoError(t, err)
	return ts[0].F
}

// TestRunBindsShapeInputs: an ONNX input that gives a shape is bound at
// build time with --bind (numbers or an .npy file) or model.yaml's
// source: {bind:}; unbound, the error names it and says how to bind it.
func TestRunBindsShapeInputs(t *testing.T) {
	dir, ins, outs := conformanceTest(t, "test_reshape_reordered_all_dims")
	model := filepath.Join(dir, "model.onnx")
	want := readNpy(t, outs[0])

	_, err := modelc(t, "run", model, "--input", "data="+ins[0])
	require.ErrorContains(t, err, `graph input "shape"`)
	require.ErrorContains(t, err, "--bind shape=")

	for _, bind := range []string{"shape=4,2,3", "shape=" + ins[1]} {
		out := filepath.Join(t.TempDir(), "o.npz")
		_, err = modelc(t, "run", model, "--bind", bind, "--input", "data="+ins[0], "--out", out)
		require.NoError(t, err, bind)
		require.Equal(t, want, readNpz(t, out)["reshaped"], bind)
	}

	yaml := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(yaml, []byte("name: m\nsource: {onnx: model.onnx, bind: {shape: [4, 2, 3]}}\n"), 0o644))
	out := filepath.Join(t.TempDir(), "o.npz")
	_, err = modelc(t, "run", yaml, "--input", "data="+ins[0], "--out", out)
	require.NoError(t, err)
	require.Equal(t, want, readNpz(t, out)["reshaped"])

	require.NoError(t, os.WriteFile(yaml, []byte("name: m\nsource: {onnx: model.onnx, bind: {shape: [4, two, 3]}}\n"), 0o644))
	_, err = modelc(t, "run", yaml)
	require.ErrorContains(t, err, "m.yaml:2:")
	require.ErrorContains(t, err, "want a number")

	_, err = modelc(t, "run", model, "--bind", "shape=4,x,3")
	requireUsageError(t, err, `"x" is not a number`)
}

// TestRunOutWritesOutputsThatAreInputs: Identity's output, which is its
// input, is in --out under its own name.
func TestRunOutWritesOutputsThatAreInputs(t *testing.T) {
	dir, ins, outs := conformanceTest(t, "test_identity")
	out := filepath.Join(t.TempDir(), "o.npz")
	printed, err := modelc(t, "run", filepath.Join(dir, "model.onnx"), "--input", "x="+ins[0], "--out", out)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(printed, "y f32["), printed)
	require.Equal(t, readNpy(t, outs[0]), readNpz(t, out)["y"])
}
