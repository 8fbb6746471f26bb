package main

import (
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/runtime"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := modelc(t, args...)
		require.NoError(t, err)
		require.Contains(t, out, "modelc "+runtime.Version+"")
		require.Contains(t, out, "built with "+goruntime.Version())
		require.Contains(t, out, "CPU tier here: "+runtime.CPUTier().String())
	}
	_, err := modelc(t, "version", "extra")
	requireUsageError(t, err, "usage: modelc version")
}
