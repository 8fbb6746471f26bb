package ir

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is a tensor type: element type, logical shape, physical layout and,
// for quantised integers, how they map to reals.
type Type struct {
	DType  DType
	Shape  Shape
	Layout Layout
	Quant  Quant
}

// TensorType builds a plain row-major type.
func TensorType(dt DType, shape Shape) Type { return Type{DType: dt, Shape: shape} }

// Equal reports whether t and u are identical types.
func (t Type) Equal(u Type) bool {
	return t.DType == u.DType && t.Shape.Equal(u.Shape) && t.Layout == u.Layout && t.Quant == u.Quant
}

// Value is an SSA value: a graph input, a constant, or a node's result.
// Exactly one of Def and Const is set for non-inputs.
type Value struct {
	Name  string
	Type  Type
	Def   *Node   // the producing node, nil for inputs and constants
	Const *Tensor // constant data, nil otherwise
}

// IsConst reports whether v holds constant data.
func (v *Value) IsConst() bool { return v.Const != nil }

// Node applies one Op to its inputs. Name is the layer's name from the
// model (e.g. "conv1"), used by passes that target layers and by reports;
// it may be empty for anonymous glue ops.
type Node struct {
	Name    string
	Op      Op
	Inputs  []*Value
	Outputs []*Value
}

// Graph is a model: inputs, constants (weights), nodes in topological order
// and outputs.
type Graph struct {
	Name    string
	Inputs  []*Value
	Consts  []*Value
	Nodes   []*Node
	Outputs []*Value
}

// Tensor is concrete data. Float dtypes are stored in F (f16 and bf16 as
// their f32 values), integer and bool dtypes in I. A splat tensor has one
// element that stands for all of them; splats never reach weights.bin.
type Tensor struct {
	DType DType
	Shape []int
	F     []float32
	I     []int64
	Splat bool
}

// Numel is the number of logical elements.
func (t *Tensor) Numel() int { return numel(t.Shape) }

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// NewTensor allocates a zero tensor.
func NewTensor(dt DType, shape []int) *Tensor {
	t := &Tensor{DType: dt, Shape: append([]int(nil), shape...)}
	if dt.IsFloat() {
		t.F = make([]float32, numel(shape))
	} else {
		t.I = make([]int64, numel(shape))
	}
	return t
}

// Dense returns t with splats expanded.
func (t *Tensor) Dense() *Tensor {
	if !t.Splat {
		return t
	}
	d := NewTensor(t.DType, t.Shape)
	if t.DType.IsFloat() {
		for i := range d.F {
			d.F[i] = t.F[0]
		}
	} else {
		for i := range d.I {
			d.I[i] = t.I[0]
		}
	}
	return d
}

// Float returns element i as float64 whatever the storage.
func (t *Tensor) Float(i int) float64 {
	if t.Splat {
		i = 0
	}
	if t.F != nil {
		return float64(t.F[i])
	}
	if t.DType == U64 {
		return float64(uint64(t.I[i]))
	}
	return float64(t.I[i])
}

// Builder appends values and nodes to a graph, inferring result types from
// the op table so every value it creates is well typed.
type Builder struct {
	G     *Graph
	names map[string]bool
	// next is, per hint, the last suffix Fresh tried: naming k unnamed
	// values with one hint costs O(k), not O(k²).
	next map[string]int
}

// NewBuilder starts an empty graph.
func NewBuilder(name string) *Builder {
	return &Builder{G: &Graph{Name: name}, names: map[string]bool{}, next: map[string]int{}}
}

// BuilderFor continues building an existing graph.
func BuilderFor(g *Graph) *Builder {
	b := &Builder{G: g, names: map[string]bool{}, next: map[string]int{}}
	for _, v := range g.Values() {
		b.names[v.Name] = true
	}
	return b
}

// Fresh returns a value name not yet used in the graph, based on hint.
func (b *Builder) Fresh(hint string) string {
	if hint == "" {
		hint = "t"
	}
	if !b.names[hint] {
		b.names[hint] = true
		return hint
	}
	for i := b.next[hint] + 1; ; i++ {
		n := hint + "." + strconv.Itoa(i)
		if !b.names[n] {
			b.names[n] = true
			b.next[hint] = i
			return n
		}
	}
}

// Rename gives v, a value of b's graph, a new name, in constant time; the
// name must not be in use. The old name stays taken, so Fresh does not
// hand it out again (names stay as they were before Rename was O(1)).
func (b *Builder) Rename(v *Value, name string) error {
	if v.Name == name {
		return nil
	}
	if err := b.claim(name); err != nil {
		return err
	}
	v.Name = name
	return nil
}

func (b *Builder) claim(name string) error {
	if b.names[name] {
		return fmt.Errorf("value %q defined twice", name)
	}
	b.names[name] = true
	return nil
}

// Input adds a graph input.
func (b *Builder) Input(name string, t Type) (*Value, error) {
	if err := b.claim(name); err != nil {
		return nil, err
	}
	v := &Value{Name: name, Type: t}
	b.G.Inputs = append(b.G.Inputs, v)
	return v, nil
}

// Const adds a constant; its type is taken from the tensor.
func (b *Builder) Const(name string, t *Tensor) (*Value, error) {
	if err := b.claim(name); err != nil {
		return nil, err
	}
	v := &Value{Name: name, Type: TensorType(t.DType, StaticShape(t.Shape...)), Const: t}
	b.G.Consts = append(b.G.Consts, v)
	return v, nil
}

// Add appends a node applying op to inputs; outs names its results (empty
// names get fresh ones based on the node name). Result types come from the
// op's shape rule; an error names the node and op.
func (b *Builder) Add(name string, op Op, inputs []*Value, outs ...string) (*Node, error) {
	types := make([]Type, len(inputs))
	for i, v := range inputs {
		types[i] = v.Type
	}
	rt, err := Infer(op, types)
	if err != nil {
		return nil, nodeError(name, op, err)
	}
	n := &Node{Name: name, Op: op, Inputs: inputs}
	for i, t := range rt {
		var vn string
		if i < len(outs) && outs[i] != "" {
			vn = outs[i]
			if err := b.claim(vn); err != nil {
				return nil, nodeError(name, op, err)
			}
		} else {
			hint := name
			if hint == "" {
				hint = op.Kind().String()
			}
			vn = b.Fresh(hint)
		}
		n.Outputs = append(n.Outputs, &Value{Name: vn, Type: t, Def: n})
	}
	b.G.Nodes = append(b.G.Nodes, n)
	return n, nil
}

// Add1 is Add for single-result ops, returning the result.
func (b *Builder) Add1(name string, op Op, inputs []*Value, out string) (*Value, error) {
	n, err := b.Add(name, op, inputs, out)
	if err != nil {
		return nil, err
	}
	return n.Outputs[0], nil
}

func nodeError(name string, op Op, err error) error {
	if name == "" {
		return fmt.Errorf("%s: %w", op.Kind(), err)
	}
	return fmt.Errorf("%s %q: %w", op.Kind(), name, err)
}

// Values lists every value of the graph: inputs, constants, node results.
func (g *Graph) Values() []*Value {
	var vs []*Value
	vs = append(vs, g.Inputs...)
	vs = append(vs, g.Consts...)
	for _, n := range g.Nodes {
		vs = append(vs, n.Outputs...)
	}
	return vs
}

// Users maps each value to the nodes that read it.
func (g *Graph) Users() map[*Value][]*Node {
	u := map[*Value][]*Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != nil {
				u[in] = append(u[in], n)
			}
		}
	}
	return u
}

// Lookup finds a value by name.
func (g *Graph) Lookup(name string) *Value {
	for _, v := range g.Values() {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// String prints the graph (see Fprint).
func (g *Graph) String() string {
	var sb strings.Builder
	Fprint(&sb, g)
	return sb.String()
}
