// Package report writes modelc bench's per-hardware report: report.json
// (versioned, for machines and programs), report.md, a self-contained
// report.html that opens offline, and SVG charts drawn with
// gonum.org/v1/plot: a roofline with every kernel of the model as a
// point, the latency of each layer (tuned, default and pure-Go builds)
// and, when peers were measured, the latency of every engine. Compare
// sets reports of several machines side by side.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelc/modelc/autotune/db"
)

// Version is the version of report.json's format: a reader refuses other
// versions rather than misread them.
const Version = 1

// Report is one modelc bench run on one machine.
type Report struct {
	Version int    `json:"version"`
	Model   string `json:"model"`
	// Passes are the passes the model was built with, as modelc bench
	// labels them ("passes: a, b; excluded: c"); "" for the defaults.
	Passes  string  `json:"passes,omitempty"`
	Date    string  `json:"date"`
	Command string  `json:"command"`
	Machine Machine `json:"machine"`
	// Engines are the end-to-end latencies, interleaved in one run.
	Engines []Engine `json:"engines"`
	// Layers are per-step profiles of each build.
	Layers []Layers `json:"layers,omitempty"`
	// Choices are the tuned variants the tuned build used; Fallbacks the
	// kernels that kept codegen's defaults, and why.
	Choices   []Choice `json:"choices,omitempty"`
	Fallbacks []string `json:"fallbacks,omitempty"`
}

// Machine is the report's machine header: its signature and what was
// measured of it in the same run.
type Machine struct {
	db.Machine
	// Measured by internal/peak with one thread: the clock of a busy
	// core, the fp32 FMA peak and the read bandwidth from memory.
	ClockGHz     float64 `json:"clock_ghz"`
	ISA          string  `json:"fma_isa"`
	FlopPerCycle float64 `json:"flop_per_cycle"`
	PeakGFLOPS   float64 `json:"peak_gflops"`
	ReadGBs      float64 `json:"read_gbs"`
	Go           string  `json:"go"`
	GOAMD64      string  `json:"goamd64,omitempty"`
	Commit       string  `json:"commit,omitempty"`
	Modelc       string  `json:"modelc"`
	// The tuning database the tuned build read.
	TuneDB        string `json:"tune_db,omitempty"`
	TuneDBSHA256  string `json:"tune_db_sha256,omitempty"`
	TuneDBRecords int    `json:"tune_db_records,omitempty"`
}

// Engine is one engine's latency in one configuration.
type Engine struct {
	Engine   string  `json:"engine"` // "modelc tuned", "modelc", "modelc pure Go", "torch", "ort"
	Version  string  `json:"version,omitempty"`
	Batch    int     `json:"batch"`
	Threads  int     `json:"threads"`
	MedianNs float64 `json:"median_ns,omitempty"`
	P10Ns    float64 `json:"p10_ns,omitempty"`
	P90Ns    float64 `json:"p90_ns,omitempty"`
	Runs     int     `json:"runs,omitempty"`
	// CPUWall is the engine's CPU time over its wall time while timed:
	// about the thread count on an idle machine, less when other
	// processes took the cores.
	CPUWall float64 `json:"cpu_wall,omitempty"`
	// CPUMedianNs is the median CPU time of a call, for engines that
	// report it (modelc's builds): with one thread, the latency less the
	// waits for a core, comparable between modelc's builds on a busy
	// machine where wall times are not.
	CPUMedianNs float64 `json:"cpu_median_ns,omitempty"`
	// CPUP10Ns and CPUP90Ns are the 10th and 90th percentiles of the
	// CPU time of a call: its spread.
	CPUP10Ns float64 `json:"cpu_p10_ns,omitempty"`
	CPUP90Ns float64 `json:"cpu_p90_ns,omitempty"`
	Missing  string  `json:"missing,omitempty"`
}

// Layers is a per-step profile of one build at one batch.
type Layers struct {
	Build   string `json:"build"` // "tuned", "default", "pure Go"
	Batch   int    `json:"batch"`
	Threads int    `json:"threads"`
	Steps   []Step `json:"steps"`
}

// Step is one step of a generated package: its mean time, FLOPs and the
// bytes it reads and writes.
type Step struct {
	Name  string  `json:"name"`
	Ns    float64 `json:"ns"`
	Flops float64 `json:"flops"`
	Bytes float64 `json:"bytes"`
}

// Choice is a tuned variant a build used.
type Choice struct {
	Kernel  string  `json:"kernel"`
	Shape   string  `json:"shape"`
	Variant string  `json:"variant"`
	Gain    float64 `json:"gain"` // the default's time over the variant's, as tuned
}

// Read loads a report.json.
func Read(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a report: %w", path, err)
	}
	if r.Version != Version {
		return nil, fmt.Errorf("%s: report version %d; this modelc reads version %d", path, r.Version, Version)
	}
	return &r, nil
}

// Write writes the report into dir (created): report.json, report.md,
// report.html and the charts. It returns the files written.
func Write(dir string, r *Report) ([]string, error) {
	r.Version = Version
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	charts, err := r.charts()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, c := range charts {
		files[c.file] = c.svg
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	files["report.json"] = append(js, '\n')
	files["report.md"] = []byte(r.markdown(charts))
	files["report.html"] = []byte(r.html(charts))
	var names []string
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// title is the report's heading.
func (r *Report) title() string {
	s := r.Model
	if r.Passes != "" {
		s += " (" + r.Passes + ")"
	}
	return s + " on " + orUnknown(r.Machine.CPU)
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown CPU"
	}
	return s
}

// machineRows is the machine header as label/value pairs.
func (m Machine) rows() [][2]string {
	rows := [][2]string{
		{"CPU", orUnknown(m.CPU)},
		{"OS / arch", m.OS + "/" + m.Arch},
		{"kernel tier", m.Tier},
		{"logical CPUs", fmt.Sprint(m.CPUs)},
		{"caches (L1d / L2 / L3)", fmt.Sprintf("%s / %s / %s", kib(m.L1DKiB), kib(m.L2KiB), kib(m.L3KiB))},
	}
	if m.PeakGFLOPS > 0 {
		rows = append(rows,
			[2]string{"measured clock", fmt.Sprintf("%.2f GHz", m.ClockGHz)},
			[2]string{"fp32 FMA peak (1 thread)", fmt.Sprintf("%.1f GFLOP/s (%s, %.1f FLOP/cycle)", m.PeakGFLOPS, m.ISA, m.FlopPerCycle)},
			[2]string{"read bandwidth (1 thread)", fmt.Sprintf("%.1f GB/s", m.ReadGBs)})
	} else {
		rows = append(rows, [2]string{"peak", "not measured on this architecture"})
	}
	rows = append(rows, [2]string{"Go", m.Go}, [2]string{"modelc", m.Modelc})
	if m.GOAMD64 != "" {
		rows = append(rows, [2]string{"GOAMD64", m.GOAMD64})
	}
	if m.Commit != "" {
		rows = append(rows, [2]string{"commit", m.Commit})
	}
	if m.TuneDB != "" {
		rows = append(rows, [2]string{"tuning database", fmt.Sprintf("%s (%d records, sha256 %s)", m.TuneDB, m.TuneDBRecords, short(m.TuneDBSHA256))})
	} else {
		rows = append(rows, [2]string{"tuning database", "none (codegen's defaults)"})
	}
	return rows
}

func short(h string) string { return h[:min(12, len(h))] }

func kib(n int) string {
	switch {
	case n <= 0:
		return "?"
	case n%1024 == 0:
		return fmt.Sprintf("%d MiB", n/1024)
	}
	return fmt.Sprintf("%d KiB", n)
}

// fmtNs writes a time for tables.
func fmtNs(ns float64) string {
	switch {
	case ns <= 0:
		return "–"
	case ns < 1e6:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.3f ms", ns/1e6)
}

// base returns the modelc row a configuration's ratios are relative to:
// the tuned build, else the default one.
func (r *Report) base(batch, threads int) *Engine {
	for _, name := range []string{"modelc tuned", "modelc"} {
		for i := range r.Engines {
			e := &r.Engines[i]
			if e.Engine == name && e.Batch == batch && e.Threads == threads && e.MedianNs > 0 {
				return e
			}
		}
	}
	return nil
}

// cpuCell is an engine's CPU time per call, "–" where it has none.
func cpuCell(e Engine) string {
	if e.CPUMedianNs == 0 {
		return "–"
	}
	return fmt.Sprintf("%s (%s – %s)", fmtNs(e.CPUMedianNs), fmtNs(e.CPUP10Ns), fmtNs(e.CPUP90Ns))
}

// engineTable is the latency table as rows of cells.
func (r *Report) engineTable() (head []string, rows [][]string) {
	head = []string{"engine", "batch", "threads", "median", "p10 – p90", "runs", "cpu/wall", "CPU time per call: median (p10 – p90)", "modelc ÷ engine"}
	for _, e := range r.Engines {
		if e.Missing != "" {
			rows = append(rows, []string{e.Engine, fmt.Sprint(e.Batch), fmt.Sprint(e.Threads), "missing: " + e.Missing, "", "", "", "", ""})
			continue
		}
		ratio := "–"
		if b := r.base(e.Batch, e.Threads); b != nil {
			ratio = fmt.Sprintf("%.2f×", e.MedianNs/b.MedianNs)
		}
		name := e.Engine
		if e.Version != "" {
			name += " " + e.Version
		}
		rows = append(rows, []string{name, fmt.Sprint(e.Batch), fmt.Sprint(e.Threads), fmtNs(e.MedianNs),
			fmtNs(e.P10Ns) + " – " + fmtNs(e.P90Ns), fmt.Sprint(e.Runs), fmt.Sprintf("%.2f", e.CPUWall), cpuCell(e), ratio})
	}
	return head, rows
}

// disturbed says, when the engines got much less of a core per thread
// than they asked for, that other processes shared the machine and the
// ratios are uncertain ("" otherwise).
func (r *Report) disturbed() string {
	var sum float64
	n := 0
	for _, e := range r.Engines {
		if e.Missing == "" && e.CPUWall > 0 && e.Threads > 0 {
			sum += e.CPUWall / float64(e.Threads)
			n++
		}
	}
	if n == 0 || sum/float64(n) >= 0.8 {
		return ""
	}
	return fmt.Sprintf("Other processes shared the machine during this run: the engines got %.0f%% of a core per thread on average (cpu/wall), so their times are inflated and the ratios between them uncertain. Between modelc's builds, compare the CPU time per call (one thread: the latency less the waits for a core), as the tuner does.", 100*sum/float64(n))
}

// layerTable is one batch's per-step times, one column per build.
func (r *Report) layerTable(batch int) (head []string, rows [][]string) {
	var runs []Layers
	for _, l := range r.Layers {
		if l.Batch == batch {
			runs = append(runs, l)
		}
	}
	if len(runs) == 0 {
		return nil, nil
	}
	head = []string{"step"}
	for _, l := range runs {
		head = append(head, l.Build)
	}
	head = append(head, "GFLOP/s ("+runs[0].Build+")", "FLOP/byte")
	for i, s := range runs[0].Steps {
		row := []string{s.Name}
		for _, l := range runs {
			if i < len(l.Steps) && l.Steps[i].Name == s.Name {
				row = append(row, fmtNs(l.Steps[i].Ns))
			} else {
				row = append(row, "–")
			}
		}
		gf, ai := "–", "–"
		if s.Ns > 0 && s.Flops > 0 {
			gf = fmt.Sprintf("%.2f", s.Flops/s.Ns)
		}
		if s.Bytes > 0 {
			ai = fmt.Sprintf("%.2f", s.Flops/s.Bytes)
		}
		rows = append(rows, append(row, gf, ai))
	}
	return head, rows
}

// batches lists the batch sizes of the engine rows, in order.
func (r *Report) batches() []int {
	var bs []int
	for _, e := range r.Engines {
		if !slices.Contains(bs, e.Batch) {
			bs = append(bs, e.Batch)
		}
	}
	for _, l := range r.Layers {
		if !slices.Contains(bs, l.Batch) {
			bs = append(bs, l.Batch)
		}
	}
	return bs
}

func mdTable(b *strings.Builder, head []string, rows [][]string) {
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, r := range rows {
		for i := range r {
			r[i] = strings.ReplaceAll(r[i], "|", `\|`)
		}
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
}

// markdown renders report.md, with the charts as images beside it.
func (r *Report) markdown(charts []chart) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s. `%s`\n\n## Machine\n\n", r.title(), r.Date, r.Command)
	var rows [][]string
	for _, kv := range r.Machine.rows() {
		rows = append(rows, []string{kv[0], kv[1]})
	}
	mdTable(&b, []string{"", ""}, rows)
	b.WriteString("\n## Latency\n\nEngines interleaved round by round in one run; \"modelc ÷ engine\" is the engine's median over modelc's (the tuned build's, when there is one): above 1, modelc is faster.\n\n")
	if d := r.disturbed(); d != "" {
		b.WriteString("**" + d + "**\n\n")
	}
	h, rs := r.engineTable()
	mdTable(&b, h, rs)
	for _, c := range charts {
		fmt.Fprintf(&b, "\n![%s](%s)\n\n*%s*\n", c.title, c.file, c.caption)
	}
	r.choicesMD(&b)
	for _, batch := range r.batches() {
		h, rs := r.layerTable(batch)
		if h == nil {
			continue
		}
		fmt.Fprintf(&b, "\n## Steps at batch %d\n\n", batch)
		mdTable(&b, h, rs)
	}
	return b.String()
}

func (r *Report) choicesMD(b *strings.Builder) {
	if len(r.Choices) == 0 && len(r.Fallbacks) == 0 {
		return
	}
	b.WriteString("\n## Tuned kernels\n\n")
	if len(r.Choices) > 0 {
		var rows [][]string
		for _, c := range r.Choices {
			rows = append(rows, []string{c.Kernel, c.Shape, c.Variant, fmt.Sprintf("%.2f×", c.Gain)})
		}
		mdTable(b, []string{"kernel", "shape", "variant", "gain as tuned"}, rows)
	}
	for _, f := range r.Fallbacks {
		fmt.Fprintf(b, "- default: %s\n", f)
	}
}
