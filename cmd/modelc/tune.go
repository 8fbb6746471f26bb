package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/modelc/modelc/autotune"
	"github.com/modelc/modelc/autotune/db"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/zoo"
)

const tuneUsage = "modelc tune MODEL [--budget 5m] [--tune-db FILE] [--batch 1,32] [--runner 'ssh HOST'] [--target GOOS/GOARCH] [--emit-k8s-job FILE]\n           modelc tune merge DST SRC..."

// runTune is modelc tune: measure the variants of the model's kernels on
// this machine (or the --runner target) and keep the fastest in the
// tuning database that build and bench read.
func runTune(args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return runTuneMerge(args[1:], stdout)
	}
	fs := newFlags("tune", tuneUsage)
	budget := fs.Duration("budget", 5*time.Minute, "time the whole tuning may take")
	tuneDB := fs.String("tune-db", "", "tuning database (default: the target machine's file in the user cache, $XDG_CACHE_HOME/modelc/tune/MACHINE.jsonl)")
	batches := fs.String("batch", "1", "batch sizes to tune for, comma-separated")
	runner := fs.String("runner", "", "a command prefix that runs a shell command line on the target, e.g. 'ssh HOST': variants are cross-built for it and run there")
	target := fs.String("target", "", "GOOS/GOARCH of the target (default: this machine's, or asked of the --runner target with uname)")
	timeout := fs.Duration("timeout", 10*time.Second, "longest a variant's check or timing sample may take before it counts as hung")
	emulated := fs.Bool("emulated", false, "flag every measurement as emulated (a qemu guest): kept as a check, never chosen for speed")
	k8s := fs.String("emit-k8s-job", "", "write a Kubernetes Job manifest to this file (- for stdout) that tunes the model on each node type, instead of tuning here")
	image := fs.String("image", "", "with --emit-k8s-job: the container image holding modelc and the Go toolchain")
	nodeTypes := fs.String("node-types", "", "with --emit-k8s-job: the node.kubernetes.io/instance-type values to tune on, comma-separated (one pod each)")
	m, ok, err := oneModel(fs, args, tuneUsage, stdout)
	if !ok {
		return err
	}
	bs, err := intList("--batch", *batches)
	if err != nil {
		return err
	}
	if *k8s != "" {
		return emitK8sJob(*k8s, m, *image, *nodeTypes, *budget, bs, stdout)
	}
	t := &autotune.Target{Emulated: *emulated}
	if *runner != "" {
		t.Prefix = strings.Fields(*runner)
	}
	if *target != "" {
		goos, goarch, ok := strings.Cut(*target, "/")
		if !ok || goos == "" || goarch == "" {
			return usageError{fmt.Sprintf("--target %s: want GOOS/GOARCH, e.g. linux/arm64", *target)}
		}
		t.GOOS, t.GOARCH = goos, goarch
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := compile.Lower(m, compile.Options{})
	if err != nil {
		return err
	}
	r := &autotune.Runner{Target: t, Timeout: *timeout, Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "tune: "+f+"\n", a...) }}
	defer r.Close()
	fmt.Fprintf(os.Stderr, "tune: building the probe for the target (%s)\n", t.Name())
	probe, err := r.Start(ctx)
	if err != nil {
		return err
	}
	tier := autotune.KernelTier(probe.Machine.Tier)
	tasks, untuned := autotune.Tasks(res.Graph, tier, bs)
	path := *tuneDB
	if path == "" {
		if path, err = db.DefaultPath(probe.Machine); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "target: %s\n", probe.Machine)
	if probe.Emulated {
		fmt.Fprintln(stdout, "target is emulated: variants are checked, their times are kept but never chosen")
	}
	fmt.Fprintf(stdout, "database: %s\n%d kernel(s) to tune at batch %s (%s kernels), budget %v\n", path, len(tasks), *batches, tier, *budget)
	var progress io.Writer
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		progress = os.Stderr
	}
	results, d, err := autotune.Tune(ctx, tasks, autotune.Options{Runner: r, DB: path, Budget: *budget, Progress: progress,
		Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "tune: "+f+"\n", a...) }})
	fmt.Fprint(stdout, "\n"+autotune.Summary(results))
	for _, op := range sortedKeys(untuned) {
		fmt.Fprintf(stdout, "no variant space yet for %s (%d layers: %s): codegen's defaults\n", op, len(untuned[op]), short(untuned[op]))
	}
	if d != nil {
		fmt.Fprintf(stdout, "database: %s (%d records, sha256 %s)\n", path, len(d.Records), short12(d.Hash))
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stdout, "interrupted: what was measured is in the database; run the same command again to resume")
		return nil
	}
	return err
}

func short12(h string) string { return h[:min(12, len(h))] }

// short lists at most 4 names.
func short(names []string) string {
	if len(names) <= 4 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:4], ", ") + fmt.Sprintf(", … (%d more)", len(names)-4)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// runTuneMerge is modelc tune merge DST SRC...: the records of each SRC
// merged into DST, which must belong to the same machine; with --cache,
// each SRC goes into its own machine's database in the user cache (the
// files a fleet's pods wrote, --emit-k8s-job).
func runTuneMerge(args []string, stdout io.Writer) error {
	const u = "modelc tune merge DST SRC... | modelc tune merge --cache SRC..."
	fs := newFlags("tune merge", u)
	help := fs.Bool("h", false, "show help")
	cache := fs.Bool("cache", false, "merge each SRC into its machine's database in the user cache")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *help {
		flagHelp(stdout, fs, u)
		return nil
	}
	if len(pos) < 2 && !(*cache && len(pos) == 1) {
		return usageError{"usage: " + u}
	}
	merge := func(dst string, srcs ...string) error {
		d, problems, err := db.Merge(dst, srcs...)
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "tune merge:", p)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "merged %s into %s: %d records of %s\n", strings.Join(srcs, ", "), dst, len(d.Records), d.Machine)
		return nil
	}
	if !*cache {
		return merge(pos[0], pos[1:]...)
	}
	for _, src := range pos {
		m, err := db.MachineOf(src)
		if err != nil {
			return err
		}
		dst, err := db.DefaultPath(m)
		if err != nil {
			return err
		}
		if err := merge(dst, src); err != nil {
			return err
		}
	}
	return nil
}

// emitK8sJob writes the Kubernetes Jobs that tune m on each node type.
func emitK8sJob(file string, m *frontend.Model, image, nodeTypes string, budget time.Duration, batches []int, stdout io.Writer) error {
	// MODEL as the pod sees it: a bundled model by name, a file by the
	// path given (the image must hold it there).
	model := m.File
	if name, ok := strings.CutSuffix(m.File, "/model.yaml"); ok && slices.Contains(zoo.Names(), name) {
		if _, err := os.Stat(m.File); err != nil {
			model = "zoo:" + name
		}
	}
	var types []string
	for _, t := range strings.Split(nodeTypes, ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	var passes []string
	for _, p := range m.Passes {
		if p.Line == 0 { // from --passes; model.yaml's travel with the model
			passes = append(passes, p.Name)
		}
	}
	jobs, err := autotune.K8sJobs(autotune.JobSpec{Image: image, Model: model, Passes: strings.Join(passes, ","), NodeTypes: types, Budget: budget, Batches: batches})
	if err != nil {
		return usageError{err.Error()}
	}
	if file == "-" {
		return autotune.WriteK8sJobs(stdout, jobs)
	}
	var b strings.Builder
	if err := autotune.WriteK8sJobs(&b, jobs); err != nil {
		return err
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d Job(s) to %s: kubectl apply -f %s (the file's header says how to collect the results)\n", len(jobs), file, file)
	return nil
}
