package autotune

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	sources "github.com/modelc/modelc"
)

// harnessMain is the harness's fixed part; probeSource is autotune/db's
// machine probe, compiled into the harness so a remote machine describes
// itself as the local one does.
var (
	//go:embed harness_main.go
	harnessMain string
	//go:embed db/probe.go
	probeSource string
	//go:embed harness_cputime_linux.go
	cputimeLinux string
	//go:embed harness_cputime_other.go
	cputimeOther string
)

// WriteRuntimeModule writes modelc's runtime, from the sources this
// binary carries, as a module named github.com/modelc/modelc in dir,
// requiring golang.org/x/sys at the version modelc was built with (with
// its checksums), so that a program replacing modelc by dir builds
// without a checkout of modelc, and offline when x/sys is in the module
// cache.
func WriteRuntimeModule(dir string) error {
	err := fs.WalkDir(sources.RuntimeSources, "runtime", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasSuffix(path, "_test.go") {
			return err
		}
		data, err := fs.ReadFile(sources.RuntimeSources, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return err
	}
	var reqs []string
	for _, line := range strings.Split(string(sources.GoMod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[0], "golang.org/x/sys") {
			reqs = append(reqs, "require "+f[0]+" "+f[1])
		}
	}
	mod := "module github.com/modelc/modelc\n\ngo 1.22\n\n" + strings.Join(reqs, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.sum"), sources.GoSum, 0o644)
}

// builder builds harnesses in a work directory, for one GOOS/GOARCH.
type builder struct {
	dir          string // holds modelc/ (the runtime module) and one folder per build
	goos, goarch string
	n            int
}

func newBuilder(goos, goarch string) (*builder, error) {
	dir, err := os.MkdirTemp("", "modelc-tune-*")
	if err != nil {
		return nil, err
	}
	if err := WriteRuntimeModule(filepath.Join(dir, "modelc")); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("writing the runtime module: %w", err)
	}
	return &builder{dir: dir, goos: goos, goarch: goarch}, nil
}

func (b *builder) close() { os.RemoveAll(b.dir) }

// build compiles a harness with kernel part p and returns the binary's
// path.
func (b *builder) build(ctx context.Context, p Program) (string, error) {
	b.n++
	dir := filepath.Join(b.dir, fmt.Sprintf("h%d", b.n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	main := strings.Replace(harnessMain, "//go:build modelcharness\n\n", "", 1)
	probe := strings.Replace(probeSource, "package db\n", "package main\n", 1)
	files := map[string]string{
		"go.mod":           "module modelctune\n\ngo 1.22\n\nrequire github.com/modelc/modelc v0.0.0\n\nreplace github.com/modelc/modelc => ../modelc\n",
		"go.sum":           string(sources.GoSum),
		"main.go":          main,
		"probe.go":         probe,
		"kernel.go":        p.Go,
		"cputime_linux.go": strings.Replace(cputimeLinux, "modelcharness && ", "", 1),
		"cputime_other.go": strings.Replace(cputimeOther, "modelcharness && ", "", 1),
	}
	for name, src := range p.Files {
		files[name] = string(src)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(dir, "harness")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS="+b.goos, "GOARCH="+b.goarch, "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the harness for %s/%s: %v\n%s", b.goos, b.goarch, err, trim(string(out), 4000))
	}
	return bin, nil
}

// fileHash returns the SHA-256 of a file, in hex.
func fileHash(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// trim keeps the last n bytes of s.
func trim(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
