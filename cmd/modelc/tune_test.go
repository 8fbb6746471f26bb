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

	"github.com/modelc/modelc/autotune/db"
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
