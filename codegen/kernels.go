package codegen

import (
	"fmt"
	"go/format"
	"slices"
	"sort"
	"strings"

	"github.com/modelc/modelc/codegen/gosrc"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/amd64"
	"github.com/modelc/modelc/codegen/isa/arm64"
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// targets are the CPU back ends every generated package holds, in the
// order a tier switch tries them (only one target's tiers can be on in a
// process: each belongs to one GOARCH). Adding a target is one line here.
var targets = []isa.Target{amd64.Target{}, arm64.Target{}}

// Targets returns the CPU back ends every generated package holds (the
// autotuner takes its variant spaces from them).
func Targets() []isa.Target { return slices.Clone(targets) }

// vkernel is a target's kernel as a call site uses it.
type vkernel struct {
	t isa.Target
	k isa.Kernel
}

// kctx is what a kernel generator sees: one node, and what it asks of
// the kernel set (packed inputs, scratch, a parallel split, the targets'
// kernels) before it specialises a template (kctx.template) into the
// kernel's body.
type kctx struct {
	node *ir.Node
	body strings.Builder
	// fallible kernels return an error (e.g. an index out of range).
	fallible bool
	// Parallel kernels split [0, parCount) across the worker pool: the
	// body after parallel() is the work for a chunk [lo, hi).
	par      bool
	parCount string
	parGrain int
	// packs asks for constant inputs in a kernel's own layout.
	packs map[int]pack
	// helpers are extra top-level functions the body calls, by name.
	helpers map[string]string
	// scratch are float32 work buffers (element counts, affine in N), live
	// only during the kernel, passed after the inputs.
	scratch []ir.Dim
	// vector are the targets' kernels the body calls, in first-use order.
	vector []vkernel
	tuning *tuning
	// params and types are the kernel's parameters after n (and lo, hi),
	// from its template; unused are those the body does not read.
	params, types []string
	unused        map[string]bool
}

// kernels asks every target for its kernels of one family spec (ask
// calls the family's method) and records them for the package.
func (c *kctx) kernels(ask func(isa.Target) []isa.Kernel) []vkernel {
	var ks []vkernel
	for _, t := range targets {
		for _, k := range ask(t) {
			ks = append(ks, vkernel{t, k})
		}
	}
	c.vector = append(c.vector, ks...)
	return ks
}

// scratchBuf asks for a float32 work buffer of elems elements, the
// kernel's next parameter after its inputs and the buffers asked before.
func (c *kctx) scratchBuf(elems ir.Dim) {
	c.scratch = append(c.scratch, elems)
}

// pack is a build-time layout change of a constant input.
type pack struct {
	key string // names the layout (same key, same layout)
	fn  func(w []float32) []float32
	// i8, for an integer constant instead of fn, packs it into bytes:
	// the kernel receives it as []int8 (weights.bin holds the bytes).
	i8 func(w []int64) []int8
}

// packInput makes the kernel receive input i (a constant) in the layout
// fn produces; key names that layout.
func (c *kctx) packInput(i int, key string, fn func([]float32) []float32) {
	if c.packs == nil {
		c.packs = map[int]pack{}
	}
	c.packs[i] = pack{key: key, fn: fn}
}

// packInt8 makes the kernel receive integer input i (a constant) as
// []int8 in the layout fn produces; key names that layout.
func (c *kctx) packInt8(i int, key string, fn func([]int64) []int8) {
	if c.packs == nil {
		c.packs = map[int]pack{}
	}
	c.packs[i] = pack{key: key, i8: fn}
}

// helper adds a top-level function (emitted once per name) to kernels.go.
func (c *kctx) helper(name, src string) {
	if c.helpers == nil {
		c.helpers = map[string]string{}
	}
	c.helpers[name] = src
}

// parallel marks the rest of the body as the work on chunk [lo, hi) of
// count items (an expression in n and literals), at least grain a chunk.
// Such a kernel is emitted as a struct with a run(lo, hi) method whose
// method value the Model binds once, so calls allocate nothing.
func (c *kctx) parallel(count string, grain int) {
	c.par, c.parCount, c.parGrain = true, count, grain
}

func (c *kctx) in(i int) ir.Type  { return c.node.Inputs[i].Type }
func (c *kctx) out(i int) ir.Type { return c.node.Outputs[i].Type }

// dimExpr is a Go expression for d with the batch in n.
func dimExpr(d ir.Dim) string {
	switch {
	case d.A == 0:
		return itoa(d.B)
	case d.A == 1 && d.B == 0:
		return "n"
	case d.B == 0:
		return fmt.Sprintf("(%d * n)", d.A)
	}
	return fmt.Sprintf("(%d*n + %d)", d.A, d.B)
}

// params pairs names with types.
func params(names, types []string) []tmpl.Param {
	ps := make([]tmpl.Param, len(names))
	for i := range names {
		ps[i] = tmpl.Param{Name: names[i], Type: types[i]}
	}
	return ps
}

// numelExpr is a Go expression for the element count of s.
func numelExpr(s ir.Shape) string { return dimExpr(kernels.Numel(s)) }

func goType(dt ir.DType) string {
	if dt.IsFloat() {
		return "[]float32"
	}
	return "[]int64"
}

// generator writes a kernel body for a node.
type generator func(c *kctx) error

// generators maps op kinds to their kernel family.
var generators = map[ir.Kind]generator{}

func register(g generator, kinds ...ir.Kind) {
	for _, k := range kinds {
		generators[k] = g
	}
}

// kernelSet collects kernel functions, emitting identical ones once.
type kernelSet struct {
	funcs   []string             // rendered functions and types, in first-use order
	byBody  map[string]*kernelFn // signature+body → kernel
	names   map[string]bool      // kernel names taken
	helpers map[string]bool
	// vector are the targets' kernels the package calls, each once, in
	// first-use order.
	vector     []vkernel
	vectorSeen map[string]bool
	tuning     *tuning // the autotuner's choices, nil without
}

// kernelFn is one emitted kernel.
type kernelFn struct {
	name     string
	fallible bool
	par      bool // a struct type with a run method (see kctx.parallel)
	count    string
	grain    int
	params   []string  // parameter names after n (and lo, hi): the template's
	vector   []vkernel // the targets' kernels it calls
	packs    map[int]pack
	scratch  []ir.Dim
}

func newKernelSet() *kernelSet {
	return &kernelSet{byBody: map[string]*kernelFn{}, names: map[string]bool{}, helpers: map[string]bool{}, vectorSeen: map[string]bool{}}
}

// add generates n's kernel and returns it.
func (ks *kernelSet) add(n *ir.Node) (*kernelFn, error) {
	gen, ok := generators[n.Op.Kind()]
	if !ok {
		return nil, fmt.Errorf("%s: no kernel for %s yet", nodeDesc(n), n.Op.Kind())
	}
	if err := checkLayouts(n); err != nil {
		return nil, fmt.Errorf("%s: %w", nodeDesc(n), err)
	}
	c := &kctx{node: n, tuning: ks.tuning}
	if err := gen(c); err != nil {
		return nil, fmt.Errorf("%s: %w", nodeDesc(n), err)
	}
	if c.params == nil {
		return nil, fmt.Errorf("BUG: codegen: the generator of %s wrote no template", n.Op.Kind())
	}
	names, types := c.params, c.types
	ret := ""
	if c.fallible {
		ret = " error"
	}
	sig := (&tmpl.Func{Params: append([]tmpl.Param{{Name: "n", Type: "int"}}, params(names, types)...)}).Signature() + ret
	key := fmt.Sprintf("%s{\n%s}par=%v,%s,%d", sig, c.body.String(), c.par, c.parCount, c.parGrain)
	// Nodes share a kernel, and with it its packs, only when they pack
	// their inputs alike: a pack may hold more of its node than the
	// input it is given (GroupConv's folds in the bias), and its key
	// says so.
	for i := range len(n.Inputs) {
		if p, ok := c.packs[i]; ok {
			key += fmt.Sprintf(",pack%d=%s", i, p.key)
		}
	}
	if k, ok := ks.byBody[key]; ok {
		return k, nil
	}
	name := kernelName(n)
	for base, i := name, 2; ks.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	ks.names[name] = true
	k := &kernelFn{name: name, fallible: c.fallible, par: c.par, count: c.parCount, grain: c.parGrain, params: names, packs: c.packs, scratch: c.scratch, vector: c.vector}
	hnames := make([]string, 0, len(c.helpers))
	for h := range c.helpers {
		hnames = append(hnames, h)
	}
	sort.Strings(hnames)
	for _, h := range hnames {
		if !ks.helpers[h] {
			ks.helpers[h] = true
			ks.funcs = append(ks.funcs, c.helpers[h])
		}
	}
	for _, k := range c.vector {
		if !ks.vectorSeen[k.k.Name] {
			ks.vectorSeen[k.k.Name] = true
			ks.vector = append(ks.vector, k)
		}
	}
	doc := fmt.Sprintf("// %s computes %s.\n", name, comment(ir.Describe(n.Op)))
	if !c.par {
		ks.funcs = append(ks.funcs, doc+"func "+name+sig+"{\n"+c.body.String()+"}\n")
	} else {
		// The struct holds every argument; run takes those the body reads.
		var fields, use, from []string
		fields = append(fields, "n int")
		for i, nm := range names {
			fields = append(fields, nm+" "+types[i])
		}
		for _, nm := range append([]string{"n"}, names...) {
			if !c.unused[nm] {
				use, from = append(use, nm), append(from, "k."+nm)
			}
		}
		unpack := ""
		if len(use) > 0 {
			unpack = strings.Join(use, ", ") + " := " + strings.Join(from, ", ") + "\n"
		}
		ks.funcs = append(ks.funcs, fmt.Sprintf("%stype %s struct {\n%s\n}\n\n// run computes chunk [lo, hi) of %s items.\nfunc (k *%s) run(lo, hi int) {\n%s%s}\n",
			doc, name, strings.Join(fields, "\n"), comment(c.parCount), name, unpack, c.body.String()))
	}
	ks.byBody[key] = k
	return k, nil
}

func nodeDesc(n *ir.Node) string {
	if n.Name != "" {
		return fmt.Sprintf("%s %q", n.Op.Kind(), n.Name)
	}
	return fmt.Sprintf("%s %%%s", n.Op.Kind(), n.Outputs[0].Name)
}

// render writes kernels.go.
func (ks *kernelSet) render(header string, rtImport string) ([]byte, error) {
	var sb strings.Builder
	sb.WriteString(header)
	sb.WriteString("package PKG\n\n")
	// Every package a kernel may use; gosrc.Format drops the rest.
	fmt.Fprintf(&sb, "import (\n\"fmt\"\n\"math\"\n\"unsafe\"\n\nrt %q\n%q\n%q\n)\n\n", rtImport, rtImport+"/numerics", rtImport+"/quant")
	all := strings.Join(ks.funcs, "\n")
	sb.WriteString(all)
	src, err := gosrc.Format([]byte(sb.String()))
	if err != nil {
		return nil, fmt.Errorf("BUG: codegen: kernels.go does not format: %v\n%s", err, sb.String())
	}
	return src, nil
}

// renderTargets writes each target's files for the kernels the package
// calls (isa.Target.Render), and beside them kernels_NAME_stub.go, built
// wherever the target's files are not: its tier flags as false constants
// and a stub for each kernel, so the generic code compiles everywhere.
func (ks *kernelSet) renderTargets(header, pkg, rtImport string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, t := range targets {
		var kernels []isa.Kernel
		for _, k := range ks.vector {
			if k.t == t {
				kernels = append(kernels, k.k)
			}
		}
		if len(kernels) == 0 {
			continue
		}
		out, err := t.Render(isa.File{Package: pkg, Header: header, Runtime: rtImport, Kernels: kernels})
		if err != nil {
			return nil, err
		}
		for name, src := range out {
			if files[name] != nil {
				return nil, fmt.Errorf("BUG: codegen: targets write %s twice", name)
			}
			files[name] = src
		}
		var b strings.Builder
		b.WriteString(header)
		fmt.Fprintf(&b, "//go:build !(%s)\n\npackage %s\n\n", isa.BuildConstraint(t), pkg)
		fmt.Fprintf(&b, "// Without the %s kernels, the pure-Go kernels run.\nconst (\n", t.Name())
		for _, tier := range t.Tiers() {
			fmt.Fprintf(&b, "%s = false\n", isa.Flag(t, tier))
		}
		b.WriteString(")\n\n")
		for _, k := range kernels {
			fmt.Fprintf(&b, "func %s%s { panic(\"unreachable\") }\n\n", k.Name, k.Family.Signature())
		}
		src, err := format.Source([]byte(b.String()))
		if err != nil {
			return nil, fmt.Errorf("BUG: codegen: the %s stubs do not format: %v\n%s", t.Name(), err, b.String())
		}
		files["kernels_"+t.Name()+"_stub.go"] = src
	}
	return files, nil
}
