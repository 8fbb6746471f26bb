package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/runtime"
)

const runtimeImport = "github.com/modelc/modelc/runtime"

func runBuild(args []string, stdout io.Writer) error {
	const u = "modelc build MODEL [--passes P,...] [-o DIR] [--force] [--max-batch B] [--tune-db FILE|none]"
	fs := newFlags("build", u)
	out := fs.String("o", "", "output directory (default: the model's package name)")
	force := fs.Bool("force", false, "replace a non-empty directory modelc did not generate")
	maxBatch := fs.Int("max-batch", 32, "the generated package's DefaultMaxBatch")
	tf := addTuneFlags(fs)
	m, ok, err := oneModel(fs, args, u, stdout)
	if !ok {
		return err
	}
	dir := *out
	if dir == "" {
		dir = m.Package
	}
	return build(m, dir, *force, *maxBatch, fmt.Sprintf("modelc build %s -o .", filepath.Base(m.File)), tf, stdout)
}

// build compiles m into a Go package in dir, with the tuning database
// tf names.
func build(m *frontend.Model, dir string, force bool, maxBatch int, command string, tf tuneFlags, stdout io.Writer) error {
	start := time.Now()
	p, err := pipeline(m)
	if err != nil {
		return err
	}
	var vec *codegen.Vectors
	if m.Test != nil {
		ins, outs, err := m.TestData()
		if err != nil {
			return err
		}
		vec = &codegen.Vectors{Inputs: ins, Outputs: outs, Rtol: m.Test.Rtol}
	}
	res, err := p.Run(m.Graph, passes.RunOptions{})
	if err != nil {
		return err
	}
	var log []string
	for _, e := range res.Log {
		log = append(log, e.Pass+"\t"+e.Stats.String())
	}
	t, err := tf.load(res.Graph, stdout)
	if err != nil {
		return err
	}
	t.describe(stdout)
	in := codegen.Input{
		Graph: res.Graph, Plan: res.Plan, Package: m.Package, Command: command,
		Version: runtime.Version, RuntimeImport: runtimeImport, MaxBatch: maxBatch, Test: vec, Log: log,
	}
	if t != nil {
		in.Tuning, in.TuningDB = t.choices, t.hash()
	}
	files, err := codegen.Generate(in)
	if err != nil {
		return fmt.Errorf("%s: %w", m.File, err)
	}
	if err := codegen.WriteDir(dir, files, force); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote package %s to %s (%d files, %v)\n", m.Package, dir, len(files), time.Since(start).Round(time.Millisecond))
	return nil
}
