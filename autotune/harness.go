package autotune

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/modelc/modelc/internal/harness"
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

// builder builds harnesses for one GOOS/GOARCH, each a main package of
// its own in one module (internal/harness.Module: modelc's runtime from
// the sources this binary carries, so builds need no checkout of modelc
// and work offline when golang.org/x/sys is in the module cache).
type builder struct {
	dir          string // the work directory; close removes it
	mod          *harness.Module
	goos, goarch string
	n            int
}

func newBuilder(goos, goarch string) (*builder, error) {
	dir, err := os.MkdirTemp("", "modelc-tune-*")
	if err != nil {
		return nil, err
	}
	mod, err := harness.NewModule(filepath.Join(dir, "mod"), "modelctune")
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("writing the harness module: %w", err)
	}
	return &builder{dir: dir, mod: mod, goos: goos, goarch: goarch}, nil
}

func (b *builder) close() { os.RemoveAll(b.dir) }

// build compiles a harness with kernel part p and returns the binary's
// path.
func (b *builder) build(ctx context.Context, p Program) (string, error) {
	b.n++
	pkg := fmt.Sprintf("h%d", b.n)
	main := strings.Replace(harnessMain, "//go:build modelcharness\n\n", "", 1)
	probe := strings.Replace(probeSource, "package db\n", "package main\n", 1)
	files := map[string][]byte{
		"main.go":          []byte(main),
		"probe.go":         []byte(probe),
		"kernel.go":        []byte(p.Go),
		"cputime_linux.go": []byte(strings.Replace(cputimeLinux, "modelcharness && ", "", 1)),
		"cputime_other.go": []byte(strings.Replace(cputimeOther, "modelcharness && ", "", 1)),
	}
	for name, src := range p.Files {
		files[name] = src
	}
	if err := b.mod.Add(pkg, files); err != nil {
		return "", err
	}
	bin := filepath.Join(b.mod.PkgDir(pkg), "harness")
	// The module's go command, ended with ctx.
	c := b.mod.Command([]string{"GOOS=" + b.goos, "GOARCH=" + b.goarch, "CGO_ENABLED=0"}, "build", "-o", bin, "./"+pkg)
	cmd := exec.CommandContext(ctx, c.Path, c.Args[1:]...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
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
