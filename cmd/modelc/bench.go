package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	sources "github.com/modelc/modelc"
	"github.com/modelc/modelc/autotune/report"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/internal/peak"
	"github.com/modelc/modelc/ir"
)

// modelc bench: the generated package's latency beside the peers a user
// would pick instead (PyTorch, ONNX Runtime), measured in the same
// invocation and interleaved round by round, so drift hits all engines
// alike and every speed claim is a ratio from one run.

func runBench(args []string, stdout io.Writer) error {
	for _, a := range args {
		if a == "--op" || a == "-op" || strings.HasPrefix(a, "--op=") || strings.HasPrefix(a, "-op=") {
			return runBenchGemm(args, stdout)
		}
	}
	const u = "modelc bench MODEL [--passes P,...] [--exclude-passes P,...] [--build NAME[=passes:P,...|config:C|dir:DIR] ...] [--batch 1,32] [--threads 1,2] [--peers torch,ort] [--seconds 2] [--rounds 3] [--flush] [--layers] [--report DIR] [--tune-db FILE|none]"
	fs := newFlags("bench", u)
	batches := fs.String("batch", "1,32", "batch sizes, comma-separated")
	threads := fs.String("threads", "1", "thread counts, comma-separated")
	peers := fs.String("peers", "", "peers to measure beside modelc: torch, ort (zoo models; ort also runs an .onnx MODEL itself)")
	seconds := fs.Float64("seconds", 2, "timed seconds per engine per round")
	rounds := fs.Int("rounds", 3, "interleaved rounds per configuration")
	flush := fs.Bool("flush", false, "evict the last-level cache (stream 64 MiB) before every timed call")
	reportDir := fs.String("report", "", "also write a per-hardware report into this directory: report.md, report.html (self-contained), report.json and SVG charts (roofline, latency, each layer of the tuned, default and pure-Go builds)")
	tf := addTuneFlags(fs)
	var buildSpecs multiFlag
	fs.Var(&buildSpecs, "build", "time this build of MODEL beside the others, interleaved (repeat; the first is the ratios' base): NAME (the model as given), NAME=passes:P,... (these user passes instead of its own), NAME=config:C (a pass configuration in configurations: syntax, e.g. 'config:[{attention-drop: {drop: 6}}]' or 'config:{exclude_passes: [bn-fold]}') or NAME=dir:DIR (a package modelc generated for it, say an older modelc's)")
	layers := fs.Bool("layers", false, "also time every step of the generated package and print its GFLOP/s and fraction of the roofline (measured peak and memory bandwidth)")
	m, _, ok, err := oneModelArg(fs, args, u, stdout)
	if !ok {
		return err
	}
	bs, err := intList("--batch", *batches)
	if err != nil {
		return err
	}
	ts, err := intList("--threads", *threads)
	if err != nil {
		return err
	}
	var peerList []string
	if *peers != "" {
		peerList = strings.Split(*peers, ",")
		for _, p := range peerList {
			if p != "torch" && p != "ort" {
				return usageError{fmt.Sprintf("--peers: unknown peer %q (want torch, ort)", p)}
			}
		}
	}
	flushMB := 0
	if *flush {
		flushMB = 64
	}
	if fb := fixedBatch(m.Graph); fb > 0 {
		// An export without a dynamic batch axis runs at its own batch
		// only: modelc's package and ONNX Runtime alike.
		batchSet := false
		fs.Visit(func(f *flag.Flag) { batchSet = batchSet || f.Name == "batch" })
		if !batchSet {
			bs = []int{fb}
		}
		for _, b := range bs {
			if b != fb {
				return usageError{fmt.Sprintf("--batch %d: %s has fixed input shapes (batch %d: exported without a dynamic batch axis); bench it at --batch %d, or export it with dynamic_axes on dim 0", b, m.File, fb, fb)}
			}
		}
	}
	if *reportDir != "" {
		if fi, err := os.Stat(*reportDir); err == nil && !fi.IsDir() {
			return usageError{fmt.Sprintf("--report %s: is a file; --report names a directory now (report.md, report.html, report.json and charts go in it)", *reportDir)}
		}
	}
	orig := m.Graph.Clone() // the pipeline rewrites the graph it compiles
	builds, err := benchBuilds(m, buildSpecs, slices.Max(bs))
	if err != nil {
		return err
	}
	defer func() { closeBuilds(builds) }()
	d := builds[0].d
	// The tuned build, when the database has choices for this model: the
	// model as given, before the default build (the ratios' base). Builds
	// named with --build are timed as named, on codegen's defaults.
	var tun *tuned
	if len(buildSpecs) == 0 {
		if tun, err = tf.load(d.graph, os.Stderr); err != nil {
			return err
		}
		tun.describe(os.Stderr)
	}
	if tun != nil && len(tun.choices) > 0 {
		mb := *m
		mb.Graph = orig.Clone()
		td, err := buildTunedDriver(&mb, nil, slices.Max(bs), tun)
		if err != nil {
			return err
		}
		builds = append([]benchBuild{{name: "modelc tuned", note: passLabelIf(m.Passes, m.ExcludePasses), d: td}}, builds...)
	}
	// For a report, the first build as given on its pure-Go kernels too
	// (every vector tier turned off).
	if *reportDir != "" {
		pure := benchBuild{name: "modelc pure Go", note: builds[0].note, d: d, env: harness.Tiers[2].Env()}
		builds = append(builds, pure)
	}
	pr := &peerRunner{model: m.Name}
	if strings.EqualFold(filepath.Ext(m.File), ".onnx") {
		// ONNX Runtime runs the very file modelc compiled.
		if pr.onnx, err = filepath.Abs(m.File); err != nil {
			return err
		}
		pr.input, pr.noInput = ortInputSpec(m.Graph)
	}
	var rows []benchRow
	for _, b := range bs {
		ins := ir.SampleInputs(d.graph, b, 7)
		for _, t := range ts {
			byEngine := map[string]*benchRow{}
			var order []string
			for _, bl := range builds {
				order = append(order, bl.name)
			}
			order = append(order, peerList...)
			for r := 0; r < *rounds; r++ {
				for _, eng := range order {
					row := byEngine[eng]
					if row == nil {
						row = &benchRow{engine: eng, batch: b, threads: t}
						byEngine[eng] = row
					}
					if row.missing != "" {
						continue
					}
					build := slices.IndexFunc(builds, func(bl benchBuild) bool { return bl.name == eng })
					s, disturbed, err := measure(func() (*Sample, *os.ProcessState, error) {
						if build >= 0 {
							return builds[build].d.benchProc(ins, t, *seconds, flushMB, builds[build].env...)
						}
						return pr.run(eng, b, t, *seconds, flushMB)
					})
					var miss missingPeer
					switch {
					case errors.As(err, &miss):
						row.missing = miss.hint
						continue
					case err != nil:
						return err
					}
					if build >= 0 {
						s.Version += builds[build].note
					}
					row.add(s, disturbed)
					fmt.Fprintf(os.Stderr, "bench: %s batch %d threads %d round %d: median %s\n", eng, b, t, r+1, fmtMs(median(s.TimesNs)))
				}
			}
			for _, eng := range order {
				rows = append(rows, *byEngine[eng])
			}
		}
	}
	table := benchTable(m.Name, rows, *seconds, *rounds, *flush)
	if *flush {
		pks := map[int]peak.Result{}
		for _, t := range ts {
			pks[t] = peak.Measure(t)
		}
		table += "\n" + trafficTable(d.graph, rows, pks)
	}
	if *layers {
		for _, t := range ts {
			pk := peak.Measure(t)
			for _, b := range bs {
				for _, bl := range builds {
					lt, err := bl.d.layerTable(ir.SampleInputs(d.graph, b, 7), b, t, *seconds, pk, bl.env...)
					if err != nil {
						return err
					}
					if len(builds) > 1 {
						lt = strings.Replace(lt, "#### Steps", "#### "+bl.name+": steps", 1)
					}
					table += "\n" + lt
				}
			}
		}
	}
	fmt.Fprint(stdout, table)
	if *reportDir == "" {
		return nil
	}
	var profiled []profiledBuild
	for _, bl := range builds {
		profiled = append(profiled, profiledBuild{bl.name, bl.d, bl.env})
	}
	r, err := benchReport(m, rows, profiled, bs, ts[0], min(*seconds, 1), tun, "modelc bench "+strings.Join(args, " "))
	if err != nil {
		return err
	}
	files, err := report.Write(*reportDir, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s to %s\n", strings.Join(files, ", "), *reportDir)
	return nil
}

func intList(flag, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, usageError{fmt.Sprintf("%s: want positive integers separated by commas, got %q", flag, s)}
		}
		out = append(out, n)
	}
	return out, nil
}

// benchRow accumulates one engine's samples in one configuration.
type benchRow struct {
	engine, version string
	batch, threads  int
	times           []int64 // all rounds pooled
	cpuTimes        []int64 // CPU time per call, where the engine reports it
	roundMedians    []int64
	cpuWall         []float64
	repeats         int // samples repeated because the machine was busy
	missing         string
}

func (r *benchRow) add(s *Sample, repeats int) {
	r.version = s.Version
	r.times = append(r.times, s.TimesNs...)
	r.cpuTimes = append(r.cpuTimes, s.CPUNs...)
	r.roundMedians = append(r.roundMedians, median(s.TimesNs))
	r.cpuWall = append(r.cpuWall, s.CPUWall)
	r.repeats += repeats
}

func median(v []int64) int64 { return percentile(v, 50) }

func percentile(v []int64, p float64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func fmtMs(ns int64) string { return fmt.Sprintf("%.3f ms", float64(ns)/1e6) }

// measure runs one sample, repeating it (up to twice) when other
// processes used more than 15% of a core while it ran: the machine's busy
// time from /proc/stat, minus the sample process's own CPU time.
func measure(sample func() (*Sample, *os.ProcessState, error)) (*Sample, int, error) {
	for attempt := 0; ; attempt++ {
		b0, t0 := busyTime(), time.Now()
		s, ps, err := sample()
		if err != nil {
			return nil, 0, err
		}
		wall := time.Since(t0)
		others := busyTime() - b0
		if ps != nil {
			others -= ps.UserTime() + ps.SystemTime()
		}
		if b0 < 0 || others.Seconds() <= 0.15*wall.Seconds() || attempt == 2 {
			return s, attempt, nil
		}
		fmt.Fprintf(os.Stderr, "bench: other processes used %.0f%% of a core during the run; repeating it\n", 100*others.Seconds()/wall.Seconds())
	}
}

// busyTime is the machine's total non-idle CPU time (from /proc/stat),
// or -1 where that file does not exist.
func busyTime() time.Duration {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return -1
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal ...
	var busy int64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		v, _ := strconv.ParseInt(f, 10, 64)
		busy += v
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// benchProc is bench that also returns the process state.
func (d *driver) benchProc(ins []*ir.Tensor, threads int, seconds float64, flushMB int, env ...string) (*Sample, *os.ProcessState, error) {
	inFile, err := d.writeInputs(ins)
	if err != nil {
		return nil, nil, err
	}
	cmd := d.runner.Command("bench", driverPkg, inFile, fmt.Sprint(threads), fmt.Sprint(seconds), fmt.Sprint(flushMB))
	cmd.Env = append(append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", threads)), env...)
	return runSample(cmd)
}

func runSample(cmd *exec.Cmd) (*Sample, *os.ProcessState, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v\n%s", filepath.Base(cmd.Path), err, stderr.String())
	}
	var s Sample
	if err := json.Unmarshal(bytes.TrimSpace(out), &s); err != nil {
		return nil, nil, fmt.Errorf("%s printed %q: %v", filepath.Base(cmd.Path), out, err)
	}
	return &s, cmd.ProcessState, nil
}

// missingPeer says a peer is not installed, and how to install it.
type missingPeer struct{ hint string }

func (m missingPeer) Error() string { return "missing: " + m.hint }

// peerRunner runs the peer scripts modelc carries (bench/peers), set up
// once in the user's cache directory.
type peerRunner struct {
	model string
	dir   string
	ready map[string]error
	// onnx is set when the model is an .onnx file: the ort peer runs it,
	// feeding input (NAME:DTYPE:per-sample dims, see ort_peer.js), or says
	// noInput when it cannot.
	onnx, input, noInput string
}

// fixedBatch returns the batch of a graph exported without a dynamic
// batch axis: every input static, of rank ≥ 1, with the same leading
// dimension; 0 for any other graph.
func fixedBatch(g *ir.Graph) int {
	b := 0
	for _, v := range g.Inputs {
		s := v.Type.Shape
		if s.Rank() == 0 || !s.Static() || (b != 0 && s[0].B != b) {
			return 0
		}
		b = s[0].B
	}
	return b
}

// ortInputSpec describes g's one batch-major input for ort_peer.js's
// --input, or says why there is none. The input's batch is N, or fixed
// (fixedBatch: bench then runs that batch only).
func ortInputSpec(g *ir.Graph) (spec, why string) {
	if len(g.Inputs) != 1 {
		return "", fmt.Sprintf("the ort peer feeds models with one input; this one has %d", len(g.Inputs))
	}
	v := g.Inputs[0]
	s := v.Type.Shape
	if s.Rank() == 0 || (s[0] != ir.N && fixedBatch(g) == 0) || !s[1:].Static() {
		return "", fmt.Sprintf("the ort peer feeds a batch-major input [N, …] or one of fixed shape; %s is %s", v.Name, s)
	}
	dt := "float32"
	switch {
	case v.Type.DType == ir.F32:
	case v.Type.DType == ir.I64:
		dt = "int64"
	default:
		return "", fmt.Sprintf("the ort peer feeds float32 or int64 inputs; %s is %s", v.Name, v.Type.DType)
	}
	dims := make([]string, 0, s.Rank()-1)
	for _, d := range s[1:] {
		dims = append(dims, strconv.Itoa(d.B))
	}
	return v.Name + ":" + dt + ":" + strings.Join(dims, "x"), ""
}

const python = "/usr/bin/python3"

func (p *peerRunner) setup(peer string) error {
	if p.ready == nil {
		p.ready = map[string]error{}
	}
	if err, done := p.ready[peer]; done {
		return err
	}
	err := p.install(peer)
	p.ready[peer] = err
	return err
}

// scripts writes the peer scripts this binary carries into the user's
// cache directory (once) and sets p.dir to it.
func (p *peerRunner) scripts() error {
	if p.dir != "" {
		return nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return err
	}
	dir := filepath.Join(cache, "modelc", "peers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err = fs.WalkDir(sources.PeerSources, "bench/peers", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := fs.ReadFile(sources.PeerSources, path)
		if err != nil {
			return err
		}
		return writeIfChanged(filepath.Join(dir, filepath.Base(path)), data)
	})
	if err != nil {
		return err
	}
	p.dir = dir
	return nil
}

func (p *peerRunner) install(peer string) error {
	if err := p.scripts(); err != nil {
		return err
	}
	switch {
	case p.onnx != "" && peer != "ort":
		return missingPeer{fmt.Sprintf("%s runs the zoo's architectures; an .onnx model has no PyTorch source (ort runs the file itself)", peer)}
	case p.onnx != "" && p.noInput != "":
		return missingPeer{p.noInput}
	case p.onnx != "":
	case p.model == "mlp", p.model == "resnet20", p.model == "vit-tiny", p.model == "gpt-mini":
	default:
		return missingPeer{fmt.Sprintf("peers run the zoo's architectures (mlp, resnet20, vit-tiny, gpt-mini), not %q", p.model)}
	}
	if p.onnx == "" {
		if err := exec.Command(python, "-c", "import torch, threadpoolctl, onnx").Run(); err != nil {
			return missingPeer{"PyTorch: apt-get install python3-torch python3-onnx python3-threadpoolctl"}
		}
	}
	if peer != "ort" {
		return nil
	}
	if _, err := exec.LookPath("node"); err != nil {
		return missingPeer{"ONNX Runtime: apt-get install nodejs npm"}
	}
	if _, err := os.Stat(filepath.Join(p.dir, "node_modules", "onnxruntime-node")); err != nil {
		fmt.Fprintln(os.Stderr, "bench: installing onnxruntime-node with npm ci into", p.dir)
		npm := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		npm.Dir = p.dir
		npm.Env = append(os.Environ(), "ONNXRUNTIME_NODE_INSTALL=skip")
		if out, err := npm.CombinedOutput(); err != nil {
			return missingPeer{fmt.Sprintf("ONNX Runtime: (cd %s && ONNXRUNTIME_NODE_INSTALL=skip npm ci) failed: %v\n%s", p.dir, err, out)}
		}
	}
	if p.onnx != "" {
		return nil // the user's own file, nothing to export
	}
	onnx := filepath.Join(p.dir, p.model+".onnx")
	if _, err := os.Stat(onnx); err != nil {
		fmt.Fprintln(os.Stderr, "bench: exporting", p.model, "to ONNX")
		exp := exec.Command(python, "export_onnx.py", "--model", p.model, "--out", onnx)
		exp.Dir = p.dir
		if out, err := exp.CombinedOutput(); err != nil {
			return fmt.Errorf("exporting %s to ONNX: %v\n%s", p.model, err, out)
		}
	}
	return nil
}

func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return os.WriteFile(path, data, 0o644)
}

// peerEnv is the environment for peers: OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE force a slower OpenBLAS kernel (bench/peers/README.md).
func peerEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "OPENBLAS_CORETYPE=") && !strings.HasPrefix(e, "OPENBLAS_L2_SIZE=") {
			env = append(env, e)
		}
	}
	return env
}

func (p *peerRunner) run(peer string, batch, threads int, seconds float64, flushMB int) (*Sample, *os.ProcessState, error) {
	if err := p.setup(peer); err != nil {
		return nil, nil, err
	}
	common := []string{"--model", p.model, "--batch", fmt.Sprint(batch), "--threads", fmt.Sprint(threads),
		"--seconds", fmt.Sprint(seconds), "--flush-mb", fmt.Sprint(flushMB)}
	var cmd *exec.Cmd
	if peer == "torch" {
		cmd = exec.Command(python, append([]string{"torch_peer.py"}, common...)...)
	} else if p.onnx != "" {
		cmd = exec.Command("node", append([]string{"ort_peer.js", "--onnx", p.onnx, "--input", p.input}, common...)...)
	} else {
		cmd = exec.Command("node", append([]string{"ort_peer.js", "--onnx", p.model + ".onnx"}, common...)...)
	}
	cmd.Dir = p.dir
	cmd.Env = peerEnv()
	return runSample(cmd)
}

// benchTable renders the results as markdown: per configuration, each
// engine's median, p90, p99, runs, CPU/wall, the spread of the round
// medians (run-to-run noise) and modelc's speed relative to it.
func benchTable(model string, rows []benchRow, seconds float64, rounds int, flush bool) string {
	var sb strings.Builder
	cache := "warm caches"
	if flush {
		cache = "last-level cache flushed (64 MiB streamed) before every call"
	}
	fmt.Fprintf(&sb, "### %s\n\n%d interleaved rounds of %.3g s per engine, %s.\n\n", model, rounds, seconds, cache)
	sb.WriteString("| engine | batch | threads | median | p90 | p99 | runs | cpu/wall | round medians (min–max) | modelc ÷ engine |\n")
	sb.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var base int64
	for i, r := range rows {
		// The first modelc engine of a configuration (the tuned build,
		// when there is one, else the first build) is what the others
		// are compared with.
		if strings.HasPrefix(r.engine, "modelc") && (i == 0 || rows[i-1].batch != r.batch || rows[i-1].threads != r.threads) {
			base = median(r.times)
		}
		if r.missing != "" {
			fmt.Fprintf(&sb, "| %s | %d | %d | missing: %s | | | | | | |\n", r.engine, r.batch, r.threads, r.missing)
			continue
		}
		med := median(r.times)
		var cw float64
		for _, c := range r.cpuWall {
			cw += c / float64(len(r.cpuWall))
		}
		ratio := "1.00×"
		if med > 0 && base > 0 {
			ratio = fmt.Sprintf("%.2f×", float64(med)/float64(base))
		}
		noise := fmt.Sprintf("%s – %s", fmtMs(slices.Min(r.roundMedians)), fmtMs(slices.Max(r.roundMedians)))
		if r.repeats > 0 {
			noise += fmt.Sprintf(" (%d repeated: machine busy)", r.repeats)
		}
		fmt.Fprintf(&sb, "| %s %s | %d | %d | %s | %s | %s | %d | %.2f | %s | %s |\n",
			r.engine, r.version, r.batch, r.threads, fmtMs(med), fmtMs(percentile(r.times, 90)), fmtMs(percentile(r.times, 99)),
			len(r.times), cw, noise, ratio)
	}
	sb.WriteString("\n\"modelc ÷ engine\" is modelc's speed over the engine's (the engine's median time over modelc's; with several builds, the first build's): above 1 modelc is faster.\n")
	sb.WriteString(cpuNote(rows))
	return sb.String()
}

// cpuNote compares modelc's builds by their CPU time per call, in each
// configuration with more than one: the latency less the time a call
// waited for a core, which other processes inflate in wall times, not in
// this.
func cpuNote(rows []benchRow) string {
	var sb strings.Builder
	for i := 0; i < len(rows); {
		j := i
		var cells []string
		for ; j < len(rows) && rows[j].batch == rows[i].batch && rows[j].threads == rows[i].threads; j++ {
			if r := rows[j]; strings.HasPrefix(r.engine, "modelc") && len(r.cpuTimes) > 0 {
				cells = append(cells, fmt.Sprintf("%s %s (%s – %s)", r.engine, fmtMs(median(r.cpuTimes)), fmtMs(percentile(r.cpuTimes, 10)), fmtMs(percentile(r.cpuTimes, 90))))
			}
		}
		if len(cells) > 1 {
			if sb.Len() == 0 {
				sb.WriteString("\nCPU time per call of modelc's builds, median (p10 – p90): unlike wall times, not inflated by other processes.\n\n")
			}
			fmt.Fprintf(&sb, "- batch %d, %d thread(s): %s\n", rows[i].batch, rows[i].threads, strings.Join(cells, "; "))
		}
		i = j
	}
	return sb.String()
}

// layerTable runs the driver with per-step timing on (modelc bench
// --layers) and renders each step's share of the time, its GFLOP/s and
// its fraction of the roofline: min(peak, bandwidth × operations/byte),
// with the peak and the memory read bandwidth measured on this machine.
func (d *driver) layerTable(ins []*ir.Tensor, batch, threads int, seconds float64, pk peak.Result, env ...string) (string, error) {
	steps, err := d.profile(ins, batch, threads, seconds, env...)
	if err != nil {
		return "", err
	}
	var total float64
	for _, s := range steps {
		total += s.Ns
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "#### Steps at batch %d, %d thread(s): %.3f ms in all\n\n%s\n\n", batch, threads, total/1e6, pk)
	sb.WriteString("| step | time | share | GFLOP/s | FLOP/byte | roofline GFLOP/s | % of roofline |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range steps {
		if s.Ns == 0 {
			continue
		}
		gf := s.Flops / s.Ns
		roof, pct := "–", "–"
		if pk.Known() && s.Bytes > 0 {
			r := min(pk.GFLOPS, pk.ReadGBs*s.Flops/s.Bytes)
			roof, pct = fmt.Sprintf("%.1f", r), fmt.Sprintf("%.0f%%", 100*gf/r)
		}
		fmt.Fprintf(&sb, "| %s | %s | %.1f%% | %.2f | %.2f | %s | %s |\n", strings.ReplaceAll(s.Name, "|", "\\|"), fmtUs(int64(s.Ns)), 100*s.Ns/total, gf, s.Flops/max(s.Bytes, 1), roof, pct)
	}
	sb.WriteString("\nThe roofline takes every byte from memory at the measured read bandwidth; a step whose data is in cache can exceed 100%.\n")
	return sb.String(), nil
}

// profile runs the driver with per-step timing on (env added to its
// environment) and returns each step's mean time, FLOPs and bytes.
func (d *driver) profile(ins []*ir.Tensor, batch, threads int, seconds float64, env ...string) ([]report.Step, error) {
	inFile, err := d.writeInputs(ins)
	if err != nil {
		return nil, err
	}
	cmd := d.runner.Command("profile", driverPkg, inFile, fmt.Sprint(threads), fmt.Sprint(seconds))
	cmd.Env = append(append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", threads)), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("profiling the generated package: %v\n%s", err, stderr.String())
	}
	var steps []report.Step
	if err := json.Unmarshal(out, &steps); err != nil {
		return nil, fmt.Errorf("the driver printed %q: %v", out, err)
	}
	return steps, nil
}

// trafficTable states each flushed run as a memory bandwidth: a call must
// read every weight from memory (the cache was flushed before it) and the
// inputs and write the outputs, so bytes ÷ median time is a lower bound on
// the bandwidth it used, set beside the read bandwidth measured in this
// run with the same number of threads.
func trafficTable(g *ir.Graph, rows []benchRow, pks map[int]peak.Result) string {
	var weights int64
	for _, v := range g.Consts {
		if n, ok := v.Type.Shape.NumelDim(); ok && n.A == 0 && !v.Const.Splat {
			weights += int64(n.B) * int64(v.Type.DType.Size())
		}
	}
	io := func(vs []*ir.Value, batch int) (b int64) {
		for _, v := range vs {
			if n, ok := v.Type.Shape.NumelDim(); ok {
				b += int64(n.A*batch+n.B) * int64(v.Type.DType.Size())
			}
		}
		return b
	}
	var sb strings.Builder
	sb.WriteString("| engine | batch | threads | bytes a call moves at least | median | GB/s | % of measured read bandwidth |\n")
	sb.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		if r.missing != "" {
			continue
		}
		bytes := weights + io(g.Inputs, r.batch) + io(g.Outputs, r.batch)
		med := median(r.times)
		gbs := float64(bytes) / float64(med)
		pk := pks[r.threads]
		fmt.Fprintf(&sb, "| %s | %d | %d | %.1f MB | %s | %.1f | %.0f%% of %.1f GB/s |\n",
			r.engine, r.batch, r.threads, float64(bytes)/1e6, fmtMs(med), gbs, 100*gbs/pk.ReadGBs, pk.ReadGBs)
	}
	sb.WriteString("\nBytes are the model's weights (f32, as stored) plus its inputs and outputs; the cache was flushed before each call, so each call reads them from memory at least once. The bandwidth is `internal/peak`'s read test with as many threads.\n")
	return sb.String()
}

// passLabel names a build's passes for the table: " passes: a, b;
// excluded: c".
func passLabel(ps, ex []frontend.PassSpec) string {
	names := func(l []frontend.PassSpec) string {
		var n []string
		for _, s := range l {
			n = append(n, s.Name)
		}
		return strings.Join(n, ", ")
	}
	var parts []string
	if len(ps) > 0 {
		parts = append(parts, "passes: "+names(ps))
	}
	if len(ex) > 0 {
		parts = append(parts, "excluded: "+names(ex))
	}
	if len(parts) == 0 {
		return " passes: none named"
	}
	return " " + strings.Join(parts, "; ")
}
