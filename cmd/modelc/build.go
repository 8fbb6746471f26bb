package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
)

func runBuild(args []string, stdout io.Writer) error {
	const u = "modelc build MODEL [--passes P,...] [--exclude-passes P,...] [-o DIR] [--force] [--max-batch B] [--target T,...] [--external-weights]"
	fs := newFlags("build", u)
	out := fs.String("o", "", "output directory (default: the model's package name)")
	force := fs.Bool("force", false, "replace a non-empty directory modelc did not generate")
	maxBatch := fs.Int("max-batch", 32, "the generated package's DefaultMaxBatch")
	targets := fs.String("target", "", "optional back ends to add, comma-separated, as model.yaml's targets: (every CPU back end is always generated)")
	external := fs.Bool("external-weights", false, "do not embed weights.bin: the package's New then reads it (or another build's) with WithWeightsFile(path), memory-mapped")
	m, ok, err := oneModel(fs, args, u, stdout)
	if !ok {
		return err
	}
	if err := checkBatch("--max-batch", *maxBatch, false); err != nil {
		return err
	}
	if *targets != "" {
		for _, t := range strings.Split(*targets, ",") {
			if err := frontend.CheckTarget(t); err != nil {
				return fmt.Errorf("--target: %w", err)
			}
			m.Targets = append(m.Targets, t)
		}
	}
	dir := *out
	if dir == "" {
		dir = m.Package
	}
	command := []string{"modelc", "build", filepath.Base(m.File), "-o", "."}
	if *external {
		command = append(command, "--external-weights")
	}
	return build(m, dir, *force, compile.Options{CommandArgs: command, MaxBatch: *maxBatch, ExternalWeights: *external}, stdout)
}

// build compiles m with o (and the model's test vectors) into a Go
// package in dir.
func build(m *frontend.Model, dir string, force bool, o compile.Options, stdout io.Writer) error {
	start := time.Now()
	o.TestVectors = true
	res, err := compile.Compile(m, o)
	if err != nil {
		return err
	}
	warn(m, res)
	if err := codegen.Write(dir, res.Files, codegen.WriteOptions{Force: force, Log: stdout}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote package %s to %s (%d files, %v)\n", m.Package, dir, len(res.Files), time.Since(start).Round(time.Millisecond))
	return nil
}
