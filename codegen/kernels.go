package codegen

import (
	"crypto/sha256"
	"fmt"
	"go/format"
	"sort"
	"strings"

	"github.com/modelc/modelc/codegen/asm"
	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/rows"
	"github.com/modelc/modelc/ir"
)

// kctx is what a kernel generator sees: one node, and a writer for the
// function body. The function's parameters are n (the batch), then one
// slice per result (o0, o1, …) and per input (i0, i1, …), typed by dtype.
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
	// only during the kernel, passed as s0, s1, … after the inputs.
	scratch []ir.Dim
	// x86 are assembly kernels and their Go drivers, by driver name.
	x86 map[string]x86Part
}

// x86Part is one assembly-backed function: its Go source (built on amd64
// without the purego tag), the stub that stands in for it elsewhere, and
// the assembly functions it calls.
type x86Part struct {
	goSrc, stub string
	funcs       []*asm.Func
}

// x86Helper adds an assembly-backed function, emitted once per name.
func (c *kctx) x86Helper(name string, part x86Part) {
	if c.x86 == nil {
		c.x86 = map[string]x86Part{}
	}
	c.x86[name] = part
}

// scratchBuf asks for a float32 work buffer of elems elements and returns
// its parameter name.
func (c *kctx) scratchBuf(elems ir.Dim) string {
	c.scratch = append(c.scratch, elems)
	return fmt.Sprintf("s%d", len(c.scratch)-1)
}

// pack is a build-time layout change of a constant input.
type pack struct {
	key string // names the layout (same key, same layout)
	fn  func(w []float32) []float32
}

// packInput makes the kernel receive input i (a constant) in the layout
// fn produces; key names that layout.
func (c *kctx) packInput(i int, key string, fn func([]float32) []float32) {
	if c.packs == nil {
		c.packs = map[int]pack{}
	}
	c.packs[i] = pack{key, fn}
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

// line writes one line of the body; "$name" placeholders are replaced from
// kv pairs, so templates read like the Go they produce.
func (c *kctx) line(tmpl string, kv ...any) {
	// Longest keys first, so $KH is not taken for $K followed by H.
	idx := make([]int, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return len(kv[idx[a]].(string)) > len(kv[idx[b]].(string)) })
	for _, i := range idx {
		tmpl = strings.ReplaceAll(tmpl, "$"+kv[i].(string), fmt.Sprint(kv[i+1]))
	}
	c.body.WriteString(tmpl)
	c.body.WriteByte('\n')
}

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

// normAxis turns a negative axis (counted from the end) into its index;
// shape rules have already checked it is in range.
func normAxis(axis, rank int) int {
	if axis < 0 {
		axis += rank
	}
	return axis
}

// numelExpr is a Go expression for the element count of s.
func numelExpr(s ir.Shape) string {
	d, ok := s.NumelDim()
	if !ok {
		panic("BUG: codegen: size of " + s.String() + " is not affine (memory-plan checks this)")
	}
	return dimExpr(d)
}

// shapeExpr is a Go array literal of s's dims.
func shapeExpr(s ir.Shape) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = dimExpr(d)
	}
	return "[...]int{" + strings.Join(parts, ", ") + "}"
}

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
	helpers map[string]bool
	// x86 parts in first-use order, and the assembly functions they
	// call, each once.
	x86      []x86Part
	x86Names map[string]bool
	asmFuncs []*asm.Func
}

// kernelFn is one emitted kernel.
type kernelFn struct {
	name     string
	fallible bool
	par      bool // a struct type with a run method (see kctx.parallel)
	count    string
	grain    int
	params   []string // parameter names after n: o0…, i0…, s0…
	packs    map[int]pack
	scratch  []ir.Dim
}

func newKernelSet() *kernelSet {
	return &kernelSet{byBody: map[string]*kernelFn{}, helpers: map[string]bool{}, x86Names: map[string]bool{}}
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
	c := &kctx{node: n}
	if err := gen(c); err != nil {
		return nil, fmt.Errorf("%s: %w", nodeDesc(n), err)
	}
	var params, names, types []string
	params = append(params, "n int")
	add := func(name string, v *ir.Value) {
		params = append(params, name+" "+goType(v.Type.DType))
		names = append(names, name)
		types = append(types, goType(v.Type.DType))
	}
	for i, v := range n.Outputs {
		add(fmt.Sprintf("o%d", i), v)
	}
	for i, v := range n.Inputs {
		add(fmt.Sprintf("i%d", i), v)
	}
	for i := range c.scratch {
		params = append(params, fmt.Sprintf("s%d []float32", i))
		names = append(names, fmt.Sprintf("s%d", i))
		types = append(types, "[]float32")
	}
	ret := ""
	if c.fallible {
		ret = " error"
	}
	sig := "(" + strings.Join(params, ", ") + ")" + ret
	key := fmt.Sprintf("%s{\n%s}par=%v,%s,%d", sig, c.body.String(), c.par, c.parCount, c.parGrain)
	if k, ok := ks.byBody[key]; ok {
		return k, nil
	}
	h := sha256.Sum256([]byte(key))
	kind := n.Op.Kind().String()
	name := strings.ReplaceAll(fmt.Sprintf("k%s%d%x", kind[:min(4, len(kind))], len(ks.byBody), h[:2]), "_", "")
	k := &kernelFn{name: name, fallible: c.fallible, par: c.par, count: c.parCount, grain: c.parGrain, params: names, packs: c.packs, scratch: c.scratch}
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
	xnames := make([]string, 0, len(c.x86))
	for h := range c.x86 {
		xnames = append(xnames, h)
	}
	sort.Strings(xnames)
	for _, h := range xnames {
		if ks.x86Names[h] {
			continue
		}
		ks.x86Names[h] = true
		part := c.x86[h]
		ks.x86 = append(ks.x86, part)
		for _, f := range part.funcs {
			if !ks.x86Names["asm:"+f.Name] {
				ks.x86Names["asm:"+f.Name] = true
				ks.asmFuncs = append(ks.asmFuncs, f)
			}
		}
	}
	doc := fmt.Sprintf("// %s computes %s.\n", name, comment(ir.Describe(n.Op)))
	if !c.par {
		ks.funcs = append(ks.funcs, doc+"func "+name+sig+"{\n"+c.body.String()+"}\n")
	} else {
		var fields, unpack []string
		fields = append(fields, "n int")
		for i, nm := range names {
			fields = append(fields, nm+" "+types[i])
		}
		unpack = append(unpack, "n := k.n")
		for _, nm := range names {
			unpack = append(unpack, nm+" := k."+nm, "_ = "+nm)
		}
		ks.funcs = append(ks.funcs, fmt.Sprintf("%stype %s struct {\n%s\n}\n\n// run computes chunk [lo, hi) of %s items.\nfunc (k *%s) run(lo, hi int) {\n%s\n_, _, _ = n, lo, hi\n%s}\n",
			doc, name, strings.Join(fields, "\n"), comment(c.parCount), name, strings.Join(unpack, "\n"), c.body.String()))
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
	imports := map[string]bool{}
	all := strings.Join(ks.funcs, "\n")
	for _, imp := range []string{"math", "fmt"} {
		if strings.Contains(all, imp+".") {
			imports[imp] = true
		}
	}
	if strings.Contains(all, "rt.") {
		imports[`rt "`+rtImport+`"`] = true
	}
	if strings.Contains(all, "numerics.") {
		imports[`"`+rtImport+`/numerics"`] = true
	}
	var list []string
	for imp := range imports {
		if !strings.Contains(imp, `"`) {
			imp = `"` + imp + `"`
		}
		list = append(list, imp)
	}
	sort.Strings(list)
	if len(list) > 0 {
		sb.WriteString("import (\n" + strings.Join(list, "\n") + "\n)\n\n")
	}
	sb.WriteString(all)
	src, err := format.Source([]byte(sb.String()))
	if err != nil {
		return nil, fmt.Errorf("BUG: codegen: kernels.go does not format: %v\n%s", err, sb.String())
	}
	return src, nil
}

// renderX86 writes the amd64 files: kernels_amd64.go (the Go drivers of
// the assembly kernels and the tier switches), kernels_amd64.s, and
// kernels_other.go, which stands in for them with the purego tag or on
// other architectures. It returns nil when no kernel uses assembly.
func (ks *kernelSet) renderX86(header, pkg, rtImport string) (map[string][]byte, error) {
	if len(ks.x86) == 0 {
		return nil, nil
	}
	var goSrc, stubs strings.Builder
	goSrc.WriteString(header)
	std, ours := `"unsafe"`, fmt.Sprintf("rt %q", rtImport)
	all := ""
	for _, p := range ks.x86 {
		all += p.goSrc
	}
	if strings.Contains(all, "math.") {
		std = `"math"` + "\n" + std
	}
	if strings.Contains(all, "numerics.") {
		ours += fmt.Sprintf("\n%q", rtImport+"/numerics")
	}
	fmt.Fprintf(&goSrc, "//go:build !purego\n\npackage %s\n\nimport (\n%s\n\n%s\n)\n\n", pkg, std, ours)
	goSrc.WriteString("// The kernels' tier, chosen once from the CPU's features (rt.CPUTier).\n")
	goSrc.WriteString("var (\nuseAVX512 = rt.CPUTier() >= rt.TierAVX512\nuseAVX2 = rt.CPUTier() >= rt.TierAVX2\n)\n\n")
	goSrc.WriteString(gemm.GemmArgsDecl + "\n")
	if strings.Contains(all, "lnArgs{") {
		goSrc.WriteString(rows.LNArgsDecl + "\n")
	}
	if strings.Contains(all, "ewArgs{") {
		goSrc.WriteString(rows.EWArgsDecl + "\n")
	}
	file := asm.File{Build: "!purego", Funcs: ks.asmFuncs}
	goSrc.WriteString(file.GoDecls())
	stubs.WriteString(header)
	fmt.Fprintf(&stubs, "//go:build !amd64 || purego\n\npackage %s\n\n", pkg)
	stubs.WriteString("// Without the amd64 assembly, the pure-Go kernels run.\nconst useAVX512, useAVX2 = false, false\n\n")
	for _, p := range ks.x86 {
		goSrc.WriteString(p.goSrc + "\n")
		stubs.WriteString(p.stub + "\n")
	}
	files := map[string][]byte{}
	for name, src := range map[string]string{"kernels_amd64.go": goSrc.String(), "kernels_other.go": stubs.String()} {
		out, err := format.Source([]byte(src))
		if err != nil {
			return nil, fmt.Errorf("BUG: codegen: %s does not format: %v\n%s", name, err, src)
		}
		files[name] = out
	}
	for _, l := range strings.Split(strings.TrimSpace(header), "\n") {
		file.Header = append(file.Header, strings.TrimPrefix(strings.TrimPrefix(l, "//"), " "))
	}
	files["kernels_amd64.s"] = []byte(file.AMD64())
	return files, nil
}
