package onnx

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/modelc/modelc/frontend/onnx/onnxpb"
	"github.com/modelc/modelc/internal/limits"
	"github.com/modelc/modelc/ir"
)

// Options configures Import.
type Options struct {
	// Name is the graph's name (default: the ONNX graph's name, or "model").
	Name string
	// External reads initializers' external data files; nil refuses them.
	External ExternalReader
	// Bind gives values to graph inputs, which then become constants: for
	// models that feed a shape, axes or bounds as an input (see
	// NeedsValueError). The graph keeps the other inputs.
	Bind map[string]*ir.Tensor
	// KeepPatterns leaves exporters' decompositions of GELU, LayerNorm
	// and attention as they are instead of replacing them by IR ops.
	KeepPatterns bool
}

// Opset range of the default domain this importer knows. Each op type
// has its own range in the op table.
const (
	MinOpset = 1
	MaxOpset = 28
)

// Load decodes an ONNX model and imports it.
func Load(data []byte, opts Options) (*ir.Graph, error) {
	m, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return Import(m, opts)
}

// val is what the importer knows about one ONNX value: its IR value, its
// data when known at import time (initializers, Constant nodes, folded
// shape math), or, for integer shape math whose elements depend on the
// batch, its elements as affine dims.
type val struct {
	name  string
	v     *ir.Value  // nil until needed, for constants and shape math
	konst *ir.Tensor // known data
	sym   *symTensor // integer data affine in N
}

// symTensor is an integer tensor of rank ≤ 1 known up to N.
type symTensor struct {
	dt     ir.DType
	scalar bool // rank 0 (one element)
	d      []ir.Dim
}

type importer struct {
	b       *ir.Builder
	opset   int
	vals    map[string]*val
	names   map[string]bool // every ONNX value name, so temporaries avoid them
	used    map[string]bool // names some node or graph output reads
	tmps    map[string]bool // names the importer made up
	next    map[string]int  // per hint, the last suffix tmpName tried
	ext     ExternalReader
	symName string // the dim_param that became N
}

// Import converts a decoded ONNX model into an IR graph.
func Import(m *onnxpb.ModelProto, opts Options) (g *ir.Graph, err error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("ONNX model has no graph")
	}
	if f, what, ok := modelOutOfScope(m); ok {
		return nil, outOfScopeError(f, what)
	}
	opset := -1
	for _, o := range m.OpsetImport {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			opset = int(o.GetVersion())
		}
	}
	switch {
	case opset < 0 && len(m.OpsetImport) > 0:
		return nil, unsupported("model of domain %q alone (modelc imports the default ONNX domain)", m.OpsetImport[0].GetDomain())
	case opset < 0:
		return nil, errors.New("ONNX model imports no opset of the default domain")
	case opset < MinOpset || opset > MaxOpset:
		return nil, unsupported("opset %d of the default domain (supported: %d to %d)", opset, MinOpset, MaxOpset)
	}
	gp := m.Graph
	name := opts.Name
	if name == "" {
		name = gp.GetName()
	}
	if name == "" {
		name = "model"
	}
	if len(gp.Node) > limits.Layers {
		return nil, fmt.Errorf("the graph has %d nodes, over the limit of %d (limits.Layers)", len(gp.Node), limits.Layers)
	}
	nodes, err := inlineFunctions(m)
	if err != nil {
		return nil, err
	}
	im := &importer{b: ir.NewBuilder(name), opset: opset, vals: map[string]*val{}, names: map[string]bool{}, tmps: map[string]bool{}, next: map[string]int{}, used: map[string]bool{}, ext: opts.External}
	for _, n := range nodes {
		for _, s := range n.Input {
			im.used[s] = true
		}
		for _, s := range n.Output {
			im.names[s] = true
		}
	}
	for _, o := range gp.Output {
		im.used[o.GetName()] = true
	}
	if len(gp.SparseInitializer) > 0 {
		return nil, unsupported("sparse initializers")
	}
	constBytes := 0
	for _, t := range gp.Initializer {
		if t.GetName() == "" {
			return nil, errors.New("initializer without a name")
		}
		if im.vals[t.GetName()] != nil {
			// Runtimes differ on which one wins; modelc will not guess.
			return nil, fmt.Errorf("initializer %q is given twice", t.GetName())
		}
		// The weights' total is bounded before each one is decoded.
		if n, ok := limits.Elems(int64s(t.Dims), limits.TensorElems); ok {
			if constBytes += 4 * n; constBytes > limits.ConstBytes {
				return nil, fmt.Errorf("initializer %q brings the weights to %s, over the limit of %s (limits.ConstBytes)", t.GetName(), limits.Size(float64(constBytes)), limits.Size(limits.ConstBytes))
			}
		}
		k, err := TensorFromProto(t, opts.External)
		if err != nil {
			return nil, fmt.Errorf("initializer: %w", err)
		}
		im.names[t.GetName()] = true
		im.vals[t.GetName()] = &val{name: t.GetName(), konst: k}
	}
	for _, in := range gp.Input {
		n := in.GetName()
		im.names[n] = true
		if n == "" {
			return nil, errors.New("graph input without a name")
		}
		if im.vals[n] != nil {
			continue // an initializer (IR < 4 lists weights as inputs too)
		}
		if t, ok := opts.Bind[n]; ok {
			t, err := conformBound(in, t)
			if err != nil {
				return nil, fmt.Errorf("bound input %q: %w", n, err)
			}
			im.vals[n] = &val{name: n, konst: t}
			continue
		}
		typ, err := im.valueType(in)
		if err != nil {
			return nil, fmt.Errorf("graph input %q: %w", n, err)
		}
		v, err := im.b.Input(n, typ)
		if err != nil {
			return nil, fmt.Errorf("graph input %q: %w", n, err)
		}
		im.vals[n] = &val{name: n, v: v}
	}
	for i, n := range nodes {
		c := &nodeCtx{im: im, n: n, index: i}
		err := c.run()
		if err == nil {
			err = c.checkSizes()
		}
		if err != nil {
			return nil, &NodeError{Index: i, Name: n.GetName(), OpType: n.GetOpType(), Opset: opset, Err: err}
		}
	}
	if len(gp.Output) == 0 {
		return nil, errors.New("ONNX graph has no outputs")
	}
	for _, o := range gp.Output {
		if o.GetType() != nil && o.GetType().Value != nil && o.GetType().GetTensorType() == nil {
			return nil, fmt.Errorf("graph output %q: %w", o.GetName(), outOfScopeError(famSequence, "a "+typeKind(o.GetType())+" output"))
		}
		vl := im.vals[o.GetName()]
		if vl == nil {
			return nil, fmt.Errorf("graph output %q is not computed by any node", o.GetName())
		}
		v, err := im.materialize(vl)
		if err != nil {
			return nil, fmt.Errorf("graph output %q: %w", o.GetName(), err)
		}
		if err := im.checkDeclared(o, v.Type); err != nil {
			return nil, fmt.Errorf("graph output %q: %w", o.GetName(), err)
		}
		if v.Name != o.GetName() || slices.Contains(im.b.G.Outputs, v) {
			// An output that is an input, a constant, another output or
			// another name for a value (Identity, one-input Sum, inference
			// Dropout) gets a node of its own, so it carries its name.
			// (Named after the output, or output.1 when that is taken.)
			if v, err = im.b.Add1(o.GetName(), &ir.Reshape{Shape: v.Type.Shape.Clone()}, []*ir.Value{v}, ""); err != nil {
				return nil, fmt.Errorf("graph output %q: %w", o.GetName(), err)
			}
		}
		im.b.G.Outputs = append(im.b.G.Outputs, v)
	}
	g = im.b.G
	if !opts.KeepPatterns {
		recognizePatterns(g)
	}
	prune(g)
	if err := ir.Verify(g); err != nil {
		return nil, fmt.Errorf("BUG: the ONNX importer produced an invalid graph: %v", err)
	}
	return g, nil
}

// valueType converts a graph input's declared type. Dimensions given by a
// name (dim_param) or left unknown become N, the batch; a model may use
// one such name only.
func (im *importer) valueType(vi *onnxpb.ValueInfoProto) (ir.Type, error) {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return ir.Type{}, outOfScopeError(famSequence, "a "+typeKind(vi.GetType())+" input")
	}
	dt, err := dtypeFromONNX(tt.GetElemType())
	if err != nil {
		return ir.Type{}, err
	}
	if tt.Shape == nil {
		return ir.Type{}, unsupported("input without a shape (the IR needs the rank and every dimension but the batch)")
	}
	var s ir.Shape
	for i, d := range tt.Shape.Dim {
		switch x := d.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			if x.DimValue < 0 || x.DimValue > maxElements {
				return ir.Type{}, fmt.Errorf("bad dimension %d", x.DimValue)
			}
			s = append(s, ir.D(int(x.DimValue)))
		default:
			p := d.GetDimParam()
			if p == "" {
				p = "?"
			}
			if im.symName != "" && im.symName != p {
				return ir.Type{}, unsupported("second symbolic dimension %q at axis %d (the IR has one, the batch; %q is already N)", p, i, im.symName)
			}
			im.symName = p
			s = append(s, ir.N)
		}
	}
	if _, ok := limits.Elems(s.At(1), limits.TensorElems); !ok {
		return ir.Type{}, fmt.Errorf("shape %s holds more than %d elements per sample (limits.TensorElems)", s, limits.TensorElems)
	}
	return ir.TensorType(dt, s), nil
}

// conformBound converts a value bound to a graph input to the input's
// declared element type and, for a declared scalar, to rank 0 (values
// from the command line or model.yaml come as lists of numbers).
func conformBound(vi *onnxpb.ValueInfoProto, t *ir.Tensor) (*ir.Tensor, error) {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return t, nil
	}
	t = t.Dense()
	if tt.ElemType != nil {
		dt, err := dtypeFromONNX(tt.GetElemType())
		if err != nil {
			return nil, err
		}
		if dt != t.DType {
			c := ir.NewTensor(dt, t.Shape)
			for i := range t.Numel() {
				v := t.Float(i)
				if c.F != nil {
					c.F[i] = float32(v)
				} else {
					if v != math.Trunc(v) {
						return nil, fmt.Errorf("value %g is not an integer, and the input is %s", v, dt)
					}
					c.I[i] = int64(v)
				}
			}
			t = c
		}
	}
	if sh := tt.GetShape(); sh != nil {
		if len(sh.Dim) == 0 && t.Numel() == 1 && len(t.Shape) != 0 {
			t = &ir.Tensor{DType: t.DType, F: t.F, I: t.I}
		}
		if len(sh.Dim) == 1 && len(t.Shape) == 0 {
			t = &ir.Tensor{DType: t.DType, Shape: []int{1}, F: t.F, I: t.I}
		}
		if len(sh.Dim) != len(t.Shape) {
			return nil, fmt.Errorf("shape %v, but the input is declared with rank %d", t.Shape, len(sh.Dim))
		}
		for i, d := range sh.Dim {
			if x, ok := d.Value.(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && x.DimValue != int64(t.Shape[i]) {
				return nil, fmt.Errorf("shape %v, but the input's dimension %d is declared %d", t.Shape, i, x.DimValue)
			}
		}
	}
	return t, nil
}

// typeKind names a TypeProto's kind for errors.
func typeKind(t *onnxpb.TypeProto) string {
	switch {
	case t.GetSequenceType() != nil:
		return "sequence"
	case t.GetOptionalType() != nil:
		return "optional"
	case t.GetMapType() != nil:
		return "map"
	case t.GetSparseTensorType() != nil:
		return "sparse tensor"
	}
	return "non-tensor"
}

// checkDeclared compares a graph output's declared element type and
// static dimensions with what the import computed.
func (im *importer) checkDeclared(vi *onnxpb.ValueInfoProto, got ir.Type) error {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return nil
	}
	if tt.ElemType != nil {
		dt, err := dtypeFromONNX(tt.GetElemType())
		if err != nil {
			return err
		}
		if dt != got.DType {
			return fmt.Errorf("declared element type %s, the import computes %s", dt, got.DType)
		}
	}
	if tt.Shape == nil {
		return nil
	}
	if len(tt.Shape.Dim) != got.Shape.Rank() {
		return fmt.Errorf("declared rank %d, the import computes %s", len(tt.Shape.Dim), got.Shape)
	}
	for i, d := range tt.Shape.Dim {
		if x, ok := d.Value.(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && got.Shape[i].Static() && int64(got.Shape[i].B) != x.DimValue {
			return fmt.Errorf("declared dimension %d is %d, the import computes %s", i, x.DimValue, got.Shape)
		}
	}
	return nil
}

// tmpName returns a fresh IR value name that no ONNX value uses. The
// suffix search resumes where the last one for the same hint stopped, so
// a node with k inputs (a Sum) names its k temporaries in O(k).
func (im *importer) tmpName(hint string) string {
	n := hint
	for i := im.next[hint] + 1; im.names[n] || im.tmps[n]; i++ {
		n = hint + "." + strconv.Itoa(i)
		im.next[hint] = i
	}
	im.tmps[n] = true
	return n
}

// materialize returns vl's IR value, adding a constant for known data.
func (im *importer) materialize(vl *val) (*ir.Value, error) {
	if vl.v != nil {
		return vl.v, nil
	}
	t := vl.konst
	if t == nil && vl.sym != nil {
		ints, ok := vl.sym.ints()
		if !ok {
			return nil, fmt.Errorf("value %q holds shape math that depends on the batch N (%s); it can only feed a shape (Reshape, Expand, …), not be used as data", vl.name, vl.sym)
		}
		t = vl.sym.tensor(ints)
	}
	if t == nil {
		return nil, fmt.Errorf("BUG: value %q has no data", vl.name)
	}
	v, err := im.b.Const(vl.name, t)
	if err != nil { // the name is taken (an alias materialised before)
		if v, err = im.b.Const(im.tmpName(vl.name), t); err != nil {
			return nil, err
		}
	}
	vl.v = v
	return v, nil
}

// prune drops constants that no node or output reads (materialised for
// an op that then did not need them).
func prune(g *ir.Graph) {
	used := map[*ir.Value]bool{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			used[v] = true
		}
	}
	for _, v := range g.Outputs {
		used[v] = true
	}
	g.Consts = slices.DeleteFunc(g.Consts, func(v *ir.Value) bool { return !used[v] })
	// Nodes whose results nobody reads (after pattern rewrites).
	for changed := true; changed; {
		changed = false
		for i := len(g.Nodes) - 1; i >= 0; i-- {
			n := g.Nodes[i]
			live := false
			for _, o := range n.Outputs {
				live = live || used[o]
			}
			if !live {
				g.Nodes = slices.Delete(g.Nodes, i, i+1)
				changed = true
				continue
			}
		}
		if changed {
			used = map[*ir.Value]bool{}
			for _, n := range g.Nodes {
				for _, v := range n.Inputs {
					used[v] = true
				}
			}
			for _, v := range g.Outputs {
				used[v] = true
			}
			g.Consts = slices.DeleteFunc(g.Consts, func(v *ir.Value) bool { return !used[v] })
		}
	}
}

func (s *symTensor) ints() ([]int64, bool) {
	out := make([]int64, len(s.d))
	for i, d := range s.d {
		if !d.Static() {
			return nil, false
		}
		out[i] = int64(d.B)
	}
	return out, true
}

func (s *symTensor) tensor(ints []int64) *ir.Tensor {
	t := &ir.Tensor{DType: s.dt, I: ints}
	if !s.scalar {
		t.Shape = []int{len(ints)}
	}
	return t
}

func (s *symTensor) String() string {
	parts := make([]string, len(s.d))
	for i, d := range s.d {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// nodeCtx is one node being imported: its inputs, attributes and outputs.
type nodeCtx struct {
	im    *importer
	n     *onnxpb.NodeProto
	index int
	read  map[string]bool // attributes an importer looked at
}

func (c *nodeCtx) opset() int { return c.im.opset }

func (c *nodeCtx) run() error {
	n := c.n
	if f, ok := OutOfScope(n.GetDomain(), n.GetOpType()); ok {
		return outOfScopeError(f, "op type "+n.GetOpType())
	}
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return unsupported("domain %q (only the default ONNX domain is supported)", d)
	}
	for i, s := range n.Input {
		if s != "" && c.im.vals[s] == nil {
			return fmt.Errorf("input %d %q is not defined before this node (nodes must be in topological order)", i, s)
		}
	}
	for _, s := range n.Output {
		if s != "" && c.im.vals[s] != nil {
			return fmt.Errorf("output %q is defined twice", s)
		}
	}
	c.read = map[string]bool{}
	seen := map[string]bool{}
	for _, a := range n.Attribute {
		if seen[a.GetName()] {
			return fmt.Errorf("attribute %q given twice", a.GetName())
		}
		seen[a.GetName()] = true
		if a.GetRefAttrName() != "" {
			return unsupported("attribute %q refers to a function attribute", a.GetName())
		}
	}
	op, ok := opTable[n.GetOpType()]
	if !ok {
		return unsupported("op type %s (supported: %s)", n.GetOpType(), strings.Join(supportedOps(), ", "))
	}
	if c.opset() < op.min || c.opset() > op.max {
		return unsupported("%s at opset %d (supported: opsets %d to %d)", n.GetOpType(), c.opset(), op.min, op.max)
	}
	done := false
	if op.fold != nil {
		var err error
		if done, err = op.fold(c); err != nil {
			return err
		}
	}
	if !done {
		known := c.inputsKnown()
		nodes := len(c.im.b.G.Nodes)
		if err := op.fn(c); err != nil {
			return err
		}
		if known {
			if err := c.foldNew(nodes); err != nil {
				return err
			}
		}
	}
	for _, a := range n.Attribute {
		if !c.read[a.GetName()] {
			return unsupported("attribute %q of %s", a.GetName(), n.GetOpType())
		}
	}
	for i, s := range n.Output {
		if s != "" && c.im.vals[s] == nil && c.im.used[s] {
			return unsupported("output %d (%q) of %s", i, s, n.GetOpType())
		}
	}
	return nil
}

// checkSizes bounds what a node produced (limits.TensorElems): a splat
// or folded constant by its logical elements (a ConstantOfShape of
// [100000, 100000] is 10¹⁰ of them, in a few bytes of ONNX), any other
// value per sample. Checked before anything reads or materialises it.
func (c *nodeCtx) checkSizes() error {
	for _, s := range c.n.Output {
		vl := c.im.vals[s]
		if s == "" || vl == nil {
			continue
		}
		var dims []int
		switch {
		case vl.konst != nil:
			dims = vl.konst.Shape
		case vl.v != nil:
			dims = vl.v.Type.Shape.At(1)
		default:
			continue
		}
		if _, ok := limits.Elems(dims, limits.TensorElems); !ok {
			return fmt.Errorf("output %q of shape %v holds more than %d elements (limits.TensorElems)", s, dims, limits.TensorElems)
		}
	}
	return nil
}

func int64s(dims []int64) []int {
	out := make([]int, len(dims))
	for i, d := range dims {
		out[i] = int(max(min(d, math.MaxInt32), -1))
	}
	return out
}

// Inputs.

func (c *nodeCtx) nin() int { return len(c.n.Input) }

// has reports whether optional input i is given.
func (c *nodeCtx) has(i int) bool { return i < len(c.n.Input) && c.n.Input[i] != "" }

func (c *nodeCtx) val(i int) *val {
	if !c.has(i) {
		return nil
	}
	return c.im.vals[c.n.Input[i]]
}

// arity checks the number of inputs (optional trailing ones may be empty).
func (c *nodeCtx) arity(lo, hi int) error {
	if n := len(c.n.Input); n < lo || n > hi {
		if lo == hi {
			return fmt.Errorf("takes %d inputs, got %d", lo, n)
		}
		return fmt.Errorf("takes %d to %d inputs, got %d", lo, hi, n)
	}
	for i := 0; i < lo; i++ {
		if !c.has(i) {
			return fmt.Errorf("input %d is required", i)
		}
	}
	return nil
}

// in returns input i as an IR value.
func (c *nodeCtx) in(i int) (*ir.Value, error) {
	vl := c.val(i)
	if vl == nil {
		return nil, fmt.Errorf("input %d is missing", i)
	}
	return c.im.materialize(vl)
}

// typeOf returns input i's type without materialising it.
func (c *nodeCtx) typeOf(i int) (ir.Type, error) {
	vl := c.val(i)
	switch {
	case vl == nil:
		return ir.Type{}, fmt.Errorf("input %d is missing", i)
	case vl.v != nil:
		return vl.v.Type, nil
	case vl.konst != nil:
		return ir.TensorType(vl.konst.DType, ir.StaticShape(vl.konst.Shape...)), nil
	}
	s := ir.Shape{}
	if !vl.sym.scalar {
		s = ir.StaticShape(len(vl.sym.d))
	}
	return ir.TensorType(vl.sym.dt, s), nil
}

// needKnown is the error for an input that must be known at import time.
func (c *nodeCtx) needKnown(i int, use string) error {
	vl := c.val(i)
	if vl.v != nil && vl.v.Def == nil && vl.v.Const == nil {
		return &NeedsValueError{Input: vl.name, Use: fmt.Sprintf("%s (input %d)", use, i)}
	}
	if in := graphInputsOf(vl.v); len(in) > 0 {
		// Computed from graph inputs alone: binding them makes it known.
		return &NeedsValueError{Input: in[0].Name, Use: fmt.Sprintf("%s (input %d, %q, computed from it)", use, i, vl.name)}
	}
	return unsupported("%s (input %d, %q) computed at run time from the model's inputs (the IR needs it at import time: a constant, shape math, or an input bound at build time)", use, i, vl.name)
}

// ints returns integer input i, which must be known at import time and
// independent of the batch.
func (c *nodeCtx) ints(i int, use string) ([]int64, error) {
	d, err := c.dims(i, use)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(d))
	for j, x := range d {
		if !x.Static() {
			return nil, fmt.Errorf("%s (input %d) depends on the batch N: %s", use, i, dimsString(d))
		}
		out[j] = int64(x.B)
	}
	return out, nil
}

// dims returns integer input i, known at import time, as affine dims.
func (c *nodeCtx) dims(i int, use string) ([]ir.Dim, error) {
	vl := c.val(i)
	if vl == nil {
		return nil, fmt.Errorf("%s (input %d) is missing", use, i)
	}
	if vl.sym != nil {
		return vl.sym.d, nil
	}
	if vl.konst == nil {
		return nil, c.needKnown(i, use)
	}
	t := vl.konst
	if t.Numel() > maxFold {
		return nil, fmt.Errorf("%s (input %d) has %d elements, too many for a shape", use, i, t.Numel())
	}
	t = t.Dense()
	if !t.DType.IsInt() {
		return nil, fmt.Errorf("%s (input %d) must be an integer tensor, got %s", use, i, t.DType)
	}
	if len(t.Shape) > 1 {
		return nil, fmt.Errorf("%s (input %d) must be a scalar or 1-D, got shape %v", use, i, t.Shape)
	}
	out := make([]ir.Dim, len(t.I))
	for j, x := range t.I {
		out[j] = ir.D(clampInt(x))
	}
	return out, nil
}

// scalarFloat returns input i, a known one-element tensor, as a float.
func (c *nodeCtx) scalarFloat(i int, use string) (float64, error) {
	vl := c.val(i)
	if vl.konst == nil {
		if vl.sym != nil && len(vl.sym.d) == 1 && vl.sym.d[0].Static() {
			return float64(vl.sym.d[0].B), nil
		}
		return 0, c.needKnown(i, use)
	}
	if vl.konst.Numel() != 1 {
		return 0, fmt.Errorf("%s (input %d) must have one element, got shape %v", use, i, vl.konst.Shape)
	}
	return vl.konst.Float(0), nil
}

func clampInt(x int64) int {
	return int(min(max(x, math.MinInt64/4), math.MaxInt64/4))
}

func dimsString(d []ir.Dim) string { return (&symTensor{d: d}).String() }

// Outputs.

// nout is the node's number of outputs.
func (c *nodeCtx) nout() int { return len(c.n.Output) }

// outName is output i's ONNX name ("" when omitted).
func (c *nodeCtx) outName(i int) string {
	if i < len(c.n.Output) {
		return c.n.Output[i]
	}
	return ""
}

// wants reports whether output i exists and something reads it.
func (c *nodeCtx) wants(i int) bool {
	s := c.outName(i)
	return s != "" && c.im.used[s]
}

// set binds output i to an IR value.
func (c *nodeCtx) set(i int, v *ir.Value) {
	if s := c.outName(i); s != "" {
		c.im.vals[s] = &val{name: s, v: v}
	}
}

// setVal binds output i to known data.
func (c *nodeCtx) setVal(i int, vl *val) {
	if s := c.outName(i); s != "" {
		vl.name = s
		c.im.vals[s] = vl
	}
}

// emit adds op as the node producing output i (named like the ONNX value).
func (c *nodeCtx) emit(i int, op ir.Op, inputs ...*ir.Value) error {
	name := c.outName(i)
	if name == "" {
		name = c.im.tmpName(c.hint())
	}
	v, err := c.im.b.Add1(c.n.GetName(), op, inputs, name)
	if err != nil {
		return err
	}
	c.set(i, v)
	return nil
}

// tmp adds op as an intermediate step and returns its result.
func (c *nodeCtx) tmp(op ir.Op, inputs ...*ir.Value) (*ir.Value, error) {
	return c.im.b.Add1(c.n.GetName(), op, inputs, c.im.tmpName(c.hint()))
}

func (c *nodeCtx) hint() string {
	if s := c.outName(0); s != "" {
		return s
	}
	return strings.ToLower(c.n.GetOpType())
}

// konst adds a constant tensor for an importer's own use.
func (c *nodeCtx) konst(t *ir.Tensor) (*ir.Value, error) {
	return c.im.b.Const(c.im.tmpName(c.hint()+".const"), t)
}

// Attributes. Every attribute an importer does not read is an error
// (unsupported attribute), so none is silently ignored.

func (c *nodeCtx) attr(name string, want onnxpb.AttributeProto_AttributeType) (*onnxpb.AttributeProto, error) {
	c.read[name] = true
	for _, a := range c.n.Attribute {
		if a.GetName() == name {
			if t := a.GetType(); t != want && t != onnxpb.AttributeProto_UNDEFINED {
				return nil, fmt.Errorf("attribute %s: want %s, got %s", name, want, t)
			}
			return a, nil
		}
	}
	return nil, nil
}

// ignore marks attributes that have no effect at inference.
func (c *nodeCtx) ignore(names ...string) {
	for _, n := range names {
		c.read[n] = true
	}
}

func (c *nodeCtx) hasAttr(name string) bool {
	for _, a := range c.n.Attribute {
		if a.GetName() == name {
			return true
		}
	}
	return false
}

func (c *nodeCtx) attrInt(name string, def int64) (int64, error) {
	a, err := c.attr(name, onnxpb.AttributeProto_INT)
	if a == nil || err != nil {
		return def, err
	}
	return a.GetI(), nil
}

func (c *nodeCtx) attrFloat(name string, def float64) (float64, error) {
	a, err := c.attr(name, onnxpb.AttributeProto_FLOAT)
	if a == nil || err != nil {
		return def, err
	}
	return float64(a.GetF()), nil
}

func (c *nodeCtx) attrString(name, def string) (string, error) {
	a, err := c.attr(name, onnxpb.AttributeProto_STRING)
	if a == nil || err != nil {
		return def, err
	}
	return string(a.GetS()), nil
}

// attrInts returns an ints attribute, or nil when absent.
func (c *nodeCtx) attrInts(name string) ([]int, bool, error) {
	a, err := c.attr(name, onnxpb.AttributeProto_INTS)
	if a == nil || err != nil {
		return nil, false, err
	}
	out := make([]int, len(a.GetInts()))
	for i, x := range a.GetInts() {
		out[i] = clampInt(x)
	}
	return out, true, nil
}

// errs collects attribute errors so importers read several in a row.
type errs struct{ err error }

func (e *errs) int(c *nodeCtx, name string, def int64) int {
	v, err := c.attrInt(name, def)
	if e.err == nil {
		e.err = err
	}
	return clampInt(v)
}

func (e *errs) float(c *nodeCtx, name string, def float64) float64 {
	v, err := c.attrFloat(name, def)
	if e.err == nil {
		e.err = err
	}
	return v
}

func (e *errs) str(c *nodeCtx, name, def string) string {
	v, err := c.attrString(name, def)
	if e.err == nil {
		e.err = err
	}
	return v
}

func (e *errs) ints(c *nodeCtx, name string) []int {
	v, _, err := c.attrInts(name)
	if e.err == nil {
		e.err = err
	}
	return v
}

// inputsKnown reports whether every input the node is given is known at
// import time (constant data, or shape math free of the batch).
func (c *nodeCtx) inputsKnown() bool {
	any := false
	for i := range c.n.Input {
		vl := c.val(i)
		switch {
		case vl == nil:
			continue
		case vl.konst != nil:
		case vl.sym != nil:
			if _, ok := vl.sym.ints(); !ok {
				return false
			}
		default:
			return false
		}
		any = true
	}
	return any
}

// foldNew evaluates the nodes the importer just added for a node whose
// inputs were all known, so that its outputs are known too (exporters
// compute shapes, axes and masks from constants with any op), and drops
// them from the graph. Results larger than maxFold elements stay nodes, as
// do nodes reading a splat larger than that (evaluating would expand it).
func (c *nodeCtx) foldNew(from int) error {
	g := c.im.b.G
	added := g.Nodes[from:]
	if len(added) == 0 {
		return nil
	}
	mine := map[*ir.Value]bool{}
	sub := &ir.Graph{Name: "fold"}
	seen := map[*ir.Value]bool{}
	for _, n := range added {
		for _, v := range n.Inputs {
			switch {
			case mine[v]:
			case v.Const != nil && v.Const.Splat && v.Const.Numel() > maxFold:
				return nil // evaluating would expand it (a hostile ConstantOfShape)
			case v.Const != nil:
				if !seen[v] {
					seen[v] = true
					sub.Consts = append(sub.Consts, v)
				}
			default:
				return nil // reads a run-time value
			}
		}
		for _, o := range n.Outputs {
			mine[o] = true
			if d, ok := o.Type.Shape.NumelDim(); !ok || !d.Static() || d.B > maxFold {
				return nil
			}
		}
	}
	sub.Nodes = added
	var outs []string
	for _, name := range c.n.Output {
		if vl := c.im.vals[name]; name != "" && vl != nil && vl.v != nil && mine[vl.v] {
			sub.Outputs = append(sub.Outputs, vl.v)
			outs = append(outs, name)
		}
	}
	if len(sub.Outputs) == 0 {
		return nil
	}
	res, err := ir.EvalOptions{Threads: 1}.Eval(sub)
	if err != nil {
		return fmt.Errorf("evaluating at import time (its inputs are constants): %w", err)
	}
	for i, name := range outs {
		c.im.vals[name] = &val{name: name, konst: res[i]}
	}
	g.Nodes = g.Nodes[:from]
	return nil
}

// graphInputsOf lists the graph inputs v is computed from, in the order
// met, when it depends on nothing else (constants aside); nil otherwise.
func graphInputsOf(v *ir.Value) []*ir.Value {
	var ins []*ir.Value
	seen := map[*ir.Value]bool{}
	var walk func(v *ir.Value) bool
	walk = func(v *ir.Value) bool {
		if v == nil || seen[v] {
			return true
		}
		seen[v] = true
		switch {
		case v.Const != nil:
			return true
		case v.Def == nil:
			ins = append(ins, v)
			return true
		}
		for _, in := range v.Def.Inputs {
			if !walk(in) {
				return false
			}
		}
		return true
	}
	if !walk(v) {
		return nil
	}
	return ins
}
