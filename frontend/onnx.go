package frontend

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/modelc/modelc/frontend/onnx"
	"github.com/modelc/modelc/ir"
)

// loadONNX imports the ONNX file rel (named relative to the model's
// directory). External data files resolve relative to the ONNX file and
// go through the same path policy as every file a model names.
func (s *source) loadONNX(rel, name string) (*ir.Graph, error) {
	data, err := s.ReadFile(rel)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	dir := path.Dir(filepath.ToSlash(rel))
	read := map[string][]byte{} // each external file read once, however many initializers it holds
	g, err := onnx.Load(data, onnx.Options{
		Name: name,
		Bind: s.bind,
		External: func(loc string) ([]byte, error) {
			if path.IsAbs(filepath.ToSlash(loc)) || filepath.IsAbs(loc) {
				return nil, fmt.Errorf("%s: an absolute path; external data must be named relative to the model", loc)
			}
			p := path.Join(dir, filepath.ToSlash(loc))
			if data, ok := read[p]; ok {
				return data, nil
			}
			data, err := s.ReadFile(p)
			if err == nil {
				read[p] = data
			}
			return data, err
		},
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// loadONNXModel is Load for a .onnx file: the graph and its weights come
// from the file; there are no passes, targets or test vectors (write a
// model.yaml with source: {onnx: FILE} for those).
func loadONNXModel(src *source, base string) (*Model, error) {
	name := strings.TrimSuffix(base, path.Ext(base))
	if name == "model" && src.os {
		// DIR/model.onnx (an export's usual name) is named after DIR.
		if abs, err := filepath.Abs(src.display); err == nil {
			if dir := filepath.Base(filepath.Dir(abs)); dir != "" && dir != "." && dir != string(filepath.Separator) {
				name = dir
			}
		}
	}
	g, err := src.loadONNX(base, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.display, err)
	}
	return &Model{Name: name, Package: GoPackageName(name), File: src.display, Graph: g, src: src}, nil
}

// withBind returns s with more bound inputs (model.yaml's win over the
// caller's for the same name).
func (s *source) withBind(more map[string]*ir.Tensor) *source {
	c := *s
	c.bind = map[string]*ir.Tensor{}
	for k, v := range s.bind {
		c.bind[k] = v
	}
	for k, v := range more {
		c.bind[k] = v
	}
	return &c
}

// bindings reads source: {bind: {NAME: number or [numbers], ...}}: the
// values of ONNX graph inputs fixed at build time, converted by the
// importer to each input's declared type.
func (d *decoder) bindings(o *obj) map[string]*ir.Tensor {
	out := map[string]*ir.Tensor{}
	for _, k := range o.n.keys {
		n := o.get(k)
		items := []*node{n}
		scalar := n.kind != seqNode
		if !scalar {
			items = n.items
		}
		ints := make([]int64, len(items))
		floats := make([]float32, len(items))
		integral := true
		for i, it := range items {
			switch v := it.value.(type) {
			case int64:
				ints[i], floats[i] = v, float32(v)
			case float64:
				floats[i], integral = float32(v), false
			default:
				o.fail(it, "%s: want a number or a list of numbers, got %s", k, it.describe())
			}
		}
		t := &ir.Tensor{DType: ir.F32, F: floats}
		if integral {
			t = &ir.Tensor{DType: ir.I64, I: ints}
		}
		if !scalar {
			t.Shape = []int{len(items)}
		}
		out[k] = t
	}
	return out
}
