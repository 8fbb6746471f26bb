package frontend

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/modelc/modelc/internal/limits"
	"github.com/modelc/modelc/ir"
)

// Lowering of graph: layers into IR. A layer is a one-key mapping,
// {kind: {fields}}. Kinds with parameters (linear, conv2d, phm_linear,
// phc_conv2d, batchnorm, layernorm, embedding, param, attention) create named constants whose
// data is bound later (weights file or seed); every other IR op is a
// layer whose fields are its attributes. `in` defaults to the previous
// layer's result, so a chain needs no names.

type lowering struct {
	d         *decoder
	b         *ir.Builder
	params    []*param
	byName    map[string]*param
	blockDefs map[string]*node
	root      *scope
	// lowered counts the layers lowered so far, constBytes the parameters'
	// bytes: both bounded (limits.Layers, limits.ConstBytes) before the
	// work or allocation they measure.
	lowered    int
	constBytes int
	blockSizes map[string]float64 // layers one instance of a block expands to
	at         map[*ir.Value]*node
}

// initKind says how a parameter is generated under init: {seed}; the
// rules follow PyTorch's default initialisers.
type initKind int

const (
	initUniformFanIn initKind = iota // U(±1/√fan_in): Linear, Conv weights and biases
	initOnes                         // LayerNorm/BatchNorm γ, running_var base
	initZeros                        // LayerNorm/BatchNorm β
	initNormal                       // N(0, std²): embeddings (std 1), learned tensors
	initBNMean                       // running_mean ~ N(0, 0.1²): non-trivial statistics
	initBNVar                        // running_var ~ U(0.5, 1.5)
)

type param struct {
	name  string
	shape []int
	init  initKind
	fanIn int
	std   float64
	at    *node // the layer, for error positions
	value *ir.Value
}

// scope holds the value names visible to a list of layers: the graph's,
// or one block instance's (whose names are qualified by its prefix).
type scope struct {
	prefix string // "blocks.0" inside an instance, "" at the root
	vals   map[string]*ir.Value
	last   *ir.Value // the most recent result, the default `in`
	in     *ir.Value // $in of a block instance
	outer  *scope    // where $out is defined
	out    string    // $out's name in outer
	depth  int
}

func newLowering(d *decoder, name string) *lowering {
	l := &lowering{d: d, b: ir.NewBuilder(name), byName: map[string]*param{}, blockDefs: map[string]*node{}, blockSizes: map[string]float64{}, at: map[*ir.Value]*node{}}
	l.root = &scope{vals: map[string]*ir.Value{}}
	return l
}

func (sc *scope) qualify(name string) string {
	if sc.prefix == "" {
		return name
	}
	return sc.prefix + "/" + name
}

func (sc *scope) layerName(name string) string {
	if sc.prefix == "" || name == "" {
		return name
	}
	return sc.prefix + "." + name
}

func (l *lowering) input(n *node) {
	o := l.d.object(n, "input")
	name := o.mustStr("name")
	dt, ok := ir.ParseDType(o.str("dtype", "f32"))
	if !ok {
		o.fail(o.get("dtype"), "unknown dtype %q (want f32, i64, ...)", o.str("dtype", ""))
	}
	sn := o.get("shape")
	if sn == nil || sn.kind != seqNode {
		o.fail(n, "shape: want a list like [N, 3, 32, 32]")
	}
	shape := l.shapeOf(o, sn)
	o.done("name", "dtype", "shape")
	v, err := l.b.Input(name, ir.TensorType(dt, shape))
	if err != nil {
		o.fail(n, "%v", err)
	}
	l.root.vals[name] = v
	if l.root.last == nil {
		l.root.last = v
	}
}

// shapeOf reads a list of dims: integers, N or affine forms like 2N. Every
// dimension must be at least 1 at every batch N ≥ 1, at most one may
// depend on N, and the tensor may hold at most limits.TensorElems
// elements per sample, so no size computed from it later can overflow.
func (l *lowering) shapeOf(o *obj, n *node) ir.Shape {
	s := ir.Shape{}
	var symbolic *node
	for _, it := range n.items {
		var d ir.Dim
		switch v := it.value.(type) {
		case int64:
			if v < 1 || v > limits.TensorElems {
				o.fail(it, "dimension must be between 1 and %d, got %d", limits.TensorElems, v)
			}
			d = ir.D(int(v))
		case string:
			var err error
			if d, err = ir.ParseDim(v); err != nil {
				o.fail(it, "%v", err)
			}
			if d.A < 0 || d.At(1) < 1 || d.A > limits.TensorElems || d.B > limits.TensorElems {
				o.fail(it, "dimension %s must be between 1 and %d at every batch N ≥ 1", v, limits.TensorElems)
			}
			if !d.Static() {
				if symbolic != nil {
					o.fail(it, "only one dimension may depend on the batch N (line %d:%d has %s already)", symbolic.line, symbolic.col, symbolic.value)
				}
				symbolic = it
			}
		default:
			o.fail(it, "dimension must be an integer or N, got %s", it.describe())
		}
		s = append(s, d)
	}
	if _, ok := limits.Elems(s.At(1), limits.TensorElems); !ok {
		o.fail(n, "shape %s holds %s elements per sample, over the limit of %d (limits.TensorElems)", s, limits.Count(elemsF(s.At(1))), limits.TensorElems)
	}
	return s
}

// elemsF is the element count of dims as a float, for messages about
// counts that overflow an int.
func elemsF(dims []int) float64 {
	n := 1.0
	for _, d := range dims {
		n *= float64(d)
	}
	return n
}

func (l *lowering) blocks(n *node) {
	o := l.d.object(n, "blocks")
	for _, k := range n.keys {
		b := o.get(k)
		if b.kind != seqNode || len(b.items) == 0 {
			o.fail(b, "block %q: want a list of layers", k)
		}
		l.blockDefs[k] = b
	}
}

func (l *lowering) layers(items []*node, sc *scope) {
	for _, it := range items {
		l.layer(it, sc)
	}
}

func (l *lowering) outputs(names []string, n *node) {
	if len(names) == 0 {
		l.b.G.Outputs = []*ir.Value{l.root.last}
		return
	}
	for _, name := range names {
		v := l.root.vals[name]
		if v == nil {
			l.d.failAt(n, "outputs: no value named %q", name)
		}
		l.b.G.Outputs = append(l.b.G.Outputs, v)
	}
}

// layer lowers one {kind: {fields}} entry.
func (l *lowering) layer(n *node, sc *scope) {
	if n.kind != mapNode || len(n.keys) != 1 {
		l.d.failAt(n, "a layer is a one-key mapping such as {linear: {name: fc1, features: 10}}, got %s", n.describe())
	}
	kind := n.keys[0]
	body := n.fields[kind]
	if body.kind == scalarNode && body.value == nil {
		body = &node{line: body.line, col: body.col, kind: mapNode, fields: map[string]*node{}, keyPos: map[string]*node{}}
	}
	what := kind
	if body.kind == mapNode {
		if nm, ok := body.fields["name"]; ok {
			if s, ok := nm.value.(string); ok {
				what = fmt.Sprintf("%s %q", kind, s)
			}
		}
	}
	o := l.d.object(body, what)
	switch kind {
	case "repeat", "block":
		l.instance(kind, o, sc)
		return
	}
	if l.lowered++; l.lowered > limits.Layers {
		o.fail(n, "the model expands to more than %d layers (limits.Layers)", limits.Layers)
	}
	name := o.str("name", "")
	o.used["out"] = true // read by bindOutputs, after the kind's own keys
	full := sc.layerName(name)
	prefix := full
	if p := o.str("params", ""); p != "" {
		prefix = sc.layerName(p)
	}
	ins := l.inputs(o, sc)
	var outs []*ir.Value
	switch kind {
	case "linear":
		outs = l.linear(o, full, prefix, ins, body)
	case "conv2d":
		outs = l.conv2d(o, full, prefix, ins, body)
	case "phm_linear":
		outs = l.phmLinear(o, full, prefix, ins, body)
	case "phc_conv2d":
		outs = l.phcConv2D(o, full, prefix, ins, body)
	case "batchnorm":
		outs = l.batchnorm(o, full, prefix, ins, body)
	case "layernorm":
		outs = l.layernorm(o, full, prefix, ins, body)
	case "embedding":
		outs = l.embedding(o, full, prefix, ins, body)
	case "attention":
		outs = l.attention(o, full, prefix, ins, body)
	case "param":
		outs = l.paramLayer(o, sc, prefix, body)
	default:
		outs = l.generic(kind, o, full, ins, body)
	}
	l.bindOutputs(o, sc, outs)
	o.done("name", "in", "out", "params")
}

// inputs resolves `in` (a name, a list, or the previous result).
func (l *lowering) inputs(o *obj, sc *scope) []*ir.Value {
	names := o.strs("in")
	at := orNode(o.n.fields["in"], o.n)
	if names == nil {
		if sc.last == nil {
			o.fail(o.n, "no input: give in:")
		}
		return []*ir.Value{sc.last}
	}
	vals := make([]*ir.Value, len(names))
	for i, nm := range names {
		vals[i] = l.lookup(o, at, sc, nm)
	}
	return vals
}

func (l *lowering) lookup(o *obj, at *node, sc *scope, name string) *ir.Value {
	if strings.HasPrefix(name, "$") {
		if name == "$in" && sc.in != nil {
			return sc.in
		}
		o.fail(at, "%s is not defined here (blocks know $in, $out and their args)", name)
	}
	if v, ok := sc.vals[name]; ok {
		return v
	}
	o.fail(at, "no value named %q before this layer", name)
	return nil
}

func (l *lowering) bindOutputs(o *obj, sc *scope, outs []*ir.Value) {
	names := o.strs("out")
	at := orNode(o.n.fields["out"], o.n)
	if names != nil && len(names) != len(outs) {
		o.fail(at, "out names %d values, the layer has %d results", len(names), len(outs))
	}
	for i, v := range outs {
		var nm string
		if names != nil {
			nm = names[i]
		}
		if strings.HasPrefix(nm, "$") && (nm != "$out" || sc.depth == 0) {
			o.fail(at, "cannot name a result %s: $ names are reserved (a block may write $out)", nm)
		}
		target := sc
		if nm == "$out" && sc.outer != nil {
			target, nm = sc.outer, sc.out
		}
		if nm != "" {
			if _, dup := target.vals[nm]; dup {
				o.fail(at, "value %q defined twice", nm)
			}
			if !v.IsConst() { // a parameter keeps its state_dict name
				l.rename(v, target.qualify(nm), o, at)
			}
			target.vals[nm] = v
			target.last = v
		}
	}
	sc.last = outs[len(outs)-1]
}

// rename gives v its user-visible name (results are created with fresh
// names first, since the builder needs a name before `out` is read).
func (l *lowering) rename(v *ir.Value, name string, o *obj, at *node) {
	if err := l.b.Rename(v, name); err != nil {
		o.fail(at, "value %q defined twice", name)
	}
}

// newParam declares a parameter; its data is bound after lowering.
func (l *lowering) newParam(o *obj, at *node, name string, shape []int, init initKind, fanIn int, std float64) *ir.Value {
	if name == "" || strings.HasPrefix(name, ".") { // ".weight": the layer has no name
		o.fail(at, "a layer with parameters needs a name (or params:)")
	}
	if p, dup := l.byName[name]; dup {
		o.fail(at, "parameter %q is already defined by the layer at line %d (give this one its own name or params:)", name, p.at.line)
	}
	// Checked before anything is allocated: the data is bound (read or
	// generated) only after the whole graph is lowered.
	n, ok := limits.Elems(shape, limits.TensorElems)
	if !ok {
		o.fail(at, "parameter %q would have shape %v: %s elements, over the limit of %d (limits.TensorElems)", name, shape, limits.Count(elemsF(shape)), limits.TensorElems)
	}
	if l.constBytes += 4 * n; l.constBytes > limits.ConstBytes {
		o.fail(at, "parameter %q (%s) brings the weights to %s, over the limit of %s (limits.ConstBytes)", name, limits.Size(4*float64(n)), limits.Size(float64(l.constBytes)), limits.Size(limits.ConstBytes))
	}
	t := &ir.Tensor{DType: ir.F32, Shape: shape}
	v, err := l.b.Const(name, t)
	if err != nil {
		o.fail(at, "%v", err)
	}
	p := &param{name: name, shape: shape, init: init, fanIn: fanIn, std: std, at: at, value: v}
	l.params = append(l.params, p)
	l.byName[name] = p
	return v
}

func (l *lowering) add(o *obj, at *node, name string, op ir.Op, ins []*ir.Value) []*ir.Value {
	n, err := l.b.Add(name, op, ins)
	if err != nil {
		// The builder prefixes the op and node name, which o.fail
		// already gives: report only the cause.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		o.fail(at, "%v", err)
	}
	for _, v := range n.Outputs {
		l.at[v] = at
		if _, ok := limits.Elems(v.Type.Shape.At(1), limits.TensorElems); !ok {
			o.fail(at, "result %s holds %s elements per sample, over the limit of %d (limits.TensorElems)", ir.FormatType(v.Type), limits.Count(elemsF(v.Type.Shape.At(1))), limits.TensorElems)
		}
	}
	return n.Outputs
}

func staticLast(o *obj, at *node, x *ir.Value, what string) int {
	s := x.Type.Shape
	if s.Rank() == 0 || !s[s.Rank()-1].Static() {
		o.fail(at, "%s: input %s must have a static last dimension", what, s)
	}
	return s[s.Rank()-1].B
}

func one(o *obj, at *node, ins []*ir.Value) *ir.Value {
	if len(ins) != 1 {
		o.fail(at, "takes one input, got %d", len(ins))
	}
	return ins[0]
}

func (l *lowering) linear(o *obj, name, prefix string, ins []*ir.Value, at *node) []*ir.Value {
	x := one(o, at, ins)
	in := staticLast(o, at, x, "linear")
	out := o.integer("features", 0)
	if out < 1 {
		o.fail(at, "features must be ≥ 1, got %d", out)
	}
	args := []*ir.Value{x, l.newParam(o, at, prefix+".weight", []int{out, in}, initUniformFanIn, in, 0)}
	if o.boolean("bias", true) {
		args = append(args, l.newParam(o, at, prefix+".bias", []int{out}, initUniformFanIn, in, 0))
	}
	o.done("features", "bias")
	return l.add(o, at, name, &ir.Linear{}, args)
}

// window reads kernel/stride/pad/dilation the way PyTorch writes them:
// an int for both axes, [h, w], or for pad also [top, left, bottom, right].
func window(o *obj, at *node, key string, def int) []int {
	v := o.ints(key, []int{def, def}, 2)
	if key == "pad" {
		switch len(v) {
		case 2:
			v = []int{v[0], v[1], v[0], v[1]}
		case 4:
		default:
			o.fail(at, "pad must be an int, [h, w] or [top, left, bottom, right], got %v", v)
		}
	} else if len(v) != 2 {
		o.fail(at, "%s must be an int or [h, w], got %v", key, v)
	}
	return v
}

func (l *lowering) conv2d(o *obj, name, prefix string, ins []*ir.Value, at *node) []*ir.Value {
	x := one(o, at, ins)
	if x.Type.Shape.Rank() != 4 || !x.Type.Shape[1].Static() {
		o.fail(at, "input must be [N, C, H, W], got %s", x.Type.Shape)
	}
	c := x.Type.Shape[1].B
	op := &ir.Conv2D{
		Stride: window(o, at, "stride", 1), Pad: window(o, at, "pad", 0),
		Dilation: window(o, at, "dilation", 1), Groups: o.integer("groups", 1),
	}
	kernel := window(o, at, "kernel", 0)
	filters := o.integer("filters", 0)
	if filters < 1 || kernel[0] < 1 || kernel[1] < 1 {
		o.fail(at, "filters and kernel must be ≥ 1, got filters %d kernel %v", filters, kernel)
	}
	if op.Groups < 1 || c%op.Groups != 0 {
		o.fail(at, "groups %d must divide the input channels %d", op.Groups, c)
	}
	fanIn := c / op.Groups * kernel[0] * kernel[1]
	args := []*ir.Value{x, l.newParam(o, at, prefix+".weight", []int{filters, c / op.Groups, kernel[0], kernel[1]}, initUniformFanIn, fanIn, 0)}
	if o.boolean("bias", true) {
		args = append(args, l.newParam(o, at, prefix+".bias", []int{filters}, initUniformFanIn, fanIn, 0))
	}
	o.done("filters", "kernel", "stride", "pad", "dilation", "groups", "bias")
	return l.add(o, at, name, op, args)
}

// phmOrder reads a PHM/PHC layer's n and checks that it divides the
// input and output sizes (features or channels).
func phmOrder(o *obj, at *node, in, out int, what string) int {
	n := o.integer("n", 0)
	if n < 1 {
		o.fail(at, "n (the hypercomplex order) must be ≥ 1, got %d", n)
	}
	if in%n != 0 || out%n != 0 {
		o.fail(at, "n %d must divide the input %s %d and the output %s %d", n, what, in, what, out)
	}
	return n
}

// phmLinear is a PHM linear layer (Zhang et al. 2021): W = Σᵢ Aᵢ ⊗ Fᵢ
// with A [n, n, n] and F [n, features/n, in/n] bound as <name>.A and
// <name>.F (the HyperNets/PyTorch state_dict names), then the bias.
func (l *lowering) phmLinear(o *obj, name, prefix string, ins []*ir.Value, at *node) []*ir.Value {
	x := one(o, at, ins)
	in := staticLast(o, at, x, "phm_linear")
	out := o.integer("features", 0)
	if out < 1 {
		o.fail(at, "features must be ≥ 1, got %d", out)
	}
	n := phmOrder(o, at, in, out, "features")
	args := []*ir.Value{x,
		l.newParam(o, at, prefix+".A", []int{n, n, n}, initNormal, 0, 1/math.Sqrt(float64(n))),
		l.newParam(o, at, prefix+".F", []int{n, out / n, in / n}, initUniformFanIn, in, 0),
	}
	if o.boolean("bias", true) {
		args = append(args, l.newParam(o, at, prefix+".bias", []int{out}, initUniformFanIn, in, 0))
	}
	o.done("features", "n", "bias")
	return l.add(o, at, name, &ir.PHMLinear{}, args)
}

// phcConv2D is a PHC convolution (Grassucci et al. 2021): the Kronecker
// product acts on the channel axes, F [n, filters/n, C/n, kh, kw]; A, F
// and the bias bind as for phm_linear. Groups are 1.
func (l *lowering) phcConv2D(o *obj, name, prefix string, ins []*ir.Value, at *node) []*ir.Value {
	x := one(o, at, ins)
	if x.Type.Shape.Rank() != 4 || !x.Type.Shape[1].Static() {
		o.fail(at, "input must be [N, C, H, W], got %s", x.Type.Shape)
	}
	c := x.Type.Shape[1].B
	op := &ir.PHCConv2D{Stride: window(o, at, "stride", 1), Pad: window(o, at, "pad", 0), Dilation: window(o, at, "dilation", 1)}
	kernel := window(o, at, "kernel", 0)
	filters := o.integer("filters", 0)
	if filters < 1 || kernel[0] < 1 || kernel[1] < 1 {
		o.fail(at, "filters and kernel must be ≥ 1, got filters %d kernel %v", filters, kernel)
	}
	n := phmOrder(o, at, c, filters, "channels")
	fanIn := c * kernel[0] * kernel[1]
	args := []*ir.Value{x,
		l.newParam(o, at, prefix+".A", []int{n, n, n}, initNormal, 0, 1/math.Sqrt(float64(n))),
		l.newParam(o, at, prefix+".F", []int{n, filters / n, c / n, kernel[0], kernel[1]}, initUniformFanIn, fanIn, 0),
	}
	if o.boolean("bias", true) {
		args = append(args, l.newParam(o, at, prefix+".bias", []int{filters}, initUniformFanIn, fanIn, 0))
	}
	o.done("filters", "kernel", "stride", "pad", "dilation", "n", "bias")
	return l.add(o, at, name, op, args)
}

func (l *lowering) batchnorm(o *obj, name, prefix string, ins []*ir.Value, at *node) []*ir.Value {
	x := one(o, at, ins)
	if x.Type.Shape.Rank() < 2 || !x.Type.Shape[1].Static() {
		o.fail(at, "input must be [N, C, ...], got %s", x.Type.Shape)
	}
	c := []int{x.Type.Shape[1].B}
	args := []*ir.Value{x,
		l.newParam(o, at, prefix+".weight", c, initOnes, 0, 0),
		l.newParam(o, at, prefix+".bias", c, initZeros, 0, 0),
		l.newParam(o, at, prefix+".running_mean", c, initBNMean, 0, 0),
		l.newParam(o, at, prefix+".running_var", c, initBNVar, 0, 0),
	}
	op := &ir.BatchNorm{Eps: o.float("eps", 1e-5)}
	o.done("eps")
	return l.add(o, at, name, op, args)
}

func (l *lowering) layernorm(o *obj, name, prefix string, ins []*ir.Value, at *node) []*ir.Value {
	x := one(o, at, ins)
	op := &ir.LayerNorm{Axis: o.integer("axis", -1), Eps: o.float("eps", 1e-5)}
	r := x.Type.Shape.Rank()
	axis := op.Axis
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r || !x.Type.Shape[axis:].Static() {
		o.fail(at, "axis %d must pick static trailing dims of %s", op.Axis, x.Type.Shape)
	}
	shape := x.Type.Shape[axis:].Ints()
	args := []*ir.Value{x, l.newParam(o, at, prefix+".weight", shape, initOnes, 0, 0)}
	if o.boolean("bias", true) {
		args = append(args, l.newParam(o, at, prefix+".bias", shape, initZeros, 0, 0))
	}
	o.done("axis", "eps", "bias")
	return l.add(o, at, name, op, args)
}

func (l *lowering) embedding(o *obj, name, prefix string, ins []*ir.Value, at *node) []*ir.Value {
	ids := one(o, at, ins)
	vocab, dim := o.integer("vocab", 0), o.integer("dim", 0)
	if vocab < 1 || dim < 1 {
		o.fail(at, "vocab and dim must be ≥ 1, got %d and %d", vocab, dim)
	}
	table := l.newParam(o, at, prefix+".weight", []int{vocab, dim}, initNormal, 0, 1)
	o.done("vocab", "dim")
	return l.add(o, at, name, ir.Simple{K: ir.KEmbedding}, []*ir.Value{ids, table})
}

// paramLayer is a learned tensor used as a value (ViT's cls token and
// position table): its name is the parameter's full name.
func (l *lowering) paramLayer(o *obj, sc *scope, prefix string, at *node) []*ir.Value {
	sn := o.get("shape")
	if sn == nil || sn.kind != seqNode {
		o.fail(at, "shape: want a list of integers")
	}
	shape := l.shapeOf(o, sn)
	if !shape.Static() {
		o.fail(sn, "a parameter's shape must be static, got %s", shape)
	}
	std := o.float("std", 0.02)
	o.done("shape", "std")
	v := l.newParam(o, at, prefix, shape.Ints(), initNormal, 0, std)
	if name := o.str("name", ""); name != "" {
		if _, dup := sc.vals[name]; dup {
			o.fail(at, "value %q defined twice", name)
		}
		sc.vals[name] = v // refer to it by its layer name
	}
	return []*ir.Value{v}
}

// attention is the transformer sublayer: qkv = linear(x) (3·dim
// features), split into q, k, v, the attention op, then linear proj —
// the parameter layout of models.py's Attention.
func (l *lowering) attention(o *obj, name, prefix string, ins []*ir.Value, at *node) []*ir.Value {
	x := one(o, at, ins)
	s := x.Type.Shape
	if s.Rank() != 3 || !s[2].Static() {
		o.fail(at, "input must be [B, T, D], got %s", s)
	}
	d := s[2].B
	heads := o.integer("heads", 0)
	if heads < 1 || d%heads != 0 {
		o.fail(at, "heads must be ≥ 1 and divide the model dim %d, got %d", d, heads)
	}
	op := &ir.Attention{Heads: heads, Causal: o.boolean("causal", false), Scale: o.float("scale", 1/math.Sqrt(float64(d/heads)))}
	o.done("heads", "causal", "scale")
	qkvW := l.newParam(o, at, prefix+".qkv.weight", []int{3 * d, d}, initUniformFanIn, d, 0)
	qkvB := l.newParam(o, at, prefix+".qkv.bias", []int{3 * d}, initUniformFanIn, d, 0)
	qkv := l.add(o, at, name+".qkv", &ir.Linear{}, []*ir.Value{x, qkvW, qkvB})
	parts := l.add(o, at, "", &ir.Split{Axis: -1, Sizes: []int{d, d, d}}, qkv)
	y := l.add(o, at, name, op, parts)
	projW := l.newParam(o, at, prefix+".proj.weight", []int{d, d}, initUniformFanIn, d, 0)
	projB := l.newParam(o, at, prefix+".proj.bias", []int{d}, initUniformFanIn, d, 0)
	return l.add(o, at, name+".proj", &ir.Linear{}, []*ir.Value{y[0], projW, projB})
}

// generic lowers any other IR op; its fields are the op's attributes.
func (l *lowering) generic(kind string, o *obj, name string, ins []*ir.Value, at *node) []*ir.Value {
	k, ok := ir.KindOf(kind)
	if !ok {
		o.fail(at, "unknown layer kind %q (want repeat, block, linear, conv2d, phm_linear, phc_conv2d, batchnorm, layernorm, embedding, attention, param or an IR op: %s)", kind, strings.Join(ir.OpNames(), ", "))
	}
	attrs := map[string]any{}
	for _, key := range o.n.keys {
		switch key {
		case "name", "in", "out", "params":
			continue
		}
		v := o.get(key)
		switch {
		case (k == ir.KMaxPool || k == ir.KAvgPool) && (key == "kernel" || key == "stride" || key == "pad" || key == "dilation"):
			attrs[key] = window(o, v, key, 0)
		case k == ir.KReshape && key == "shape" && len(ins) == 1:
			attrs[key] = l.reshapeTarget(o, v, ins[0].Type.Shape)
		default:
			attrs[key] = plain(v)
		}
	}
	if k == ir.KMaxPool || k == ir.KAvgPool || k == ir.KMaxPoolND || k == ir.KAvgPoolND {
		if _, ok := attrs["stride"]; !ok && attrs["kernel"] != nil {
			attrs["stride"] = attrs["kernel"] // PyTorch: stride defaults to the kernel
		}
	}
	op, err := ir.NewOp(kind, attrs)
	if err != nil {
		o.fail(at, "%v", err)
	}
	return l.add(o, at, name, op, ins)
}

// reshapeTarget reads a reshape shape in which one entry may be -1 (the
// rest of the elements, solved as an affine dim in N).
func (l *lowering) reshapeTarget(o *obj, n *node, from ir.Shape) ir.Shape {
	if n.kind != seqNode {
		o.fail(n, "shape: want a list of dims")
	}
	hole := -1
	var dims ir.Shape
	for i, it := range n.items {
		if v, ok := it.value.(int64); ok && v == -1 {
			if hole >= 0 {
				o.fail(it, "only one dimension may be -1")
			}
			hole = i
			dims = append(dims, ir.D(1))
			continue
		}
		dims = append(dims, l.shapeOf(o, &node{kind: seqNode, items: []*node{it}})...)
	}
	if hole < 0 {
		return dims
	}
	// Solve the hole at N = 1 and N = 2, then check N = 3.
	at := func(s ir.Shape, n int) int {
		p := 1
		for _, d := range s.At(n) {
			p *= d
		}
		return p
	}
	var vals [3]int
	for i := range vals {
		rest := at(dims, i+1)
		total := at(from, i+1)
		if rest == 0 || total%rest != 0 {
			o.fail(n, "cannot infer -1 when reshaping %s to %s", from, dims)
		}
		vals[i] = total / rest
	}
	d := ir.Dim{A: vals[1] - vals[0], B: 2*vals[0] - vals[1]}
	if d.At(3) != vals[2] {
		o.fail(n, "reshaping %s: the -1 dimension is not affine in N", from)
	}
	dims[hole] = d
	return dims
}

// instance expands block: {use: B, ...} or repeat: {block: B, times: K}.
func (l *lowering) instance(kind string, o *obj, sc *scope) {
	var blockName string
	times, from := 1, 0
	if kind == "repeat" {
		blockName = o.mustStr("block")
		times = o.integer("times", 0)
		from = o.integer("from", 0)
		if times < 1 {
			o.fail(o.n, "times must be ≥ 1, got %d", times)
		}
	} else {
		blockName = o.mustStr("use")
	}
	body, ok := l.blockDefs[blockName]
	if !ok {
		o.fail(o.n, "no block named %q under blocks:", blockName)
	}
	if sc.depth > 8 {
		o.fail(o.n, "blocks nest more than 8 deep (a block using itself?)")
	}
	pattern := o.str("name", blockName+".{i}")
	if kind == "repeat" && !strings.Contains(pattern, "{i}") {
		o.fail(o.get("name"), "name must contain {i} to number the repeats, got %q", pattern)
	}
	args := map[string]*node{}
	if a := o.get("args"); a != nil {
		ao := l.d.object(a, "args")
		for _, k := range a.keys {
			args["$"+k] = ao.get(k)
		}
	}
	ins := l.inputs(o, sc)
	if len(ins) != 1 {
		o.fail(o.n, "a block takes one input, got %d", len(ins))
	}
	outNames := o.strs("out")
	if len(outNames) > 1 {
		o.fail(o.get("out"), "a block has one result")
	}
	o.done("block", "use", "times", "from", "name", "args", "in", "out")
	// The expansion is estimated before any of it is done: a repeat of a
	// repeat of … multiplies.
	if size := l.blockSize(blockName, map[string]bool{}); float64(l.lowered)+float64(times)*size > limits.Layers {
		o.fail(o.n, "expands to about %s layers (%d × %s), over the limit of %d (limits.Layers)", limits.Count(float64(times)*size), times, limits.Count(size), limits.Layers)
	}
	x := ins[0]
	for i := 0; i < times; i++ {
		prefix := strings.ReplaceAll(pattern, "{i}", fmt.Sprint(from+i))
		inner := &scope{prefix: sc.layerName(prefix), vals: map[string]*ir.Value{}, in: x, last: x, depth: sc.depth + 1}
		if i == times-1 && len(outNames) == 1 {
			inner.outer, inner.out = sc, outNames[0]
		}
		for _, it := range body.items {
			l.layer(substitute(it, args), inner)
		}
		x = inner.last
		if inner.outer != nil {
			if v, ok := sc.vals[outNames[0]]; ok {
				x = v
			} else {
				// The block never wrote $out: its last result is the output.
				l.rename(x, sc.qualify(outNames[0]), o, o.n)
				sc.vals[outNames[0]] = x
			}
		}
	}
	sc.last = x
}

// blockSize estimates the layers one instance of block name expands to:
// its layers, with nested blocks and repeats multiplied out (in float64,
// which cannot overflow here). A repeat count that is not a literal (an
// argument) counts once; the running count in layer still bounds it.
func (l *lowering) blockSize(name string, visiting map[string]bool) float64 {
	if n, ok := l.blockSizes[name]; ok {
		return n
	}
	body, ok := l.blockDefs[name]
	if !ok || visiting[name] {
		return 1 // reported when expanded
	}
	visiting[name] = true
	defer delete(visiting, name)
	total := 0.0
	for _, it := range body.items {
		size := 1.0
		if it.kind == mapNode && len(it.keys) == 1 {
			f := it.fields[it.keys[0]]
			switch it.keys[0] {
			case "repeat":
				size = literalCount(f, "times") * l.blockSize(literalStr(f, "block"), visiting)
			case "block":
				size = l.blockSize(literalStr(f, "use"), visiting)
			}
		}
		total = min(total+size, 1e300)
	}
	l.blockSizes[name] = total
	return total
}

func literalCount(n *node, key string) float64 {
	if n != nil && n.kind == mapNode {
		if f := n.fields[key]; f != nil {
			if v, ok := f.value.(int64); ok && v > 0 {
				return float64(v)
			}
		}
	}
	return 1
}

func literalStr(n *node, key string) string {
	if n != nil && n.kind == mapNode {
		if f := n.fields[key]; f != nil {
			s, _ := f.value.(string)
			return s
		}
	}
	return ""
}

// substitute replaces scalars "$arg" with the instance's argument values.
func substitute(n *node, args map[string]*node) *node {
	if len(args) == 0 {
		return n
	}
	switch n.kind {
	case scalarNode:
		if s, ok := n.value.(string); ok {
			if a, ok := args[s]; ok {
				c := *a
				c.line, c.col = n.line, n.col
				return &c
			}
		}
		return n
	case seqNode:
		c := *n
		c.items = make([]*node, len(n.items))
		for i, it := range n.items {
			c.items[i] = substitute(it, args)
		}
		return &c
	}
	c := *n
	c.fields = map[string]*node{}
	for k, v := range n.fields {
		c.fields[k] = substitute(v, args)
	}
	return &c
}
