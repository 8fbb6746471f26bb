package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/peak"
	"github.com/modelc/modelc/ir"
)

// modelc bench --op gemm: one kernel's throughput, as GFLOP/s and as a
// fraction of this machine's fp32 FMA peak measured at start-up, beside
// OpenBLAS (through numpy) and gonum's pure-Go Sgemm in the same run.
//
// modelc's side is what a generated package runs for a linear layer: the
// graph y = x·Wᵀ with W a constant, compiled by the whole pipeline and
// codegen (so W is packed at build time, as in every model), with the
// batch as M. The peers get B in both layouts (NN: B[K,N]; NT: B[N,K]
// transposed, nn.Linear's layout), since their speed can depend on it.

const gemmUsage = "modelc bench --op gemm --m M[,M...] --n N[,N...] --k K[,K...] [--threads 1,2] [--peers openblas,gonum] [--layout nn,nt] [--seconds 1] [--rounds 3] [--report FILE]"

// gemmShape is one C[M×N] = A[M×K]·B problem.
type gemmShape struct{ m, n, k int }

func (s gemmShape) String() string { return fmt.Sprintf("%d×%d×%d", s.m, s.n, s.k) }
func (s gemmShape) flop() float64  { return 2 * float64(s.m) * float64(s.n) * float64(s.k) }

// gemmRow is one engine's samples for one shape, layout and thread count.
type gemmRow struct {
	benchRow
	shape  gemmShape
	layout string
}

func runBenchGemm(args []string, stdout io.Writer) error {
	fs := newFlags("bench", gemmUsage)
	op := fs.String("op", "", "the kernel to time: gemm")
	ms := fs.String("m", "", "rows of A and C (the batch), comma-separated")
	ns := fs.String("n", "", "columns of B and C (the layer's outputs), comma-separated")
	ks := fs.String("k", "", "the inner dimension (the layer's inputs), comma-separated")
	threads := fs.String("threads", "1", "thread counts, comma-separated")
	peers := fs.String("peers", "", "peers to measure beside modelc: openblas (numpy), gonum")
	layouts := fs.String("layout", "nn", "B layouts for the peers: nn (B[K,N]), nt (B[N,K] transposed); modelc packs B at build time either way")
	seconds := fs.Float64("seconds", 1, "timed seconds per engine per round")
	rounds := fs.Int("rounds", 3, "interleaved rounds per configuration")
	report := fs.String("report", "", "also write the table as markdown to this file")
	help := fs.Bool("h", false, "show help")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *help {
		flagHelp(stdout, fs, gemmUsage)
		return nil
	}
	if len(pos) != 0 {
		return usageError{"bench --op takes no MODEL: usage: " + gemmUsage}
	}
	if *op != "gemm" {
		return usageError{fmt.Sprintf("--op %q: the only kernel is gemm", *op)}
	}
	shapes, err := gemmShapes(*ms, *ns, *ks)
	if err != nil {
		return err
	}
	ts, err := intList("--threads", *threads)
	if err != nil {
		return err
	}
	peerList, err := choices("--peers", *peers, "openblas", "gonum")
	if err != nil {
		return err
	}
	layoutList, err := choices("--layout", *layouts, "nn", "nt")
	if err != nil {
		return err
	}
	if len(layoutList) == 0 {
		return usageError{"--layout: name at least one of nn, nt"}
	}

	peaks := map[int]peak.Result{}
	for _, t := range ts {
		fmt.Fprintf(os.Stderr, "bench: measuring the machine's peak on %d thread(s)\n", t)
		peaks[t] = peak.Measure(t)
	}

	// One driver per (N, K): M is the batch, so shapes that differ only
	// in M share a build.
	drivers := map[[2]int]*driver{}
	defer func() {
		for _, d := range drivers {
			d.Close()
		}
	}()
	var rows []gemmRow
	for _, s := range shapes {
		key := [2]int{s.n, s.k}
		d := drivers[key]
		if d == nil {
			maxM := 0
			for _, o := range shapes {
				if o.n == s.n && o.k == s.k {
					maxM = max(maxM, o.m)
				}
			}
			fmt.Fprintf(os.Stderr, "bench: building the generated kernel for N=%d K=%d\n", s.n, s.k)
			if d, err = buildDriver(linearModel(s.n, s.k), nil, maxM); err != nil {
				return err
			}
			drivers[key] = d
		}
		ins := ir.SampleInputs(d.graph, s.m, 7)
		for _, t := range ts {
			type engine struct{ name, layout string }
			order := []engine{{"modelc", "packed"}}
			for _, p := range peerList {
				for _, l := range layoutList {
					order = append(order, engine{p, strings.ToUpper(l)})
				}
			}
			byEngine := make([]*gemmRow, len(order))
			for i, e := range order {
				byEngine[i] = &gemmRow{benchRow: benchRow{engine: e.name, batch: s.m, threads: t}, shape: s, layout: e.layout}
			}
			for r := 0; r < *rounds; r++ {
				for i, e := range order {
					row := byEngine[i]
					if row.missing != "" {
						continue
					}
					smp, disturbed, err := measure(func() (*Sample, *os.ProcessState, error) {
						switch e.name {
						case "modelc":
							return d.benchProc(ins, t, *seconds, 0)
						case "openblas":
							return openblasSample(s, e.layout, t, *seconds)
						default:
							return gonumSample(s, e.layout, t, *seconds)
						}
					})
					var miss missingPeer
					switch {
					case errors.As(err, &miss):
						row.missing = miss.hint
						continue
					case err != nil:
						return err
					}
					row.add(smp, disturbed)
					fmt.Fprintf(os.Stderr, "bench: gemm %v %s %s threads %d round %d: %.1f GFLOP/s\n",
						s, e.name, e.layout, t, r+1, s.flop()/float64(median(smp.TimesNs)))
				}
			}
			for _, row := range byEngine {
				rows = append(rows, *row)
			}
		}
	}
	table := gemmTable(rows, peaks, *seconds, *rounds)
	fmt.Fprint(stdout, table)
	if *report != "" {
		return os.WriteFile(*report, []byte(table), 0o644)
	}
	return nil
}

// gemmShapes zips the --m, --n and --k lists; a list of one value is
// used for every shape.
func gemmShapes(ms, ns, ks string) ([]gemmShape, error) {
	if ms == "" || ns == "" || ks == "" {
		return nil, usageError{"--op gemm needs --m, --n and --k: usage: " + gemmUsage}
	}
	var lists [3][]int
	for i, f := range []struct{ flag, val string }{{"--m", ms}, {"--n", ns}, {"--k", ks}} {
		l, err := intList(f.flag, f.val)
		if err != nil {
			return nil, err
		}
		lists[i] = l
	}
	n := max(len(lists[0]), len(lists[1]), len(lists[2]))
	for i, l := range lists {
		if len(l) != 1 && len(l) != n {
			return nil, usageError{fmt.Sprintf("--%c has %d values and another list %d: give each list one value or the same number of values (they are zipped)", "mnk"[i], len(l), n)}
		}
	}
	at := func(l []int, i int) int {
		if len(l) == 1 {
			return l[0]
		}
		return l[i]
	}
	shapes := make([]gemmShape, n)
	for i := range shapes {
		shapes[i] = gemmShape{at(lists[0], i), at(lists[1], i), at(lists[2], i)}
	}
	return shapes, nil
}

// choices splits a comma-separated flag value and checks every entry.
func choices(flag, val string, allowed ...string) ([]string, error) {
	if val == "" {
		return nil, nil
	}
	var out []string
	for _, v := range strings.Split(val, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(allowed, v) {
			return nil, usageError{fmt.Sprintf("%s: unknown value %q (want %s)", flag, v, strings.Join(allowed, ", "))}
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// linearModel is the one-layer model y = x·Wᵀ, W[n,k] seeded random, as a
// model would hold a linear layer without bias.
func linearModel(n, k int) *frontend.Model {
	b := ir.NewBuilder("gemm")
	x, _ := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(k)}))
	w := ir.NewTensor(ir.F32, []int{n, k})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range w.F {
		w.F[i] = float32(rng.NormFloat64())
	}
	wv, _ := b.Const("w", w)
	y, _ := b.Add1("fc", &ir.Linear{}, []*ir.Value{x, wv}, "y")
	b.G.Outputs = []*ir.Value{y}
	return &frontend.Model{Name: "gemm", Package: "gemm", File: "(bench --op gemm)", Graph: b.G}
}

func openblasSample(s gemmShape, layout string, threads int, seconds float64) (*Sample, *os.ProcessState, error) {
	pr := &peerRunner{}
	if err := pr.scripts(); err != nil {
		return nil, nil, err
	}
	if err := exec.Command(python, "-c", "import numpy, threadpoolctl").Run(); err != nil {
		return nil, nil, missingPeer{"OpenBLAS through numpy: apt-get install python3-numpy python3-threadpoolctl"}
	}
	cmd := exec.Command(python, "sgemm_peer.py", "--m", fmt.Sprint(s.m), "--n", fmt.Sprint(s.n), "--k", fmt.Sprint(s.k),
		"--op", layout, "--threads", fmt.Sprint(threads), "--seconds", fmt.Sprint(seconds))
	cmd.Dir = pr.dir
	cmd.Env = append(peerEnv(), fmt.Sprintf("OPENBLAS_NUM_THREADS=%d", threads))
	return runSample(cmd)
}

// gonumSample runs gonum's Sgemm in a child process of this binary (the
// hidden command "peer gonum-sgemm"), so it gets its own GOMAXPROCS and
// its CPU time is its own, as every other engine's.
func gonumSample(s gemmShape, layout string, threads int, seconds float64) (*Sample, *os.ProcessState, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self, "peer", "gonum-sgemm", fmt.Sprint(s.m), fmt.Sprint(s.n), fmt.Sprint(s.k), layout, fmt.Sprint(seconds))
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", threads))
	return runSample(cmd)
}

// gemmTable renders the gemm results as markdown, one block per shape:
// each engine's median time, GFLOP/s, fraction of the peak measured at
// that thread count, the spread of the round medians and modelc's speed
// relative to it.
func gemmTable(rows []gemmRow, peaks map[int]peak.Result, seconds float64, rounds int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "### sgemm\n\nC[M×N] = A[M×K]·B, f32. %d interleaved rounds of %.3g s per engine. The peak is measured at start-up:\n\n", rounds, seconds)
	ts := make([]int, 0, len(peaks))
	for t := range peaks {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	for _, t := range ts {
		fmt.Fprintf(&sb, "- %s\n", peaks[t])
	}
	sb.WriteString("\n| M×N×K | engine | B | threads | median | GFLOP/s | % of peak | round medians, GFLOP/s | modelc ÷ engine |\n")
	sb.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var base float64
	var versions []string
	for _, r := range rows {
		if r.missing != "" {
			fmt.Fprintf(&sb, "| %v | %s | %s | %d | missing: %s | | | | |\n", r.shape, r.engine, r.layout, r.threads, r.missing)
			continue
		}
		gf := r.shape.flop() / float64(median(r.times))
		if r.engine == "modelc" {
			base = gf
		}
		pct := "–"
		if p := peaks[r.threads]; p.Known() {
			pct = fmt.Sprintf("%.0f%%", 100*gf/p.GFLOPS)
		}
		noise := fmt.Sprintf("%.1f – %.1f", r.shape.flop()/float64(slices.Max(r.roundMedians)), r.shape.flop()/float64(slices.Min(r.roundMedians)))
		if r.repeats > 0 {
			noise += fmt.Sprintf(" (%d repeated: machine busy)", r.repeats)
		}
		ratio := "1.00×"
		if r.engine != "modelc" {
			ratio = fmt.Sprintf("%.2f×", base/gf)
		}
		fmt.Fprintf(&sb, "| %v | %s | %s | %d | %s | %.1f | %s | %s | %s |\n",
			r.shape, r.engine, r.layout, r.threads, fmtUs(median(r.times)), gf, pct, noise, ratio)
		if !slices.Contains(versions, r.engine+": "+r.version) {
			versions = append(versions, r.engine+": "+r.version)
		}
	}
	sb.WriteString("\n\"modelc ÷ engine\" is modelc's GFLOP/s over the engine's: above 1 modelc is faster. modelc's B is packed when the package is built (as every generated linear layer's weights are), so its time is the same for either layout. Engines: " + strings.Join(versions, "; ") + ".\n")
	return sb.String()
}

func fmtUs(ns int64) string {
	if ns < 1e6 {
		return fmt.Sprintf("%.1f µs", float64(ns)/1e3)
	}
	return fmtMs(ns)
}
