package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/passes"
)

// modelc bench --build: several builds of one model timed in one run,
// interleaved round by round like the peers, so the difference between
// two pass lists, or between this modelc and the package an older one
// generated, is a ratio from one run rather than two runs' noise.

const buildUsage = "--build NAME, NAME=passes:P,..., NAME=config:C or NAME=dir:DIR"

// benchBuild is one build modelc bench times: its row's engine name, its
// driver, what its row's version adds (the passes, the package's folder)
// and the environment its driver runs in (a kernel tier turned off).
type benchBuild struct {
	name, note string
	dir        string // a package's folder (NAME=dir:DIR)
	d          *driver
	env        []string
}

// benchBuilds builds what --build names, in order; without any, the
// model as given, named modelc. A build is
//
//	NAME               the model as given (its passes and --passes)
//	NAME=passes:P,...  the model with these user passes instead of its own (passes: for none)
//	NAME=config:C      the model with a pass configuration instead of its own, in
//	                   model.yaml's configurations: syntax, so with options and
//	                   exclusions ('config:[{attention-drop: {drop: 6}}]',
//	                   'config:{exclude_passes: [bn-fold]}')
//	NAME=dir:DIR       a package modelc generated for this model, say an older modelc's
//
// Every build's engine is "modelc NAME". The caller closes the drivers.
func benchBuilds(m *frontend.Model, specs []string, maxBatch int) (builds []benchBuild, err error) {
	defer func() {
		if err != nil {
			closeBuilds(builds)
			builds = nil
		}
	}()
	if len(specs) == 0 {
		d, err := buildDriver(m, nil, maxBatch)
		if err != nil {
			return nil, err
		}
		return []benchBuild{{name: "modelc", note: passLabelIf(m.Passes, m.ExcludePasses), d: d}}, nil
	}
	type spec struct{ s, name, kind, arg string }
	var parsed []spec
	seen := map[string]bool{}
	for _, s := range specs {
		name, kind, arg, err := parseBuild(s)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, usageError{fmt.Sprintf("--build %s: the name %s is used twice", s, name)}
		}
		seen[name] = true
		parsed = append(parsed, spec{s, name, kind, arg})
	}
	orig := m.Graph.Clone() // each build compiles a copy; the pipeline rewrites it
	dirs := false
	for _, p := range parsed {
		b := benchBuild{name: "modelc " + p.name}
		var err error
		switch p.kind {
		case "":
			mb := *m
			mb.Graph = orig.Clone()
			b.note = passLabelIf(mb.Passes, mb.ExcludePasses)
			b.d, err = buildDriver(&mb, nil, maxBatch)
		case "passes":
			mb := *m
			mb.Graph, mb.Passes = orig.Clone(), nil
			for _, ps := range strings.Split(p.arg, ",") {
				if ps = strings.TrimSpace(ps); ps != "" {
					mb.Passes = append(mb.Passes, frontend.PassSpec{Name: ps})
				}
			}
			b.note = passNote(mb.Passes)
			if b.note == "" {
				b.note = " passes: none"
			}
			b.d, err = buildDriver(&mb, nil, maxBatch)
		case "config":
			file := "--build " + p.name
			var cfg frontend.Configuration
			if cfg, err = frontend.ParseConfiguration(file, p.name, p.arg); err == nil {
				var pl *passes.Pipeline
				if pl, err = passes.Build(compile.Specs(file, cfg.Passes), compile.ExcludeSpecs(file, cfg.ExcludePasses)...); err == nil {
					mb := *m
					mb.Graph = orig.Clone()
					b.note = passLabel(cfg.Passes, cfg.ExcludePasses)
					b.d, err = buildDriver(&mb, pl, maxBatch)
				}
			}
		case "dir":
			// Built last, once a compiled graph gives its ports.
			b.dir, dirs = p.arg, true
		}
		if err != nil {
			return builds, fmt.Errorf("--build %s: %w", p.s, err)
		}
		builds = append(builds, b)
	}
	if !dirs {
		return builds, nil
	}
	// A package's inputs and outputs are its model's: the graph of any
	// build compiled here, or the model lowered with its own passes.
	var ports *frontend.Model
	for _, b := range builds {
		if b.d != nil {
			ports = &frontend.Model{Graph: b.d.graph}
			break
		}
	}
	if ports == nil {
		mb := *m
		mb.Graph = orig.Clone()
		res, err := compile.Lower(&mb, compile.Options{})
		if err != nil {
			return builds, err
		}
		ports = &frontend.Model{Graph: res.Graph}
	}
	for i := range builds {
		b := &builds[i]
		if b.dir == "" {
			continue
		}
		spec := strings.TrimPrefix(b.name, "modelc ") + "=dir:" + b.dir
		files, version, err := readPackage(b.dir)
		if err != nil {
			return builds, usageError{fmt.Sprintf("--build %s: %v", spec, err)}
		}
		if b.d, err = newDriver(ports.Graph, files); err != nil {
			return builds, fmt.Errorf("--build %s: the package does not build with %s's inputs and outputs: %w", spec, m.Name, err)
		}
		b.note = fmt.Sprintf(" package %s (modelc %s)", b.dir, version)
	}
	return builds, nil
}

var buildName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// parseBuild splits one --build into its name, kind ("", passes, config or dir)
// and argument.
func parseBuild(s string) (name, kind, arg string, err error) {
	name, spec, hasSpec := strings.Cut(s, "=")
	if !buildName.MatchString(name) {
		return "", "", "", usageError{fmt.Sprintf("--build %s: a build's name is letters, digits, '.', '_' and '-' (%s)", s, buildUsage)}
	}
	if !hasSpec {
		return name, "", "", nil
	}
	kind, arg, ok := strings.Cut(spec, ":")
	switch {
	case ok && kind == "passes":
	case ok && kind == "config" && arg != "":
	case ok && kind == "dir" && arg != "":
	default:
		return "", "", "", usageError{fmt.Sprintf("--build %s: want %s", s, buildUsage)}
	}
	return name, kind, arg, nil
}

// passLabelIf is passLabel for a build with passes or exclusions named,
// and nothing for one with neither.
func passLabelIf(ps, ex []frontend.PassSpec) string {
	if len(ps)+len(ex) == 0 {
		return ""
	}
	return passLabel(ps, ex)
}

// passNote is a row's note for a build with these user passes.
func passNote(ps []frontend.PassSpec) string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return ""
	}
	return " passes: " + strings.Join(names, ", ")
}

var headerVersion = regexp.MustCompile(`(?m)^// modelc (\S+), input hash`)

// readPackage reads the files of a package modelc generated (its model.go
// carries the generated-code header) and the modelc version that wrote it.
func readPackage(dir string) (map[string][]byte, string, error) {
	model, err := os.ReadFile(filepath.Join(dir, "model.go"))
	if err != nil {
		return nil, "", err
	}
	if !bytes.HasPrefix(model, []byte(codegen.Header)) {
		return nil, "", fmt.Errorf("model.go was not generated by modelc")
	}
	version := "?"
	if m := headerVersion.FindSubmatch(model); m != nil {
		version = string(m[1])
	}
	files := map[string][]byte{}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !e.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	return files, version, err
}

// closeBuilds removes the builds' drivers.
func closeBuilds(builds []benchBuild) {
	for _, b := range builds {
		if b.d != nil {
			b.d.Close()
		}
	}
}
