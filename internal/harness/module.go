// Package harness builds and runs generated packages outside modelc's own
// module: a Module is a folder with its own go.mod whose requirement on
// modelc's runtime is replaced by a copy of the runtime sources this
// binary carries, so `go build` and `go test` there need no network and no
// checkout of modelc (the module cache must hold golang.org/x/sys, the
// runtime's one requirement). A Runner is one program that imports many
// generated packages and runs each on inputs from files; Tiers are the
// ways of making generated code run each kernel tier.
//
// modelc run --engine generated and modelc bench build their driver with
// it, and every test suite that compiles generated packages uses it
// instead of a copy of its own (TB, TempModule, EveryTier).
package harness

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/modelc/modelc/codegen"
)

// RuntimeModule is the module path of modelc's runtime, which generated
// packages import.
const RuntimeModule = "github.com/modelc/modelc/runtime"

// runtimeDir is the Module's subfolder holding the runtime's copy.
const runtimeDir = "modelc-runtime"

// Module is a Go module on disk holding generated packages.
type Module struct {
	Dir  string // absolute
	Path string // module path; a package in Dir/P imports as Path/P
}

// NewModule creates the module path in dir (which must not exist or be
// empty): its go.mod, requiring the runtime and golang.org/x/sys at the
// versions this binary was built with, go.sum, and the runtime's copy.
func NewModule(dir, modPath string) (*Module, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("harness: %s is not empty", abs)
	}
	m := &Module{Dir: abs, Path: modPath}
	src, goMod, goSum, err := runtimeSources()
	if err != nil {
		return nil, err
	}
	rt := filepath.Join(abs, runtimeDir)
	err = fs.WalkDir(src, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasSuffix(p, "_test.go") || path.Ext(p) != ".go" && path.Ext(p) != ".s" {
			return err
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(rt, filepath.FromSlash(p)), data)
	})
	if err != nil {
		return nil, fmt.Errorf("harness: copying the runtime: %w", err)
	}
	if err := writeFile(filepath.Join(rt, "go.mod"), goMod); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(rt, "go.sum"), goSum); err != nil {
		return nil, err
	}
	var mod bytes.Buffer
	fmt.Fprintf(&mod, "module %s\n\ngo %s\n\nrequire %s v0.0.0\n", modPath, goVersion(goMod), RuntimeModule)
	for _, r := range requirements(goMod) {
		fmt.Fprintf(&mod, "require %s // indirect\n", r)
	}
	fmt.Fprintf(&mod, "\nreplace %s => ./%s\n", RuntimeModule, runtimeDir)
	if err := writeFile(filepath.Join(abs, "go.mod"), mod.Bytes()); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(abs, "go.sum"), goSum); err != nil {
		return nil, err
	}
	return m, nil
}

// goVersion is a go.mod's go line ("1.22" where it has none).
func goVersion(goMod []byte) string {
	for _, line := range strings.Split(string(goMod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "go" {
			return f[1]
		}
	}
	return "1.22"
}

// requirements lists the "module version" pairs a go.mod requires.
func requirements(goMod []byte) []string {
	var reqs []string
	block := false
	for _, line := range strings.Split(string(goMod), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "require" && f[1] == "(":
			block = true
		case block && len(f) >= 1 && f[0] == ")":
			block = false
		case block && len(f) >= 2:
			reqs = append(reqs, f[0]+" "+f[1])
		case len(f) >= 3 && f[0] == "require":
			reqs = append(reqs, f[1]+" "+f[2])
		}
	}
	return reqs
}

func writeFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// Add writes a generated package's files into the folder pkg of the
// module (a slash-separated path).
func (m *Module) Add(pkg string, files map[string][]byte) error {
	return codegen.WriteDir(m.PkgDir(pkg), files, false)
}

// PkgDir is the folder of the module's package pkg.
func (m *Module) PkgDir(pkg string) string { return filepath.Join(m.Dir, filepath.FromSlash(pkg)) }

// Import is the import path of the module's package pkg.
func (m *Module) Import(pkg string) string { return m.Path + "/" + pkg }

// Go runs the go command in the module's folder with env added to the
// environment, and returns what it printed (stdout and stderr). The
// module resolves its requirements from go.mod and the module cache
// (GOFLAGS=-mod=mod, no workspace).
func (m *Module) Go(env []string, args ...string) ([]byte, error) {
	cmd := m.Command(env, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		e := strings.Join(env, " ")
		if e != "" {
			e += " "
		}
		return out, fmt.Errorf("%sgo %s in %s: %v\n%s", e, strings.Join(args, " "), m.Dir, err, out)
	}
	return out, nil
}

// Command is the go command Go runs, for callers that set its output.
func (m *Module) Command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = m.Dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}
