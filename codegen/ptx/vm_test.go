package ptx_test

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/ptx"
	"github.com/modelc/modelc/codegen/ptx/ptxvm"
)

// launch runs one generated kernel in the interpreter at batch n, with
// bufs giving each pointer operand's address, forward and again with the
// threads of each block in reverse order (a missing barrier shows as a
// difference, which the caller sees through reset and compare).
func launch(t *testing.T, mem *ptxvm.Memory, k *ptx.Kernel, l ptx.Launch, n int, bufs map[string]uint64, o ptxvm.Options) {
	t.Helper()
	var m ptx.Module
	m.Add(k)
	mod, err := ptxvm.Parse(string(m.Render("sm_80")))
	require.NoError(t, err)
	vk := mod.Kernels[l.Kernel]
	require.NotNil(t, vk, "kernel %s", l.Kernel)
	var args []uint64
	for _, a := range l.Args {
		if a.Ptr != "" {
			addr, ok := bufs[a.Ptr]
			require.True(t, ok, "no buffer for operand %s", a.Ptr)
			args = append(args, addr)
		} else {
			args = append(args, uint64(a.A*n+a.B))
		}
	}
	grid := [2]int{l.Grid[0].Blocks(n), l.Grid[1].Blocks(n)}
	require.NoError(t, vk.Run(mem, grid, l.Block, args, o))
}

func randF32(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// closeGPU is design.md's model rule at the GPU's rtol 1e-3:
// |a − b| ≤ rtol·(|b| + max|b|), non-finite values reproduced.
func closeGPU(t *testing.T, got, want []float32, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	maxAbs := 0.0
	for _, w := range want {
		if !math.IsInf(float64(w), 0) && !math.IsNaN(float64(w)) {
			maxAbs = math.Max(maxAbs, math.Abs(float64(w)))
		}
	}
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) || math.IsInf(w, 0) {
			require.True(t, g == w || (math.IsNaN(g) && math.IsNaN(w)), "%s[%d] = %v, want %v", what, i, g, w)
			continue
		}
		require.LessOrEqual(t, math.Abs(g-w), 1e-3*(math.Abs(w)+maxAbs), "%s[%d] = %v, want %v", what, i, g, w)
	}
}

// ptxas returns the assembler, skipping the test without one (failing
// it with CI=true, where .ci/ptxas.sh must have provided it).
func ptxasPath(t *testing.T) string {
	t.Helper()
	p, err := ptx.FindPtxas()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: with CI=true the PTX assembly tests must run", err)
		}
		t.Skip(err)
	}
	return p
}

// assemble checks that ptxas accepts k for every target, without spills,
// and returns its resources for sm_80.
func assemble(t *testing.T, ks ...*ptx.Kernel) map[string]ptx.Resources {
	t.Helper()
	p := ptxasPath(t)
	var m ptx.Module
	for _, k := range ks {
		m.Add(k)
	}
	var first map[string]ptx.Resources
	for _, target := range ptx.Targets {
		res, err := ptx.Assemble(p, m.Render(target), target)
		require.NoError(t, err)
		for name, r := range res {
			require.Zero(t, r.SpillStores+r.SpillLoads, "%s spills on %s: %+v", name, target, r)
		}
		if first == nil {
			first = res
		}
	}
	return first
}
