package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBenchModelcOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated package")
	}
	out, err := modelc(t, "bench", "zoo:resnet20", "--batch", "1,2", "--seconds", "0.05", "--rounds", "2")
	require.NoError(t, err, out)
	require.Contains(t, out, "| engine | batch | threads | median | p90 | p99 | runs | cpu/wall | round medians (min–max) | time vs modelc |")
	require.Regexp(t, `\| modelc [^|]+ \| 1 \| 1 \| [0-9.]+ ms \|`, out)
	require.Regexp(t, `\| modelc [^|]+ \| 2 \| 1 \| [0-9.]+ ms \|`, out)
}

func TestBenchArgs(t *testing.T) {
	_, err := modelc(t, "bench", "zoo:resnet20", "--batch", "0")
	require.ErrorContains(t, err, "--batch: want positive integers separated by commas")
	_, err = modelc(t, "bench", "zoo:resnet20", "--peers", "tf")
	require.ErrorContains(t, err, `--peers: unknown peer "tf" (want torch, ort)`)
}

func TestPercentiles(t *testing.T) {
	v := []int64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	require.Equal(t, int64(5), median(v))
	require.Equal(t, int64(9), percentile(v, 90))
	require.Equal(t, int64(1), percentile(v, 0))
	require.Equal(t, int64(10), percentile(v, 100))
	require.Equal(t, []int64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}, v, "percentile must not reorder its input")
}
