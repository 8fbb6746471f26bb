package main

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/zoo"
	"github.com/modelc/modelc/zoo/twins"
)

// row is one line of the table: a twin's configuration on one of the zoo
// architectures it is the twin of.
type row struct {
	Twin, Config, Passes string
	Pending              string // "pending: bn-fold not implemented", or ""
	Correct, Rows        int
	Top1, Delta          float64 // Delta: Top1 minus the none row's, in points
	TwinParams           int64
	Arch                 string
	ArchParams           int64
	Latency              map[int]string // batch → median, from the bench harness
	Bench                string         // the bench command line, for the notes
}

// options steer a table build.
type options struct {
	// rows of the held-out set to evaluate (0: all).
	rows int
	// bench measures an architecture under a configuration's passes and
	// returns the median per batch and the command it ran; nil leaves the
	// latency columns empty.
	bench func(arch string, cfg frontend.Configuration) (map[int]string, string, error)
	// skipLossyArch leaves the architecture columns of configurations
	// with lossy passes empty (calibrating a zoo architecture takes the
	// reference evaluator tens of seconds; the tests skip it).
	skipLossyArch bool
	// arch compiles zoo architectures, once per configuration.
	arch *archCache
}

// build makes the rows for every twin under dir.
func build(dir string, o options) ([]row, error) {
	names, err := twins.Names(dir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no twins (folders with a model.yaml)", dir)
	}
	if o.arch == nil {
		o.arch = &archCache{graphs: map[string]*ir.Graph{}}
	}
	var rows []row
	for _, name := range names {
		tw, err := twins.Load(dir, name)
		if err != nil {
			return nil, err
		}
		if len(tw.Model.Configurations) == 0 {
			return nil, fmt.Errorf("%s: no configurations: (want at least none: [])", tw.Model.File)
		}
		noneTop1 := -1.0
		for _, cfg := range tw.Model.Configurations {
			base := row{Twin: name, Config: cfg.Name, Passes: configList(cfg)}
			pending, err := pendingPasses(tw.Model.File, cfg)
			if err != nil {
				return nil, err
			}
			archCfg := cfg
			if len(pending) > 0 {
				base.Pending = "pending: " + strings.Join(pending, ", ") + " not implemented"
			} else {
				res, err := evalTwin(dir, name, cfg, o.rows, &base)
				if err != nil {
					return nil, err
				}
				archCfg = archConfig(cfg, res)
				if cfg.Name == "none" {
					noneTop1 = base.Top1
				}
				if noneTop1 >= 0 {
					base.Delta = 100 * (base.Top1 - noneTop1)
				}
			}
			for _, arch := range tw.Model.TwinOf {
				r := base
				r.Arch = arch
				if r.Pending == "" && !(o.skipLossyArch && lossy(cfg)) {
					g, err := o.arch.graph(arch, archCfg)
					if err != nil {
						return nil, err
					}
					r.ArchParams = params(g)
					if o.bench != nil {
						if r.Latency, r.Bench, err = o.bench(arch, archCfg); err != nil {
							return nil, fmt.Errorf("%s, configuration %s on %s: %w", tw.Model.File, cfg.Name, arch, err)
						}
					}
				}
				rows = append(rows, r)
			}
		}
	}
	return rows, nil
}

// pendingPasses names the configuration's passes that are designed but not
// implemented yet; any other problem with the list is an error.
func pendingPasses(file string, cfg frontend.Configuration) ([]string, error) {
	var pending []string
	for _, s := range compile.Specs(file, cfg.Passes) {
		if _, err := passes.Build([]passes.Spec{s}); errors.Is(err, passes.ErrNotImplemented) {
			pending = append(pending, s.Name)
		}
	}
	if len(pending) > 0 {
		return pending, nil
	}
	if _, err := passes.Build(compile.Specs(file, cfg.Passes), compile.ExcludeSpecs(file, cfg.ExcludePasses)...); err != nil {
		return nil, fmt.Errorf("configuration %s: %w", cfg.Name, err)
	}
	return nil, nil
}

// lower runs the configuration's pipeline on m's graph (in place),
// calibrating lossy passes on m's calibration data (seeded rows for a zoo
// architecture).
func lower(m *frontend.Model, cfg frontend.Configuration) (*compile.Result, error) {
	m.Passes, m.ExcludePasses = cfg.Passes, cfg.ExcludePasses
	return compile.Lower(m, compile.Options{})
}

// archCache compiles zoo architectures under configurations, each
// (architecture, configuration) once: the parameter count and the bench
// harness's cache key both need the graph.
type archCache struct {
	graphs map[string]*ir.Graph
}

func (c *archCache) graph(arch string, cfg frontend.Configuration) (*ir.Graph, error) {
	key := arch + "\n" + configList(cfg)
	if g, ok := c.graphs[key]; ok {
		return g, nil
	}
	m, err := frontend.LoadNamed(zoo.FS(), arch)
	if err != nil {
		return nil, err
	}
	res, err := lower(m, cfg)
	if err != nil {
		return nil, fmt.Errorf("zoo:%s, configuration %s: %w", arch, cfg.Name, err)
	}
	c.graphs[key] = res.Graph
	return res.Graph, nil
}

// lossy reports whether a configuration runs a lossy pass (one that
// calibrates).
func lossy(cfg frontend.Configuration) bool {
	for _, p := range cfg.Passes {
		if pass, ok := passes.Lookup(p.Name); ok && !pass.Exact {
			return true
		}
	}
	return false
}

// evalTwin scores the twin under cfg on its held-out set with the
// reference evaluator, and counts its parameters; it returns what the
// passes did.
func evalTwin(dir, name string, cfg frontend.Configuration, rows int, r *row) (*compile.Result, error) {
	tw, err := twins.Load(dir, name)
	if err != nil {
		return nil, err
	}
	res, err := lower(tw.Model, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s, configuration %s: %w", tw.Model.File, cfg.Name, err)
	}
	g := res.Graph
	n := tw.X.Shape[0]
	if rows > 0 && rows < n {
		n = rows
	}
	logits, err := twins.Eval(g, twins.Rows(tw.X, 0, n), 32)
	if err != nil {
		return nil, fmt.Errorf("%s, configuration %s: %w", tw.Model.File, cfg.Name, err)
	}
	r.Correct, r.Rows = twins.Top1(logits, tw.Labels[:n]), n
	r.Top1 = float64(r.Correct) / float64(n)
	r.TwinParams = params(g)
	return res, nil
}

// archConfig is a configuration as it applies to a zoo architecture: its
// weights are random, so an accuracy budget (max_metric_drop, strict)
// means nothing there and is left out; the twin carries it. An
// attention-drop that only had a budget drops as many regions on the
// architecture as it dropped on the twin (twin: what the twin's passes
// did), and none at all if it dropped none.
func archConfig(cfg frontend.Configuration, twin *compile.Result) frontend.Configuration {
	out := cfg
	out.Passes = nil
	for _, p := range cfg.Passes {
		if _, ok := p.Options["max_metric_drop"]; !ok {
			out.Passes = append(out.Passes, p)
			continue
		}
		q := p
		q.Options = map[string]any{}
		for k, v := range p.Options {
			if k != "max_metric_drop" && k != "strict" {
				q.Options[k] = v
			}
		}
		if p.Name == "attention-drop" && q.Options["drop"] == nil && q.Options["threshold"] == nil {
			dropped := 0
			for _, e := range twin.Log {
				if e.Pass == p.Name {
					dropped = e.Stats["dropped"]
				}
			}
			if dropped == 0 {
				continue
			}
			q.Options["drop"] = int64(dropped)
		}
		out.Passes = append(out.Passes, q)
	}
	return out
}

// params counts the elements of the graph's dense constants (splats are
// generated, not stored).
func params(g *ir.Graph) int64 {
	var n int64
	for _, v := range g.Consts {
		if !v.Const.Splat {
			n += int64(v.Const.Numel())
		}
	}
	return n
}

// configList writes a configuration as model.yaml's flow syntax: its pass
// list, or {passes: [...], exclude_passes: [...]} when it excludes
// default passes.
func configList(cfg frontend.Configuration) string {
	if len(cfg.ExcludePasses) == 0 {
		return passList(cfg.Passes)
	}
	var ex []string
	for _, p := range cfg.ExcludePasses {
		ex = append(ex, p.Name)
	}
	s := "{"
	if len(cfg.Passes) > 0 {
		s += "passes: " + passList(cfg.Passes) + ", "
	}
	return s + "exclude_passes: [" + strings.Join(ex, ", ") + "]}"
}

// passList writes a configuration's passes as model.yaml's flow syntax.
func passList(ps []frontend.PassSpec) string {
	var parts []string
	for _, p := range ps {
		if len(p.Options) == 0 {
			parts = append(parts, p.Name)
			continue
		}
		parts = append(parts, "{"+p.Name+": "+flow(p.Options)+"}")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// flow writes a plain value (from the YAML decoder) in YAML flow style.
func flow(v any) string {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+": "+flow(v[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, flow(x))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		if v == "" || strings.ContainsAny(v, ":{}[],#&*!|>'\"%@`") {
			return fmt.Sprintf("%q", v)
		}
		return v
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

// archYAML is a zoo architecture's model.yaml with the configuration's
// passes added (for the bench harness), and the data files it names.
func archYAML(arch string, cfg frontend.Configuration) ([]byte, map[string][]byte, error) {
	src, err := fs.ReadFile(zoo.FS(), arch+"/model.yaml")
	if err != nil {
		return nil, nil, err
	}
	if slices.ContainsFunc(strings.Split(string(src), "\n"), func(l string) bool { return strings.HasPrefix(l, "passes:") }) {
		return nil, nil, fmt.Errorf("zoo:%s already names passes", arch)
	}
	add := "\n# added by zootable: configuration " + cfg.Name + "\npasses: " + passList(cfg.Passes) + "\n"
	if len(cfg.ExcludePasses) > 0 {
		add += "exclude_passes: " + passList(cfg.ExcludePasses) + "\n"
	}
	out := append(append([]byte(nil), src...), []byte(add)...)
	files := map[string][]byte{}
	entries, err := fs.ReadDir(zoo.FS(), arch)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if e.Name() != "model.yaml" {
			if files[e.Name()], err = fs.ReadFile(zoo.FS(), arch+"/"+e.Name()); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, files, nil
}
