package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
)

// driver is a built program that runs a model's generated package: the
// package and the harness's runner program in a temporary module whose
// runtime is the copy of the sources this binary carries, built offline
// with the Go toolchain.
type driver struct {
	dir    string // temporary directory; Close removes it
	runner *harness.Runner
	graph  *ir.Graph
}

// driverPkg is the generated package's folder (and runner case) in the
// driver's module.
const driverPkg = "model"

// buildDriver compiles m through a pipeline (p, or m's own when nil)
// and builds the driver for it.
func buildDriver(m *frontend.Model, p *passes.Pipeline, maxBatch int) (*driver, error) {
	res, err := compile.Compile(m, compile.Options{Command: "modelc (driver)", MaxBatch: maxBatch, Pipeline: p})
	if err != nil {
		return nil, err
	}
	warn(m, res)
	return newDriver(res.Graph, res.Files)
}

// newDriver builds the driver for a generated package's files; g gives
// the package's inputs and outputs (a compiled graph of its model).
func newDriver(g *ir.Graph, files map[string][]byte) (*driver, error) {
	tmp, err := os.MkdirTemp("", "modelc-driver-*")
	if err != nil {
		return nil, err
	}
	d := &driver{dir: tmp, graph: g}
	mod, err := harness.NewModule(filepath.Join(tmp, "app"), "modelcapp")
	if err == nil {
		err = mod.Add(driverPkg, files)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	d.runner, err = mod.BuildRunner([]harness.Case{{Pkg: driverPkg, Graph: g}}, []string{"CGO_ENABLED=0"})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("%w\n(is the Go toolchain installed? Offline, golang.org/x/sys must be in the module cache: go mod download golang.org/x/sys)", err)
	}
	return d, nil
}

// Close removes the driver's files.
func (d *driver) Close() { os.RemoveAll(d.dir) }

// writeInputs stores ins for the driver.
func (d *driver) writeInputs(ins []*ir.Tensor) (string, error) {
	f := filepath.Join(d.dir, "in.bin")
	return f, d.runner.WriteInputs(f, driverPkg, ins)
}

// run runs the model once on ins (after one warm-up call) and returns its
// outputs and the time of the timed call.
func (d *driver) run(ins []*ir.Tensor) ([]*ir.Tensor, time.Duration, error) {
	res, err := d.runner.Run(d.dir, nil, map[string][]*ir.Tensor{driverPkg: ins})
	if err != nil {
		return nil, 0, err
	}
	r := res[driverPkg]
	if r.Err != nil {
		return nil, 0, fmt.Errorf("running the generated package: %w", r.Err)
	}
	return r.Outputs, r.Elapsed, nil
}

// Sample is one engine's timings in one configuration, as the driver and
// the peer scripts print them (one JSON line).
type Sample struct {
	Peer    string  `json:"peer"`
	Version string  `json:"version"`
	TimesNs []int64 `json:"times_ns"`
	CPUWall float64 `json:"cpu_wall"`
}

// runGenerated runs m through its generated package (modelc run --engine
// generated): outputs and the time of one warm call. The inputs are
// checked against the model's signature first, exactly as the reference
// engine checks them (ir.CheckInputs): the driver hands the package flat
// numbers, which carry no shape or dtype.
func runGenerated(m *frontend.Model, ins []*ir.Tensor) ([]*ir.Tensor, time.Duration, error) {
	batch, err := ir.CheckInputs(m.Graph, ins)
	if err != nil {
		return nil, 0, err
	}
	d, err := buildDriver(m, nil, max(batch, 1))
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()
	return d.run(ins)
}
