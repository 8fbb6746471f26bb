package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/modelc/modelc/autotune/db"
	"github.com/modelc/modelc/autotune/report"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/peak"
	"github.com/modelc/modelc/ir"
	mrt "github.com/modelc/modelc/runtime"
)

// profiledBuild is one of modelc's engines, profiled step by step for
// the report.
type profiledBuild struct {
	name string // "modelc tuned", "modelc", "modelc pure Go"
	d    *driver
	env  []string
}

// benchReport gathers modelc bench's report: the machine with its
// measured limits, the engines' latency (rows), each build's steps at
// every batch (threads threads, seconds each) and the tuning used.
func benchReport(m *frontend.Model, rows []benchRow, builds []profiledBuild, batches []int, threads int, seconds float64, tun *tuned, command string) (*report.Report, error) {
	fmt.Fprintln(os.Stderr, "bench: measuring the machine's clock, FMA peak and bandwidth (internal/peak)")
	pk := peak.Measure(1)
	r := &report.Report{Model: m.Name, Passes: strings.TrimSpace(passLabelIf(m.Passes, m.ExcludePasses)), Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Command: command,
		Machine: report.Machine{Machine: db.ThisMachine(), ClockGHz: pk.ClockGHz, ISA: pk.ISA, FlopPerCycle: pk.FlopPerCycle,
			PeakGFLOPS: pk.GFLOPS, ReadGBs: pk.ReadGBs, Go: runtime.Version(), Modelc: mrt.Version}}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "GOAMD64":
				r.Machine.GOAMD64 = s.Value
			case "vcs.revision":
				r.Machine.Commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					defer func() { r.Machine.Commit += " (modified)" }()
				}
			}
		}
		if r.Machine.GOAMD64 == "" && runtime.GOARCH == "amd64" {
			r.Machine.GOAMD64 = "v1"
		}
	}
	if tun != nil {
		r.Machine.TuneDB, r.Machine.TuneDBSHA256, r.Machine.TuneDBRecords = homeRelative(tun.path), tun.d.Hash, len(tun.d.Records)
		for _, c := range tun.chosen {
			k := c.Kernel.Family() + " " + c.Kernel.Shape()
			if c.Choice != "" {
				r.Choices = append(r.Choices, report.Choice{Kernel: c.Kernel.Family(), Shape: c.Kernel.Shape(), Variant: c.Variant, Gain: c.Gain})
			} else {
				r.Fallbacks = append(r.Fallbacks, fmt.Sprintf("%s (%s): %s", k, short(c.Layers), c.Why))
			}
		}
		for _, op := range sortedKeys(tun.untuned) {
			r.Fallbacks = append(r.Fallbacks, fmt.Sprintf("%s (%d layers): no variant space yet", op, len(tun.untuned[op])))
		}
	}
	for _, row := range rows {
		e := report.Engine{Engine: row.engine, Version: row.version, Batch: row.batch, Threads: row.threads, Missing: row.missing}
		if row.missing == "" {
			for _, c := range row.cpuWall {
				e.CPUWall += c / float64(len(row.cpuWall))
			}
			e.MedianNs = float64(median(row.times))
			e.CPUMedianNs = float64(median(row.cpuTimes))
			e.CPUP10Ns, e.CPUP90Ns = float64(percentile(row.cpuTimes, 10)), float64(percentile(row.cpuTimes, 90))
			e.P10Ns, e.P90Ns = float64(percentile(row.times, 10)), float64(percentile(row.times, 90))
			e.Runs = len(row.times)
		}
		r.Engines = append(r.Engines, e)
	}
	for _, b := range batches {
		ins := ir.SampleInputs(builds[0].d.graph, b, 7)
		for _, bl := range builds {
			fmt.Fprintf(os.Stderr, "bench: profiling %s at batch %d\n", bl.name, b)
			steps, err := bl.d.profile(ins, b, threads, seconds, bl.env...)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", bl.name, err)
			}
			build := strings.TrimSpace(strings.TrimPrefix(bl.name, "modelc"))
			if build == "" {
				build = "default"
			}
			r.Layers = append(r.Layers, report.Layers{Build: build, Batch: b, Threads: threads, Steps: steps})
		}
	}
	return r, nil
}

// homeRelative writes a path under the home directory as ~/…: a report
// is made to be shared and committed, and the home directory is one
// machine's.
func homeRelative(path string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" || home == "/" {
		return path
	}
	if rest, ok := strings.CutPrefix(path, strings.TrimSuffix(home, "/")+"/"); ok {
		return "~/" + rest
	}
	return path
}
