package frontend

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"path"
	"sort"
	"strings"

	"github.com/modelc/modelc/frontend/tensorio"
	"github.com/modelc/modelc/internal/limits"
	"github.com/modelc/modelc/ir"
)

// Weight binding. Parameters bind by name: a layer's tensors are
// <prefix>.{weight,bias,running_mean,running_var}, the prefix being the
// layer's name or params:, so a PyTorch state_dict saved as safetensors
// binds as exported. Missing, extra and mis-shaped tensors are errors that
// name the tensor, both shapes and the layer's line.

// bindFile binds every parameter to a tensor of a safetensors file. The
// tensors' names and shapes are matched against the parameters from the
// file's header, before its data is read.
func (l *lowering) bindFile(src *source, file string, at *node) {
	if !strings.HasSuffix(file, ".safetensors") {
		l.d.failAt(at, "weights: want a .safetensors file, got %q", file)
	}
	arrays, err := src.readSafetensors(file, func(arrays []tensorio.Array) { l.matchWeights(arrays, file, at) })
	if err != nil {
		if strings.HasPrefix(err.Error(), file+": ") {
			l.d.failAt(at, "weights %v", err) // the file's contents
		}
		l.d.failAt(at, "weights: %v", err)
	}
	byName := map[string]tensorio.Array{}
	for _, a := range arrays {
		byName[a.Name] = a
	}
	for _, p := range l.params {
		a := byName[p.name]
		f, err := a.Float32()
		if err != nil {
			l.d.failAt(p.at, "tensor %q in %s: %v", p.name, file, err)
		}
		if err := exactInF32(a, f); err != nil {
			l.d.failAt(p.at, "tensor %q in %s: %v", p.name, file, err)
		}
		p.value.Const.F = f
	}
}

// matchWeights checks a weights file's tensors against the parameters:
// every parameter present with its shape, no tensor left over.
func (l *lowering) matchWeights(arrays []tensorio.Array, file string, at *node) {
	byName := map[string]tensorio.Array{}
	for _, a := range arrays {
		byName[a.Name] = a
	}
	for _, p := range l.params {
		a, ok := byName[p.name]
		if !ok {
			l.d.failAt(p.at, "tensor %q %s is missing from %s", p.name, ir.StaticShape(p.shape...), file)
		}
		delete(byName, p.name)
		if got, want := ir.StaticShape(a.Shape...), ir.StaticShape(p.shape...); !got.Equal(want) {
			l.d.failAt(p.at, "tensor %q has shape %s in %s, this layer needs %s", p.name, got, file, want)
		}
	}
	var extra []string
	for name := range byName {
		// BatchNorm's step counter has no effect at inference.
		if !strings.HasSuffix(name, ".num_batches_tracked") {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		noun := "tensors"
		if len(extra) == 1 {
			noun = "tensor"
		}
		l.d.failAt(at, "%s has %d %s no layer uses: %s", file, len(extra), noun, strings.Join(extra, ", "))
	}
}

// exactInF32 refuses an integer tensor bound to float32 weights when a
// value does not survive the conversion (|v| > 2²⁴ and not a multiple of
// the float32 spacing there): the weights would silently differ from the
// file's.
func exactInF32(a tensorio.Array, f []float32) error {
	switch a.DType {
	case tensorio.F32, tensorio.F16, tensorio.BF16, tensorio.F64:
		return nil
	}
	ints, err := a.Int64()
	if err != nil {
		return err
	}
	for i, v := range ints {
		x := float64(f[i]) // exact: a float32 is a float64
		if x >= 1<<63 || x < -(1<<63) || int64(x) != v {
			return fmt.Errorf("%s value %d at element %d is not exact as a float32 weight (it would become %.0f); convert the tensor to F32 where it was made", a.DType, v, i, f[i])
		}
	}
	return nil
}

// bindSeed generates every parameter from the seed with PyTorch's default
// initialisers. Each tensor has its own stream, keyed by its name, so
// adding a layer does not change the others' weights.
func (l *lowering) bindSeed(seed uint64) {
	for _, p := range l.params {
		h := fnv.New64a()
		h.Write([]byte(p.name))
		r := rand.New(rand.NewPCG(seed, h.Sum64()))
		f := make([]float32, numel(p.shape))
		for i := range f {
			switch p.init {
			case initUniformFanIn:
				b := 1 / math.Sqrt(float64(max(p.fanIn, 1)))
				f[i] = float32((2*r.Float64() - 1) * b)
			case initOnes:
				f[i] = 1
			case initZeros:
			case initNormal:
				f[i] = float32(r.NormFloat64() * p.std)
			case initBNMean:
				f[i] = float32(r.NormFloat64() * 0.1)
			case initBNVar:
				f[i] = float32(0.5 + r.Float64())
			}
		}
		p.value.Const.F = f
	}
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Weights returns the model's parameters as arrays (state_dict names),
// for writing a safetensors file.
func (m *Model) Weights() []tensorio.Array {
	var out []tensorio.Array
	for _, v := range m.Graph.Consts {
		out = append(out, FromTensor(v.Name, v.Const))
	}
	return out
}

// ToTensor converts a file array to an evaluator tensor.
func ToTensor(a tensorio.Array) (*ir.Tensor, error) {
	switch a.DType {
	case tensorio.F32, tensorio.F16, tensorio.BF16, tensorio.F64:
		f, err := a.Float32()
		return &ir.Tensor{DType: ir.F32, Shape: a.Shape, F: f}, err
	}
	i, err := a.Int64()
	if err != nil {
		return nil, err
	}
	dt := map[tensorio.DType]ir.DType{tensorio.I64: ir.I64, tensorio.I32: ir.I32, tensorio.I16: ir.I16, tensorio.I8: ir.I8, tensorio.U8: ir.U8, tensorio.Bool: ir.Bool}[a.DType]
	if dt == ir.Invalid {
		return nil, fmt.Errorf("unsupported dtype %s", a.DType)
	}
	return &ir.Tensor{DType: dt, Shape: a.Shape, I: i}, nil
}

// FromTensor converts an evaluator tensor to a file array (f32 or i64).
func FromTensor(name string, t *ir.Tensor) tensorio.Array {
	t = t.Dense()
	if t.DType.IsFloat() {
		return tensorio.FromFloat32(name, t.Shape, t.F)
	}
	return tensorio.FromInt64(name, t.Shape, t.I)
}

// ReadTensors reads the arrays of a .npy or .npz file named relative to
// the model, in file order (.npy) or name order (.npz), holding at most
// limits.DataBytes once inflated.
func (m *Model) ReadTensors(rel string) ([]*ir.Tensor, error) {
	return m.readTensors(rel, limits.DataBytes)
}

func (m *Model) readTensors(rel string, limit int64) ([]*ir.Tensor, error) {
	arrays, err := m.src.readArrays(rel, limit)
	if err != nil {
		return nil, err
	}
	return toTensors(rel, arrays)
}

// readSafetensors reads a weights file named relative to the model: its
// header checked (and handed to check) before its data is read, the data
// at most limits.ConstBytes.
func (s *source) readSafetensors(rel string, check func([]tensorio.Array)) ([]tensorio.Array, error) {
	if !s.os {
		data, err := s.ReadFile(rel)
		if err != nil {
			return nil, err
		}
		arrays, _, err := tensorio.DecodeSafetensors(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		check(arrays)
		return arrays, nil
	}
	f, size, err := s.openFile(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	arrays, _, err := tensorio.ReadSafetensorsAt(f, size, limits.ConstBytes, func(header []tensorio.Array) error {
		check(header)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	return arrays, nil
}

// DecodeTensors decodes .npy or .npz bytes.
func DecodeTensors(name string, data []byte) ([]*ir.Tensor, error) {
	var arrays []tensorio.Array
	switch path.Ext(name) {
	case ".npy":
		a, err := tensorio.DecodeNpy(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		arrays = []tensorio.Array{a}
	case ".npz":
		as, err := tensorio.DecodeNpz(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		arrays = as
	default:
		return nil, fmt.Errorf("%s: want a .npy or .npz file", name)
	}
	return toTensors(name, arrays)
}

func toTensors(name string, arrays []tensorio.Array) ([]*ir.Tensor, error) {
	out := make([]*ir.Tensor, len(arrays))
	for i, a := range arrays {
		t, err := ToTensor(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, a.Name, err)
		}
		out[i] = t
	}
	return out, nil
}

// TestData loads the test: vectors, one tensor per graph input and output.
func (m *Model) TestData() (inputs, outputs []*ir.Tensor, err error) {
	if m.Test == nil {
		return nil, nil, fmt.Errorf("%s: no test: vectors", m.File)
	}
	load := func(files []string) ([]*ir.Tensor, error) {
		var ts []*ir.Tensor
		for _, f := range files {
			// Test vectors end up in the generated package.
			t, err := m.readTensors(f, limits.TestBytes)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: test: %w", m.File, m.Test.Line, err)
			}
			ts = append(ts, t...)
		}
		return ts, nil
	}
	if inputs, err = load(m.Test.Inputs); err != nil {
		return nil, nil, err
	}
	if outputs, err = load(m.Test.Outputs); err != nil {
		return nil, nil, err
	}
	if len(inputs) != len(m.Graph.Inputs) || len(outputs) != len(m.Graph.Outputs) {
		return nil, nil, fmt.Errorf("%s:%d: test: %d inputs and %d outputs, the model has %d and %d", m.File, m.Test.Line, len(inputs), len(outputs), len(m.Graph.Inputs), len(m.Graph.Outputs))
	}
	return inputs, outputs, nil
}
