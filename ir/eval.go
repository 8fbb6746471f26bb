package ir

import (
	"fmt"
	"runtime"
	"sync"
)

// The reference evaluator: the oracle every pass and kernel is checked
// against, itself checked op by op against PyTorch (testdata/torch). It
// stores f32 and accumulates in float64; physical layouts are ignored.

// EvalOptions configures Eval.
type EvalOptions struct {
	// Threads bounds the goroutines a kernel uses; 0 means GOMAXPROCS.
	Threads int
	// Observe, if set, is called after each node with its results (for
	// calibration statistics). It must not keep or modify the tensors.
	Observe func(n *Node, outs []*Tensor)
}

// Eval runs g on inputs given in g.Inputs order, with default options.
func Eval(g *Graph, inputs ...*Tensor) ([]*Tensor, error) {
	return EvalOptions{}.Eval(g, inputs...)
}

type evalCtx struct {
	threads int
	// inTypes are the current node's input types: the evaluator's
	// tensors carry no quantized format, which the quantized ops read.
	inTypes []Type
}

// evalFunc computes a node's results; out holds the result types with
// concrete shapes (the batch resolved).
type evalFunc func(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error)

// Eval runs g on inputs given in g.Inputs order.
func (o EvalOptions) Eval(g *Graph, inputs ...*Tensor) ([]*Tensor, error) {
	if len(inputs) != len(g.Inputs) {
		return nil, fmt.Errorf("graph %s takes %d inputs, got %d", g.Name, len(g.Inputs), len(inputs))
	}
	batch, err := bindBatch(g.Inputs, inputs)
	if err != nil {
		return nil, err
	}
	c := &evalCtx{threads: o.Threads}
	if c.threads <= 0 {
		c.threads = runtime.GOMAXPROCS(0)
	}
	env := map[*Value]*Tensor{}
	for i, v := range g.Inputs {
		env[v] = inputs[i]
	}
	for _, v := range g.Consts {
		if v.Const == nil || (v.Const.F == nil && v.Const.I == nil) {
			return nil, fmt.Errorf("constant %%%s has no data (elided)", quoteName(v.Name))
		}
		env[v] = v.Const.Dense()
	}
	// Free intermediates after their last use, so big batches fit.
	lastUse := map[*Value]int{}
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			lastUse[in] = i
		}
	}
	for _, v := range g.Outputs {
		lastUse[v] = len(g.Nodes)
	}
	for i, n := range g.Nodes {
		in := make([]*Tensor, len(n.Inputs))
		for j, v := range n.Inputs {
			in[j] = env[v]
			if in[j] == nil {
				return nil, fmt.Errorf("node %s: input %%%s has no value", nodeLabel(n), quoteName(v.Name))
			}
		}
		outTypes := make([]Type, len(n.Outputs))
		for j, v := range n.Outputs {
			outTypes[j] = v.Type
			outTypes[j].Shape = StaticShape(v.Type.Shape.At(batch)...)
		}
		c.inTypes = c.inTypes[:0]
		for _, v := range n.Inputs {
			c.inTypes = append(c.inTypes, v.Type)
		}
		fn := evalTable[n.Op.Kind()]
		if fn == nil {
			return nil, fmt.Errorf("node %s: the evaluator has no %s", nodeLabel(n), n.Op.Kind())
		}
		outs, err := fn(c, n.Op, in, outTypes)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", nodeLabel(n), err)
		}
		for j, v := range n.Outputs {
			if dt := v.Type.DType; dt == F16 || dt == BF16 {
				roundTensor(outs[j], dt) // f16 and bf16 keep only their own precision
			}
			env[v] = outs[j]
		}
		if o.Observe != nil {
			o.Observe(n, outs)
		}
		for _, v := range n.Inputs {
			if lastUse[v] == i && v.Def != nil {
				delete(env, v)
			}
		}
	}
	res := make([]*Tensor, len(g.Outputs))
	for i, v := range g.Outputs {
		res[i] = env[v].Dense()
	}
	return res, nil
}

func nodeLabel(n *Node) string {
	if n.Name != "" {
		return fmt.Sprintf("%s @%s", n.Op.Kind(), quoteName(n.Name))
	}
	return fmt.Sprintf("%s %%%s", n.Op.Kind(), quoteName(n.Outputs[0].Name))
}

// CheckInputs checks inputs against g's input types as Eval does (count,
// dtype, rank, every static dimension, one batch N ≥ 1 across all of
// them, data length) and returns the batch. Engines other than the
// evaluator call it so that they refuse exactly what Eval refuses.
func CheckInputs(g *Graph, inputs []*Tensor) (int, error) {
	if len(inputs) != len(g.Inputs) {
		return 0, fmt.Errorf("graph %s takes %d inputs, got %d", g.Name, len(g.Inputs), len(inputs))
	}
	return bindBatch(g.Inputs, inputs)
}

// bindBatch checks inputs against their types and returns the batch N.
func bindBatch(vs []*Value, ts []*Tensor) (int, error) {
	batch := -1
	for i, v := range vs {
		t := ts[i]
		if t == nil {
			return 0, fmt.Errorf("input %s is nil", v.Name)
		}
		if t.DType != v.Type.DType {
			return 0, fmt.Errorf("input %s: dtype %s, want %s", v.Name, t.DType, v.Type.DType)
		}
		if len(t.Shape) != v.Type.Shape.Rank() {
			return 0, fmt.Errorf("input %s: shape %v, want %s", v.Name, t.Shape, v.Type.Shape)
		}
		for j, d := range v.Type.Shape {
			if d.Static() {
				if t.Shape[j] != d.B {
					return 0, fmt.Errorf("input %s: shape %v, want %s", v.Name, t.Shape, v.Type.Shape)
				}
				continue
			}
			n := t.Shape[j] - d.B
			if n%d.A != 0 || n/d.A < 1 || (batch >= 0 && n/d.A != batch) {
				return 0, fmt.Errorf("input %s: shape %v does not fit %s with one batch size N ≥ 1", v.Name, t.Shape, v.Type.Shape)
			}
			batch = n / d.A
		}
		if want := numel(t.Shape); t.Splat || (t.DType.IsFloat() && len(t.F) != want) || (!t.DType.IsFloat() && len(t.I) != want) {
			return 0, fmt.Errorf("input %s: data length does not match shape %v", v.Name, t.Shape)
		}
	}
	if batch < 0 {
		batch = 1
	}
	return batch, nil
}

// parallelFor runs fn over [0, n) in up to threads contiguous chunks.
func parallelFor(threads, n int, fn func(lo, hi int)) {
	if threads > n {
		threads = n
	}
	if threads <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + threads - 1) / threads
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+chunk, n))
	}
	wg.Wait()
}

// strides returns row-major strides for shape.
func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// bstrides returns the strides to read a tensor of shape `from` broadcast
// to `to` (0 on broadcast dimensions).
func bstrides(from, to []int) []int {
	s := make([]int, len(to))
	fs := strides(from)
	off := len(to) - len(from)
	for i := range from {
		if from[i] != 1 || to[off+i] == 1 {
			s[off+i] = fs[i]
		}
	}
	return s
}

// forIndex calls fn for every multi-index of shape in row-major order with
// the linear offsets of len(st) operands whose strides are st.
func forIndex(shape []int, st [][]int, fn func(out int, offs []int)) {
	n := numel(shape)
	if n == 0 {
		return
	}
	r := len(shape)
	idx := make([]int, r)
	offs := make([]int, len(st))
	for o := 0; o < n; o++ {
		fn(o, offs)
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			for k := range st {
				offs[k] += st[k][d]
			}
			if idx[d] < shape[d] {
				break
			}
			for k := range st {
				offs[k] -= st[k][d] * shape[d]
			}
			idx[d] = 0
		}
	}
}

// roundTensor rounds t's values to what dt can hold, in place.
func roundTensor(t *Tensor, dt DType) {
	for i, v := range t.F {
		t.F[i] = float32(roundStorage(float64(v), dt))
	}
}
