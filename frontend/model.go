// Package frontend turns a model definition (model.yaml, with weights in
// safetensors or generated from a seed) into an ir.Graph. Every error in
// user input names file:line:col and what was expected; every path the
// YAML names resolves relative to the YAML file and must stay inside its
// directory, so that a build never embeds an arbitrary host file.
package frontend

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/modelc/modelc/internal/gosafe"
	"github.com/modelc/modelc/internal/limits"
	"github.com/modelc/modelc/ir"
)

// Model is a loaded model.yaml.
type Model struct {
	Name    string
	Package string // Go package name for generated code
	File    string // the YAML file, as given
	Graph   *ir.Graph

	Passes []PassSpec
	// ExcludePasses names default passes (bn-fold) this model must not
	// run (exclude_passes:).
	ExcludePasses []PassSpec
	Targets       []string
	Test          *DataSpec // test vectors: inputs and expected outputs
	Calibration   *DataSpec // calibration inputs and labels
	// TwinOf names the zoo architectures a trained model is the accuracy
	// twin of (twin_of:); Configurations are its named pass lists
	// (configurations:), in source order: the rows of docs/zoo-table.md.
	TwinOf         []string
	Configurations []Configuration
	Seed           uint64 // init: {seed}; 0 when weights come from a file
	WeightsFile    string // weights: FILE, as written

	src *source
	// where maps a value's name to the position of the layer that made it
	// (model.yaml only), for errors found after lowering.
	where map[string]string
}

// Where returns "file:line:col" of the layer that computes the value
// named name, or the model's file when that is not known (an ONNX model,
// a value a pass made).
func (m *Model) Where(name string) string {
	if p, ok := m.where[name]; ok {
		return p
	}
	return m.File
}

// PassSpec is one entry of passes: (or exclude_passes:), kept raw for
// the pass registry, which validates names, order and options.
type PassSpec struct {
	Name      string
	Options   map[string]any
	Line, Col int
	// OptionPos is each option's value position, for messages about it.
	OptionPos map[string][2]int
}

// Configuration is one entry of configurations: a name and the passes
// it runs, written as passes: is, or as {passes: [...], exclude_passes:
// [...]} when it also turns default passes off.
type Configuration struct {
	Name          string
	Passes        []PassSpec
	ExcludePasses []PassSpec
	Line, Col     int
}

// DataSpec names data files (.npy/.npz) relative to the model.
type DataSpec struct {
	Inputs  []string
	Outputs []string // test: expected outputs
	Labels  []string // class labels, one per row (calibration:, and optional for test:)
	// Metric is calibration's score: top1 (needs labels), kl or rel-l2
	// (the outputs against the float model's); kl when there are no labels.
	Metric    string
	Rtol      float64
	Line, Col int
}

// Options configures Load.
type Options struct {
	// AllowExternalPaths lets the YAML name files outside its directory.
	AllowExternalPaths bool
	// Bind gives values to an ONNX model's graph inputs that the IR needs
	// at build time (a Reshape's shape, Pad's pads fed as inputs): they
	// become constants (onnx.Options.Bind). model.yaml's source: {bind:}
	// adds to them.
	Bind map[string]*ir.Tensor
}

// Load reads a model.yaml, or an ONNX model (.onnx), from the file system.
func Load(file string, opts Options) (*Model, error) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	src := &source{fsys: os.DirFS(dir), dir: dir, display: file, os: true, allowExternal: opts.AllowExternalPaths, bind: opts.Bind}
	if strings.EqualFold(filepath.Ext(base), ".onnx") {
		return loadONNXModel(src, base)
	}
	return load(src, base)
}

// LoadFS reads a model.yaml from fsys (for the embedded zoo); file's
// directory is the model's root.
func LoadFS(fsys fs.FS, file string) (*Model, error) {
	sub, err := fs.Sub(fsys, path.Dir(file))
	if err != nil {
		return nil, err
	}
	return load(&source{fsys: sub, display: file}, path.Base(file))
}

func load(src *source, base string) (m *Model, err error) {
	var data []byte
	if src.os {
		// The model file itself: a regular file of bounded size, opened once.
		var f *os.File
		if f, err = openNonBlocking(filepath.Join(src.dir, base)); err == nil {
			var size int64
			if size, err = regularSize(f, src.display); err == nil {
				data, err = readBounded(f, src.display, size, limits.YAMLBytes)
			}
			f.Close()
		}
		if err != nil && !strings.HasPrefix(err.Error(), src.display) {
			err = fmt.Errorf("%s: %w", src.display, err)
		}
	} else {
		data, err = fs.ReadFile(src.fsys, base)
		if err != nil {
			err = fmt.Errorf("%s: %w", src.display, unwrapPathError(err))
		}
	}
	if err != nil {
		return nil, err
	}
	root, err := parseYAML(src.display, data)
	if err != nil {
		return nil, err
	}
	defer catchPosError(&err)
	d := &decoder{file: src.display}
	return d.model(root, src), nil
}

// catchPosError, deferred, turns a decoder's posError panic into *err;
// other panics go on.
func catchPosError(err *error) {
	if r := recover(); r != nil {
		pe, ok := r.(posError)
		if !ok {
			panic(r)
		}
		*err = pe.err
	}
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// source reads the files a model names, enforcing the path policy.
type source struct {
	fsys          fs.FS
	dir           string // OS directory of the YAML (os sources only)
	display       string // the YAML path for messages
	os            bool
	allowExternal bool
	bind          map[string]*ir.Tensor // ONNX inputs bound at build time
}

// ReadFile reads a file named relative to the model, under the path
// policy, if it holds at most limits.ConstBytes (see openFile).
func (s *source) ReadFile(rel string) ([]byte, error) {
	if s.os {
		return s.readAll(rel, limits.ConstBytes)
	}
	clean := path.Clean(rel)
	if !fs.ValidPath(clean) {
		return nil, fmt.Errorf("%s: path must stay inside the model's directory", rel)
	}
	return fs.ReadFile(s.fsys, clean)
}

// ReadFile reads a file named relative to the model (with the path policy).
func (m *Model) ReadFile(rel string) ([]byte, error) { return m.src.ReadFile(rel) }

var topKeys = []string{"name", "package", "inputs", "outputs", "weights", "init", "source", "blocks", "graph", "passes", "exclude_passes", "calibration", "targets", "test", "twin_of", "configurations"}

func (d *decoder) model(root *node, src *source) *Model {
	top := d.object(root, "model")
	m := &Model{File: src.display, src: src}
	m.Name = top.mustStr("name")
	m.Package = top.str("package", "")
	if m.Package == "" {
		m.Package = GoPackageName(m.Name)
	} else if err := gosafe.CheckPackage(m.Package); err != nil {
		top.fail(top.get("package"), "%v", err)
	}
	if top.has("source") {
		d.fromSource(m, top, src)
		return m
	}
	l := newLowering(d, m.Name)
	inputs := top.get("inputs")
	if inputs == nil || inputs.kind != seqNode || len(inputs.items) == 0 {
		d.failAt(orNode(inputs, root), "inputs: want a list like [{name: x, shape: [N, 4], dtype: f32}]")
	}
	for _, in := range inputs.items {
		l.input(in)
	}
	if b := top.get("blocks"); b != nil {
		l.blocks(b)
	}
	g := top.get("graph")
	if g == nil || g.kind != seqNode || len(g.items) == 0 {
		d.failAt(orNode(g, root), "graph: want a list of layers")
	}
	l.layers(g.items, l.root)
	l.outputs(top.strs("outputs"), top.get("outputs"))
	m.Graph = l.b.G
	m.where = map[string]string{}
	for v, at := range l.at {
		m.where[v.Name] = fmt.Sprintf("%s:%d:%d", src.display, at.line, at.col)
	}

	// Weights: from a file or generated from a seed.
	wf, init := top.get("weights"), top.get("init")
	switch {
	case wf != nil && init != nil:
		d.failAt(init, "give either weights: FILE or init: {seed: S}, not both")
	case wf != nil:
		m.WeightsFile = top.str("weights", "")
		l.bindFile(src, m.WeightsFile, wf)
	case init != nil:
		io := d.object(init, "init")
		seed := io.integer("seed", 0)
		io.done("seed")
		if seed < 0 {
			d.failAt(init, "init: seed must be ≥ 0")
		}
		m.Seed = uint64(seed)
		l.bindSeed(m.Seed)
	default:
		d.failAt(root, "model needs weights: FILE.safetensors or init: {seed: S}")
	}
	d.common(m, top)
	top.done(topKeys...)
	if err := ir.Verify(m.Graph); err != nil {
		// The lowering checks every layer, so this is our bug.
		panic(fmt.Sprintf("BUG: frontend produced an invalid graph for %s: %v\n%s", src.display, err, m.Graph))
	}
	return m
}

// fromSource fills m from source: {onnx: FILE}: the graph and weights
// come from the ONNX file, the YAML adds passes, targets, test vectors
// and calibration data.
func (d *decoder) fromSource(m *Model, top *obj, src *source) {
	sn := top.get("source")
	so := d.object(sn, "source")
	file := so.mustStr("onnx")
	if b := so.get("bind"); b != nil {
		src = src.withBind(d.bindings(d.object(b, "source: bind")))
	}
	so.done("onnx", "bind")
	for _, k := range []string{"inputs", "outputs", "graph", "blocks", "weights", "init"} {
		if top.has(k) {
			top.fail(top.get(k), "%s: not with source: the ONNX file gives the graph, its inputs and weights", k)
		}
	}
	g, err := src.loadONNX(file, m.Name)
	if err != nil {
		d.failAt(so.get("onnx"), "source: %s: %v", file, err)
	}
	m.Graph = g
	d.common(m, top)
	top.done(topKeys...)
}

// common reads the keys a YAML model and an ONNX source share: passes,
// targets, test vectors, calibration data, twin_of and configurations.
func (d *decoder) common(m *Model, top *obj) {
	m.Passes = d.passes(top.get("passes"))
	m.ExcludePasses = d.excludePasses(top.get("exclude_passes"))
	m.Targets = d.targets(top.get("targets"))
	if t := top.get("test"); t != nil {
		m.Test = d.data(t, "test")
	}
	if c := top.get("calibration"); c != nil {
		m.Calibration = d.data(c, "calibration")
	}
	m.TwinOf = top.strs("twin_of")
	if n := top.get("configurations"); n != nil {
		m.Configurations = d.configurations(n)
	}
	// A pass with an accuracy budget measures the metric on labelled
	// calibration data.
	if len(d.metricDrops) > 0 && m.Calibration == nil {
		md := d.metricDrops[0]
		d.failAt(md.at, "pass %s: max_metric_drop needs calibration: {inputs: X.npy, labels: Y.npy} (or without labels, metric: kl)", md.pass)
	}
}

// ParseConfiguration reads one configuration written as configurations:
// writes it (a pass list, or {passes: [...], exclude_passes: [...]}) from
// src, for command-line flags such as modelc bench --variant; positions
// and errors are relative to src, named file.
func ParseConfiguration(file, name, src string) (c Configuration, err error) {
	root, err := parseYAML(file, []byte(src))
	if err != nil {
		return c, err
	}
	defer catchPosError(&err)
	d := &decoder{file: file}
	cs := d.configurations(&node{line: 1, col: 1, kind: mapNode, keys: []string{name},
		fields: map[string]*node{name: root}, keyPos: map[string]*node{name: {line: 1, col: 1}}})
	return cs[0], nil
}

// configurations reads {name: [passes…], …}.
func (d *decoder) configurations(n *node) []Configuration {
	if n.kind != mapNode || len(n.keys) == 0 {
		d.failAt(n, "configurations: want a mapping of names to pass lists, such as {none: [], bn-fold: [bn-fold]}")
	}
	var out []Configuration
	for _, name := range n.keys {
		kp := n.keyPos[name]
		if name == "" || strings.ContainsAny(name, "|`\n") {
			d.failAt(kp, "configurations: name %q must be non-empty, without | or backquotes", name)
		}
		v := n.fields[name]
		c := Configuration{Name: name, Line: kp.line, Col: kp.col}
		switch v.kind {
		case seqNode:
			c.Passes = d.passes(v)
		case mapNode:
			o := d.object(v, "configuration "+name)
			c.Passes = d.passes(o.get("passes"))
			c.ExcludePasses = d.excludePasses(o.get("exclude_passes"))
			o.done("passes", "exclude_passes")
		default:
			d.failAt(v, "configuration %s: want a list of passes such as [bn-fold, {attention-drop: {drop: 1}}] ([] for none), or {passes: [...], exclude_passes: [bn-fold]}, got %s", name, v.describe())
		}
		out = append(out, c)
	}
	return out
}

func orNode(n, def *node) *node {
	if n != nil {
		return n
	}
	return def
}

func (d *decoder) passes(n *node) []PassSpec {
	if n == nil {
		return nil
	}
	if n.kind != seqNode {
		d.failAt(n, "passes: want a list such as [bn-fold, {attention-drop: {drop: 2}}]")
	}
	var out []PassSpec
	for _, it := range n.items {
		switch {
		case it.kind == scalarNode:
			s, ok := it.value.(string)
			if !ok {
				d.failAt(it, "passes: want a pass name, got %s", it.describe())
			}
			out = append(out, PassSpec{Name: s, Line: it.line, Col: it.col})
		case it.kind == mapNode && len(it.keys) == 1:
			name := it.keys[0]
			opts := map[string]any{}
			var optPos map[string][2]int
			if v := it.fields[name]; v.kind == mapNode {
				opts = plain(v).(map[string]any)
				optPos = map[string][2]int{}
				for k, f := range v.fields {
					optPos[k] = [2]int{f.line, f.col}
				}
				if md, ok := v.fields["max_metric_drop"]; ok {
					d.metricDrop(name, md)
				}
			} else if v.value != nil {
				d.failAt(v, "pass %s: options must be a mapping", name)
			}
			kp := it.keyPos[name]
			out = append(out, PassSpec{Name: name, Options: opts, Line: kp.line, Col: kp.col, OptionPos: optPos})
		default:
			d.failAt(it, "passes: want a pass name or {name: {options}}")
		}
	}
	return out
}

// excludePasses reads exclude_passes: a pass name or a list of them;
// the registry checks that each is a default pass.
func (d *decoder) excludePasses(n *node) []PassSpec {
	if n == nil {
		return nil
	}
	items := []*node{n}
	if n.kind == seqNode {
		items = n.items
	}
	var out []PassSpec
	for _, it := range items {
		s, ok := it.value.(string)
		if it.kind != scalarNode || !ok || s == "" {
			d.failAt(it, "exclude_passes: want a pass name or a list such as [bn-fold], got %s", it.describe())
		}
		out = append(out, PassSpec{Name: s, Line: it.line, Col: it.col})
	}
	return out
}

// metricDrop checks a pass's accuracy budget, max_metric_drop: the most
// the calibration metric may fall, in [0, 1] (top-1 as a fraction, so
// 0.01 is one point; for kl and rel-l2 the most they may rise above the
// float model's 0). Only parsed here: package calib enforces it.
func (d *decoder) metricDrop(pass string, n *node) {
	var f float64
	switch v := n.value.(type) {
	case int64:
		f = float64(v)
	case float64:
		f = v
	default:
		d.failAt(n, "pass %s: max_metric_drop must be a number in [0, 1] (a fraction of top-1), got %s", pass, n.describe())
	}
	if n.kind != scalarNode || !(f >= 0 && f <= 1) {
		d.failAt(n, "pass %s: max_metric_drop must be a number in [0, 1] (a fraction of top-1), got %s", pass, n.describe())
	}
	d.metricDrops = append(d.metricDrops, metricDrop{pass: pass, at: n})
}

// CheckTarget reports whether name is a target model.yaml's targets: (or
// modelc build --target) may name. Every CPU back end that exists is
// always generated (pure Go, amd64 and arm64), so naming one changes
// nothing; targets are for the optional back ends, and a name without a
// back end yet is refused rather than ignored.
func CheckTarget(name string) error {
	switch name {
	case "amd64", "arm64":
		return nil
	case "cuda":
		return fmt.Errorf("cuda has no back end yet (the CUDA PTX path is not written); leave it out")
	}
	return fmt.Errorf("unknown target %q (want amd64 or arm64, or the back end to come: cuda; pure Go is always generated)", name)
}

func (d *decoder) targets(n *node) []string {
	if n == nil {
		return nil
	}
	o := &obj{d: d, n: &node{kind: mapNode, fields: map[string]*node{"targets": n}, keys: []string{"targets"}}, what: "targets", used: map[string]bool{}}
	ts := o.strs("targets")
	for _, t := range ts {
		if err := CheckTarget(t); err != nil {
			d.failAt(n, "targets: %v", err)
		}
	}
	return ts
}

func (d *decoder) data(n *node, what string) *DataSpec {
	o := d.object(n, what)
	ds := &DataSpec{Line: n.line, Col: n.col}
	ds.Inputs = o.strs("inputs")
	ds.Labels = o.strs("labels")
	if len(ds.Inputs) == 0 {
		o.fail(n, "missing inputs")
	}
	if what == "test" {
		ds.Outputs = o.strs("outputs")
		ds.Rtol = o.float("rtol", 1e-4)
		if len(ds.Outputs) == 0 {
			o.fail(n, "missing outputs")
		}
		o.done("inputs", "outputs", "labels", "rtol")
		return ds
	}
	def := "kl"
	if len(ds.Labels) > 0 {
		def = "top1"
	}
	ds.Metric = o.str("metric", def)
	switch ds.Metric {
	case "top1":
		if len(ds.Labels) == 0 {
			o.fail(o.get("metric"), "metric top1 needs labels: Y.npy (or use metric: kl or rel-l2, which compare the outputs with the float model's)")
		}
	case "kl", "rel-l2":
	default:
		o.fail(o.get("metric"), "metric must be top1, kl or rel-l2, got %q", ds.Metric)
	}
	o.done("inputs", "labels", "metric")
	return ds
}

// GoPackageName turns a model name into a Go package name that can be
// imported (see gosafe.Package): lower case, letters and digits only, not
// starting with a digit, never a keyword or main.
func GoPackageName(name string) string { return gosafe.Package(name) }

// LoadNamed reads model NAME/model.yaml from fsys (the zoo's layout),
// naming the available models when NAME is not there.
func LoadNamed(fsys fs.FS, name string) (*Model, error) {
	if _, err := fs.Stat(fsys, name+"/model.yaml"); err != nil {
		entries, _ := fs.ReadDir(fsys, ".")
		var have []string
		for _, e := range entries {
			if e.IsDir() {
				have = append(have, e.Name())
			}
		}
		return nil, fmt.Errorf("no model %q (have %s)", name, strings.Join(have, ", "))
	}
	return LoadFS(fsys, name+"/model.yaml")
}
