// Command zootable writes docs/zoo-table.md (make zoo-table): for every
// accuracy twin (zoo/twins) and every pass configuration its model.yaml
// names under configurations:, the twin's top-1 accuracy on its held-out
// set and parameters, and the parameters and latency at batch 1 and 32 of
// the zoo architectures it is the twin of (twin_of:), measured by the
// bench harness (modelc bench, one thread). A configuration whose pass is
// not implemented yet is a "pending" row; a pass that lands adds its rows
// by being named in the model.yaml files, with no change here.
//
//	go run ./cmd/zootable [--twins zoo/twins] [--out docs/zoo-table.md] [--modelc bin/modelc] [--seconds 1] [--no-bench] [--rows N]
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/zoo/twins"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "zootable:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("zootable", flag.ContinueOnError)
	dir := fs.String("twins", twins.Dir, "the twins' folder")
	out := fs.String("out", "docs/zoo-table.md", "the markdown file to write")
	modelc := fs.String("modelc", "bin/modelc", "the modelc binary whose bench harness times the architectures")
	seconds := fs.Float64("seconds", 1, "bench: timed seconds per configuration")
	noBench := fs.Bool("no-bench", false, "leave the latency columns empty")
	rows := fs.Int("rows", 0, "evaluate only the first N held-out rows (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := options{rows: *rows, arch: &archCache{graphs: map[string]*ir.Graph{}}}
	work := filepath.Join("out", "zoo-table")
	if !*noBench {
		b := &bencher{modelc: *modelc, seconds: *seconds, work: work, cache: map[string]benchResult{}, arch: o.arch}
		o.bench = b.run
	}
	start := time.Now()
	rs, err := build(*dir, o)
	if err != nil {
		return err
	}
	var sb strings.Builder
	writeTable(&sb, rs, !*noBench, *seconds)
	if err := os.WriteFile(*out, []byte(sb.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d rows in %s\n", *out, len(rs), time.Since(start).Round(time.Second))
	return nil
}

type benchResult struct {
	medians map[int]string
	cmd     string
}

// bencher runs modelc bench on zoo architectures, once per (architecture,
// passes).
type bencher struct {
	modelc  string
	seconds float64
	work    string
	cache   map[string]benchResult
	arch    *archCache
}

var benchBatches = []int{1, 32}

func (b *bencher) run(arch string, cfg frontend.Configuration) (map[int]string, string, error) {
	// The key is the graph the configuration compiles the architecture
	// to: configurations that leave it unchanged (bn-fold on a model
	// without BatchNorm) share one measurement instead of showing two
	// samples of the noise as a difference.
	g, err := b.arch.graph(arch, cfg)
	if err != nil {
		return nil, "", err
	}
	key := arch + "\n" + g.String()
	if r, ok := b.cache[key]; ok {
		return r.medians, r.cmd, nil
	}
	model := "zoo:" + arch
	if len(cfg.Passes) > 0 || len(cfg.ExcludePasses) > 0 {
		// The architecture with the configuration's passes: its YAML and
		// data in a work folder.
		y, files, err := archYAML(arch, cfg)
		if err != nil {
			return nil, "", err
		}
		d := filepath.Join(b.work, arch+"."+sanitize(cfg.Name))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", err
		}
		files["model.yaml"] = y
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(d, name), data, 0o644); err != nil {
				return nil, "", err
			}
		}
		model = filepath.Join(d, "model.yaml")
	}
	args := []string{"bench", model, "--batch", "1,32", "--threads", "1",
		"--seconds", strconv.FormatFloat(b.seconds, 'g', -1, 64), "--rounds", "1"}
	cmd := exec.Command(b.modelc, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	fmt.Fprintf(os.Stderr, "zootable: %s %s\n", b.modelc, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("%s %s: %v\n%s", b.modelc, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	medians, err := parseBench(stdout.String())
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", b.modelc, strings.Join(args, " "), err)
	}
	r := benchResult{medians: medians, cmd: "modelc " + strings.Join(args, " ")}
	b.cache[key] = r
	return r.medians, r.cmd, nil
}

// parseBench reads modelc's median per batch from modelc bench's markdown
// table (columns found by their header: engine, batch, median).
func parseBench(out string) (map[int]string, error) {
	medians := map[int]string{}
	col := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) > 0 && cells[0] == "engine" {
			for i, c := range cells {
				col[c] = i
			}
			continue
		}
		be, ok1 := col["batch"]
		me, ok2 := col["median"]
		if !ok1 || !ok2 || len(cells) <= max(be, me) || !strings.HasPrefix(cells[0], "modelc") {
			continue
		}
		batch, err := strconv.Atoi(cells[be])
		if err != nil {
			continue
		}
		medians[batch] = cells[me]
	}
	for _, b := range benchBatches {
		if medians[b] == "" {
			return nil, fmt.Errorf("no modelc row at batch %d in the bench table:\n%s", b, tail(out, 2000))
		}
	}
	return medians, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// writeTable renders the rows as docs/zoo-table.md.
func writeTable(w io.Writer, rs []row, bench bool, seconds float64) {
	fmt.Fprintln(w, "# Accuracy twins × pass configurations")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Generated by `make zoo-table` on %s: %s, %d cores, %s.\n", time.Now().UTC().Format("2006-01-02"), cpuName(), runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(w, "Each row is one pass configuration that a twin's model.yaml names under `configurations:`.")
	fmt.Fprintln(w, "**top-1** is the twin (a small model trained on scikit-learn's digits by `zoo/train/train.py`,")
	fmt.Fprintln(w, "zoo/twins/NAME) compiled with that configuration and scored by the reference evaluator on its")
	fmt.Fprintln(w, "held-out set; **Δ** is the change from the twin's `none` row, in percentage points. **latency**")
	fmt.Fprintln(w, "is the zoo architecture the twin stands for (random weights, same configuration, any")
	fmt.Fprintln(w, "`max_metric_drop` left out: an attention-drop with only a budget drops as many regions as it")
	fmt.Fprintln(w, "dropped on the twin; lossy passes calibrate on seeded samples there) timed by `modelc bench`,")
	fmt.Fprintf(w, "generated package, one thread, median of one round of %g s. Parameters are the dense\n", seconds)
	fmt.Fprintln(w, "constants after the pipeline. The `none` rows exclude the default passes (bn-fold); every")
	fmt.Fprintln(w, "other row runs them.")
	fmt.Fprintln(w, "A configuration whose pass is not implemented yet is listed as pending.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| twin | configuration | passes | top-1 | Δ (points) | twin params | architecture | arch params | batch 1 | batch 32 |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rs {
		passes := "`" + r.Passes + "`"
		if r.Pending != "" {
			fmt.Fprintf(w, "| %s | %s | %s | %s | | | %s | | | |\n", r.Twin, r.Config, passes, r.Pending, r.Arch)
			continue
		}
		lat1, lat32 := "—", "—"
		if bench {
			lat1, lat32 = r.Latency[1], r.Latency[32]
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f%% (%d/%d) | %+.2f | %s | %s | %s | %s | %s |\n",
			r.Twin, r.Config, passes, 100*r.Top1, r.Correct, r.Rows, r.Delta, count(r.TwinParams), r.Arch, count(r.ArchParams), lat1, lat32)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The twins and what each configuration is for are described in zoo/twins/README.md.")
}

func count(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2f M", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f k", float64(n)/1e3)
	}
	return strconv.FormatInt(n, 10)
}

func cpuName() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "model name") {
			if _, v, ok := strings.Cut(l, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
