// Package twins reads the zoo's accuracy twins: small models trained on
// real data (scikit-learn's digits, by ../train/train.py), each the twin
// of a zoo architecture, so that a lossy pass is reported as speed on the
// architecture plus the accuracy change of the same configuration on its
// twin (docs/zoo-table.md, make zoo-table).
//
// A twin is a folder NAME/ holding model.yaml (twin_of: the zoo
// architectures; configurations: the named pass lists of the table),
// weights.safetensors, model.onnx, the held-out set (heldout_x.npy,
// heldout_labels.npy and PyTorch's heldout_logits.npy; its first 32 rows
// are model.yaml's test vectors, test_x.npy, test_logits.npy and
// test_labels.npy),
// calibration data and accuracy.json (PyTorch's float top-1 on the
// held-out set).
package twins

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
)

// Dir is the twins' folder relative to the module root.
const Dir = "zoo/twins"

// Names lists the twins under dir (folders with a model.yaml), sorted.
func Names(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "model.yaml")); e.IsDir() && err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Accuracy is accuracy.json: how PyTorch's float model did on the
// held-out set, and how it was trained.
type Accuracy struct {
	Model       string   `json:"model"`
	TwinOf      []string `json:"twin_of"`
	TestCorrect int      `json:"test_correct"`
	TestTop1    float64  `json:"test_top1"`
	CalibTop1   float64  `json:"calibration_top1"`
	Split       struct {
		Seed, Test, Calibration, Train int
	} `json:"split"`
	Epochs int `json:"epochs"`
	// LayerNormShare is the progressive norm's LayerNorm share λ at the
	// end of training (vit-repbn only; 0 means pure RepBN).
	LayerNormShare *float64 `json:"layernorm_share_at_end"`
}

// Twin is one loaded twin.
type Twin struct {
	Name     string
	Model    *frontend.Model
	Accuracy Accuracy
	X        *ir.Tensor // held-out inputs, all rows
	Logits   *ir.Tensor // PyTorch's logits on X
	Labels   []int64
}

// Load reads twin name from dir: its model.yaml, accuracy.json and the
// held-out set (heldout_x.npy, heldout_labels.npy, heldout_logits.npy),
// whose first rows must be model.yaml's test vectors.
func Load(dir, name string) (*Twin, error) {
	m, err := frontend.Load(filepath.Join(dir, name, "model.yaml"), frontend.Options{})
	if err != nil {
		return nil, err
	}
	tw := &Twin{Name: name, Model: m}
	data, err := m.ReadFile("accuracy.json")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := json.Unmarshal(data, &tw.Accuracy); err != nil {
		return nil, fmt.Errorf("%s: accuracy.json: %w", name, err)
	}
	read := func(file string) (*ir.Tensor, error) {
		ts, err := m.ReadTensors(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return ts[0], nil
	}
	if tw.X, err = read("heldout_x.npy"); err != nil {
		return nil, err
	}
	if tw.Logits, err = read("heldout_logits.npy"); err != nil {
		return nil, err
	}
	labels, err := read("heldout_labels.npy")
	if err != nil {
		return nil, err
	}
	tw.Labels = labels.I
	if rows := tw.X.Shape[0]; len(tw.Labels) != rows || tw.Logits.Shape[0] != rows {
		return nil, fmt.Errorf("%s: %d held-out inputs, %d labels, %d logit rows", name, rows, len(tw.Labels), tw.Logits.Shape[0])
	}
	ins, outs, err := m.TestData()
	if err != nil {
		return nil, err
	}
	if !prefix(ins[0].F, tw.X.F) || !prefix(outs[0].F, tw.Logits.F) {
		return nil, fmt.Errorf("%s: model.yaml's test vectors are not the first rows of the held-out set", name)
	}
	if l := m.Test.Labels; len(l) == 1 {
		tl, err := read(l[0])
		if err != nil {
			return nil, err
		}
		if len(tl.I) != ins[0].Shape[0] || len(tl.I) > len(tw.Labels) || !slices.Equal(tl.I, tw.Labels[:len(tl.I)]) {
			return nil, fmt.Errorf("%s: model.yaml's test labels are not the held-out labels of its test rows", name)
		}
	}
	return tw, nil
}

func prefix(a, b []float32) bool {
	if len(a) == 0 || len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Calibration reads the twin's calibration inputs and labels.
func (tw *Twin) Calibration() (*ir.Tensor, []int64, error) {
	c := tw.Model.Calibration
	if c == nil {
		return nil, nil, fmt.Errorf("%s: no calibration:", tw.Model.File)
	}
	x, err := tw.Model.ReadTensors(c.Inputs[0])
	if err != nil {
		return nil, nil, err
	}
	y, err := tw.Model.ReadTensors(c.Labels[0])
	if err != nil {
		return nil, nil, err
	}
	return x[0], y[0].I, nil
}

// Rows returns rows [lo, hi) of a batch-major tensor (a view).
func Rows(t *ir.Tensor, lo, hi int) *ir.Tensor {
	row := t.Numel() / t.Shape[0]
	shape := append([]int{hi - lo}, t.Shape[1:]...)
	return &ir.Tensor{DType: t.DType, Shape: shape, F: t.F[lo*row : hi*row]}
}

// Top1 counts the rows of logits (rows of classes) whose argmax is the
// label.
func Top1(logits []float32, labels []int64) int {
	classes := len(logits) / len(labels)
	correct := 0
	for r, y := range labels {
		if int64(Argmax(logits[r*classes:(r+1)*classes])) == y {
			correct++
		}
	}
	return correct
}

// Argmax is the index of the largest value (the first on ties).
func Argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// Eval runs g with the reference evaluator on x in chunks of at most
// batch rows and returns the concatenated first output.
func Eval(g *ir.Graph, x *ir.Tensor, batch int) ([]float32, error) {
	var out []float32
	for lo := 0; lo < x.Shape[0]; lo += batch {
		hi := min(lo+batch, x.Shape[0])
		got, err := ir.Eval(g, Rows(x, lo, hi))
		if err != nil {
			return nil, err
		}
		out = append(out, got[0].F...)
	}
	return out, nil
}
