package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/autotune"
	"github.com/modelc/modelc/autotune/db"
	"github.com/modelc/modelc/autotune/report"
)

// cli starts the test binary as modelc with args.
func cli(args ...string) (*exec.Cmd, *bytes.Buffer) {
	exe, _ := os.Executable()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "MODELC_TEST_AS_CLI=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// TestTuneInterruptResume interrupts modelc tune (SIGINT, as Ctrl-C) once
// its first batch is in the database: it stops cleanly, the database
// holds what was measured, and the same command again resumes without
// measuring those variants again and finishes the space.
func TestTuneInterruptResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds harnesses")
	}
	dir, model := writeTiny(t)
	path := filepath.Join(dir, "tune.jsonl")
	args := []string{"tune", model, "--tune-db", path, "--budget", "10m"}
	cmd, out := cli(args...)
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), out.String())
	require.Contains(t, out.String(), "interrupted: what was measured is in the database")
	first, err := db.Open(path, db.Options{Machine: db.ThisMachine()})
	require.NoError(t, err)
	require.Empty(t, first.Problems)
	n := len(first.Records)
	require.Greater(t, n, 0)
	require.Less(t, n, 39, "interrupted before the whole space (39 avx512 variants) was measured")
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	cmd, out = cli(args...)
	require.NoError(t, cmd.Run(), out.String())
	second, err := db.Open(path, db.Options{Machine: db.ThisMachine()})
	require.NoError(t, err)
	require.Len(t, second.Records, 39, out.String())
	// The resumed run measured the rest: the first run's records are
	// there unchanged, but for the few the final confirmation re-measured.
	same := 0
	for _, a := range first.Records {
		for _, b := range second.Records {
			if a.Key() == b.Key() && a.At.Equal(b.At) {
				same++
			}
		}
	}
	require.GreaterOrEqual(t, same, n-4, "the rerun measured again what the first run had")
	require.Contains(t, out.String(), "| linear.avx512 | n5_k4 | 1 (1) | fc | exhaustive | 39 of 39 |")
}

func TestTuneMergeCLI(t *testing.T) {
	dir := t.TempDir()
	m := db.Machine{CPU: "X", OS: "linux", Arch: "amd64", Tier: "avx2", CPUs: 2}
	rec := func(v string) db.Record {
		return db.Record{Kernel: "linear.avx2", Shape: "n5_k4", Batch: "1", Variant: v, Status: db.StatusOK, MedianNs: 10, Modelc: "t", Go: "t", At: time.Now()}
	}
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	_, err := db.Update(a, m, []db.Record{rec("x")})
	require.NoError(t, err)
	_, err = db.Update(b, m, []db.Record{rec("y")})
	require.NoError(t, err)
	out, err := modelc(t, "tune", "merge", a, b)
	require.NoError(t, err)
	require.Contains(t, out, "merged "+b+" into "+a+": 2 records of X")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	out, err = modelc(t, "tune", "merge", "--cache", a)
	require.NoError(t, err)
	want, _ := db.DefaultPath(m)
	require.Contains(t, out, "into "+want)
	require.True(t, strings.HasPrefix(want, filepath.Join(dir, "cache")))
	_, err = modelc(t, "tune", "merge", a)
	requireUsageError(t, err, "usage: modelc tune merge")
	other := m
	other.CPUs = 4
	c := filepath.Join(dir, "c.jsonl")
	_, err = db.Update(c, other, []db.Record{rec("z")})
	require.NoError(t, err)
	_, err = modelc(t, "tune", "merge", a, c)
	require.ErrorIs(t, err, db.ErrOtherMachine)
}

// tunedDB writes a tuning database for this machine in which one variant
// of the tiny model's linear layer is far faster than the default at
// batch 1, so that a build takes it.
func tunedDB(t *testing.T, dir string) (path, variant string) {
	t.Helper()
	m := db.ThisMachine()
	l := autotune.Linear{N: 5, K: 4, Tier: autotune.KernelTier(m.Tier)}
	sp := l.Space()
	def := sp.Name(l.Default())
	for _, p := range sp.All() {
		if variant = sp.Name(p); variant != def {
			break
		}
	}
	rec := func(v string, ns float64) db.Record {
		return db.Record{Kernel: l.Family(), Shape: l.Shape(), Batch: "1", Variant: v, Status: db.StatusOK, MedianNs: ns,
			P10Ns: ns * 0.99, P90Ns: ns * 1.01, Samples: 20, Modelc: "test", Go: "test", At: time.Now()}
	}
	path = filepath.Join(dir, "tune.jsonl")
	_, err := db.Update(path, m, []db.Record{rec(def, 1000), rec(variant, 500)})
	require.NoError(t, err)
	return path, variant
}

// TestBuildTuned: build takes the database's choice, says so, and says
// which kernels kept the defaults; the package records the database.
func TestBuildTuned(t *testing.T) {
	dir, model := writeTiny(t)
	path, variant := tunedDB(t, dir)
	out, err := modelc(t, "build", model, "-o", filepath.Join(dir, "pkg"), "--tune-db", path)
	require.NoError(t, err)
	require.Contains(t, out, "1 of 1 kernels tuned")
	require.Contains(t, out, "  tuned   linear.")
	require.Contains(t, out, variant+", 2.00× the default (batch 1)")
	d, err := db.Open(path, db.Options{Machine: db.ThisMachine()})
	require.NoError(t, err)
	src, err := os.ReadFile(filepath.Join(dir, "pkg", "model.go"))
	require.NoError(t, err)
	require.Contains(t, string(src), "// Tuned with the tuning database of sha256 "+d.Hash+".")
	// Without a database: said, and defaults.
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "empty-cache"))
	out, err = modelc(t, "build", model, "-o", filepath.Join(dir, "pkg2"))
	require.NoError(t, err)
	require.Contains(t, out, "tuning: no database for this machine at "+filepath.Join(dir, "empty-cache"))
	// Another machine's database: refused unless asked, then said.
	other := filepath.Join(dir, "other.jsonl")
	m := db.ThisMachine()
	m.CPUs++
	_, err = db.Update(other, m, nil)
	require.NoError(t, err)
	_, err = modelc(t, "build", model, "-o", filepath.Join(dir, "pkg3"), "--tune-db", other)
	require.ErrorIs(t, err, db.ErrOtherMachine)
	out, err = modelc(t, "build", model, "-o", filepath.Join(dir, "pkg3"), "--tune-db", other, "--tune-db-any-machine")
	require.NoError(t, err)
	require.Contains(t, out, "(asked with --tune-db-any-machine)")
}

// TestBenchReport: modelc bench --report writes the report directory with
// the tuned, default and pure-Go builds, each profiled, and modelc report
// compare reads it back.
func TestBenchReport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds generated packages")
	}
	dir, model := writeTiny(t)
	path, _ := tunedDB(t, dir)
	rep := filepath.Join(dir, "report")
	out, err := modelc(t, "bench", model, "--tune-db", path, "--report", rep, "--batch", "1,3", "--seconds", "0.02", "--rounds", "1")
	require.NoError(t, err, out)
	for _, f := range []string{"report.md", "report.html", "report.json", "roofline.svg", "latency.svg", "layers_b1.svg", "layers_b3.svg"} {
		require.FileExists(t, filepath.Join(rep, f))
	}
	r, err := report.Read(filepath.Join(rep, "report.json"))
	require.NoError(t, err)
	var engines, builds []string
	for _, e := range r.Engines {
		if e.Batch == 1 {
			engines = append(engines, e.Engine)
		}
	}
	for _, l := range r.Layers {
		if l.Batch == 3 {
			builds = append(builds, l.Build)
			require.NotEmpty(t, l.Steps)
		}
	}
	require.Equal(t, []string{"modelc tuned", "modelc", "modelc pure Go"}, engines)
	require.Equal(t, []string{"tuned", "default", "pure Go"}, builds)
	require.Equal(t, db.ThisMachine().ID(), r.Machine.ID())
	require.NotEmpty(t, r.Machine.TuneDBSHA256)
	require.Len(t, r.Choices, 1)
	require.Contains(t, r.Machine.Go, "go1")
	out, err = modelc(t, "report", "compare", rep, filepath.Join(rep, "report.json"), "-o", filepath.Join(dir, "cmp"))
	require.NoError(t, err)
	require.Contains(t, out, "| machine | tier | peak GFLOP/s | GB/s | tuning | batch 1, 1 thr | batch 3, 1 thr |")
	require.FileExists(t, filepath.Join(dir, "cmp", "compare.svg"))
	_, err = modelc(t, "bench", model, "--report", filepath.Join(rep, "report.md"))
	requireUsageError(t, err, "is a file; --report names a directory now")
}

func TestTuneEmitK8sJob(t *testing.T) {
	file := filepath.Join(t.TempDir(), "jobs.yaml")
	out, err := modelc(t, "tune", "zoo:mlp", "--passes", "bn-fold", "--emit-k8s-job", file, "--image", "registry.example/modelc:1", "--node-types", "m7i.large, c7g.large", "--batch", "1,32")
	require.NoError(t, err)
	require.Contains(t, out, "wrote 2 Job(s) to "+file)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(data), "kind: Job"))
	require.Contains(t, string(data), "modelc tune zoo:mlp --passes bn-fold --budget 5m0s --batch 1,32")
	require.Contains(t, string(data), "node.kubernetes.io/instance-type: c7g.large")
	_, err = modelc(t, "tune", "zoo:mlp", "--emit-k8s-job", file)
	requireUsageError(t, err, "--emit-k8s-job needs --image")
}
