package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/internal/peak"
	"github.com/modelc/modelc/ir"
)

func TestBenchModelcOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated package")
	}
	out, err := modelc(t, "bench", "zoo:resnet20", "--batch", "1,2", "--seconds", "0.05", "--rounds", "2")
	require.NoError(t, err, out)
	require.Contains(t, out, "| engine | batch | threads | median | p90 | p99 | runs | cpu/wall | round medians (min–max) | modelc ÷ engine |")
	require.Regexp(t, `\| modelc [^|]+ \| 1 \| 1 \| [0-9.]+ ms \|`, out)
	require.Regexp(t, `\| modelc [^|]+ \| 2 \| 1 \| [0-9.]+ ms \|`, out)
}

func TestBenchArgs(t *testing.T) {
	_, err := modelc(t, "bench", "zoo:resnet20", "--batch", "0")
	require.ErrorContains(t, err, "--batch: want positive integers separated by commas")
	_, err = modelc(t, "bench", "zoo:resnet20", "--peers", "tf")
	require.ErrorContains(t, err, `--peers: unknown peer "tf" (want torch, ort)`)
	// A configuration's errors name the flag, line and column.
	_, err = modelc(t, "bench", "zoo:resnet20", "--build", "x=config:[bn-fld]")
	require.ErrorContains(t, err, `--build x:1:2: unknown pass "bn-fld"`)
	_, err = modelc(t, "bench", "zoo:resnet20", "--build", "x=config:{exclude_passes: [dce]}")
	require.ErrorContains(t, err, "--build x:1:19: exclude_passes: dce is not a default pass")
}

func TestPercentiles(t *testing.T) {
	v := []int64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	require.Equal(t, int64(5), median(v))
	require.Equal(t, int64(9), percentile(v, 90))
	require.Equal(t, int64(1), percentile(v, 0))
	require.Equal(t, int64(10), percentile(v, 100))
	require.Equal(t, []int64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}, v, "percentile must not reorder its input")
}

// TestMain lets the test binary stand in for modelc as modelc bench's
// child process ("modelc peer ..."), which bench starts with
// os.Executable(), and as modelc (MODELC_TEST_AS_CLI=1). The tests read
// no tuning database from the user's cache (modelc tune on this machine
// would change what build and bench do): they get an empty one, or set
// their own.
func TestMain(m *testing.M) {
	if os.Getenv("MODELC_TEST_AS_CLI") == "1" {
		main() // the test binary as modelc itself (tune_test.go)
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == "peer" {
		if err := dispatch(os.Args[1:], os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	cache, err := os.MkdirTemp("", "modelc-test-cache-*")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

func TestBenchGemm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated package")
	}
	out, err := modelc(t, "bench", "--op", "gemm", "--m", "1,3", "--n", "17", "--k", "5", "--peers", "gonum", "--layout", "nn,nt",
		"--seconds", "0.01", "--rounds", "2")
	require.NoError(t, err, out)
	require.Contains(t, out, "| M×N×K | engine | B | threads | median | GFLOP/s | % of peak | round medians, GFLOP/s | modelc ÷ engine |")
	for _, shape := range []string{"1×17×5", "3×17×5"} {
		require.Regexp(t, `\| `+shape+` \| modelc \| packed \| 1 \| [0-9.]+ µs \| [0-9.]+ \| ([0-9]+%|–) \| [0-9.]+ – [0-9.]+[^|]* \| 1.00× \|`, out)
		for _, l := range []string{"NN", "NT"} {
			require.Regexp(t, `\| `+shape+` \| gonum \| `+l+` \| 1 \| [0-9.]+ µs \| [0-9.]+ \| [^|]+ \| [^|]+ \| [0-9.]+× \|`, out)
		}
	}
	require.Contains(t, out, "gonum: v")
}

func TestBenchGemmArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--op", "conv"}, `--op "conv": the only kernel is gemm`},
		{[]string{"--op", "gemm", "--m", "1"}, "--op gemm needs --m, --n and --k"},
		{[]string{"--op", "gemm", "--m", "1,2", "--n", "1,2,3", "--k", "4"}, "--m has 2 values and another list 3"},
		{[]string{"--op", "gemm", "--m", "1", "--n", "0", "--k", "4"}, "--n: want positive integers"},
		{[]string{"--op", "gemm", "--m", "1", "--n", "1", "--k", "4", "--peers", "mkl"}, `--peers: unknown value "mkl" (want openblas, gonum)`},
		{[]string{"--op", "gemm", "--m", "1", "--n", "1", "--k", "4", "--layout", "tt"}, `--layout: unknown value "tt" (want nn, nt)`},
		{[]string{"zoo:mlp", "--op", "gemm", "--m", "1", "--n", "1", "--k", "4"}, "bench --op takes no MODEL"},
	} {
		_, err := modelc(t, append([]string{"bench"}, c.args...)...)
		require.ErrorContains(t, err, c.err, c.args)
	}
	_, err := modelc(t, "peer", "gonum-sgemm", "1", "2")
	require.ErrorContains(t, err, "usage: modelc peer gonum-sgemm")
}

// TestTrafficTable: a flushed run's bytes are the weights (splats are not
// stored) plus inputs and outputs at the row's batch, over its median.
func TestTrafficTable(t *testing.T) {
	g, err := ir.Parse("t.ir", []byte(`graph t {
  input %x: f32[N,1000]
  const %w: f32[250,1000] = dense<elided>
  const %z: f32[250] = splat<0>
  %y = linear (%x, %w, %z): f32[N,250]
  output %y
}
`))
	require.NoError(t, err)
	rows := []benchRow{
		{engine: "modelc", batch: 2, threads: 1, times: []int64{1_000_000, 1_010_000, 990_000}},
		{engine: "ort", batch: 2, threads: 1, times: []int64{2_000_000}},
		{engine: "torch", batch: 2, threads: 1, missing: "not installed"},
	}
	out := trafficTable(g, rows, map[int]peak.Result{1: {ReadGBs: 2}})
	// 1,000,000 + 2·1000·4 + 2·250·4 = 1,010,000 bytes.
	require.Contains(t, out, "| modelc | 2 | 1 | 1.0 MB | 1.000 ms | 1.0 | 50% of 2.0 GB/s |")
	require.Contains(t, out, "| ort | 2 | 1 | 1.0 MB | 2.000 ms | 0.5 | 25% of 2.0 GB/s |")
	require.NotContains(t, out, "torch")
}

// TestHomeRelative: a report names a path under the home directory as
// ~/…, so a committed report carries no machine's home.
func TestHomeRelative(t *testing.T) {
	t.Setenv("HOME", "/h/someone")
	for in, want := range map[string]string{
		"/h/someone/.cache/modelc/tune/x.jsonl": "~/.cache/modelc/tune/x.jsonl",
		"/h/someoneelse/x.jsonl":                "/h/someoneelse/x.jsonl",
		"/var/lib/tune.jsonl":                   "/var/lib/tune.jsonl",
		"rel/tune.jsonl":                        "rel/tune.jsonl",
	} {
		if got := homeRelative(in); got != want {
			t.Errorf("homeRelative(%q) = %q, want %q", in, got, want)
		}
	}
}
