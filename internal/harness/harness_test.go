package harness_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
)

func parse(t *testing.T, src string) *ir.Graph {
	t.Helper()
	g, err := ir.Parse("t.ir", []byte(src))
	require.NoError(t, err)
	return g
}

// Ports name fields as the generated package does (inputs, then outputs,
// sharing one set of names) and size batch-major and static ones.
func TestPorts(t *testing.T) {
	g := parse(t, `graph p {
  input %"x-in": f32[N,3,2]
  input %ids: i64[4]
  %y = relu (%"x-in"): f32[N,3,2]
  output %y, %ids
}`)
	ins, outs, err := harness.Ports(g)
	require.NoError(t, err)
	require.Equal(t, "XIn", ins[0].Field)
	require.Equal(t, 6, ins[0].PerSample)
	require.False(t, ins[0].Static)
	require.Equal(t, 30, ins[0].Len(5))
	require.Equal(t, "Ids", ins[1].Field)
	require.Equal(t, "int64", ins[1].Elem)
	require.Equal(t, 4, ins[1].Len(5))
	require.Equal(t, "Y", outs[0].Field)
	require.Equal(t, "Ids2", outs[1].Field)
}

// A module builds a runner over two generated packages and runs them at
// every tier: outputs equal the evaluator's, and a case's bad input is
// that case's error only.
func TestRunner(t *testing.T) {
	if testing.Short() {
		t.Skip("builds generated packages")
	}
	mod := harness.TempModule(t, "runnertest")
	srcs := map[string]string{
		"relu": `graph relu {
  input %x: f32[N,5]
  %y = relu (%x): f32[N,5]
  output %y
}`,
		"addb": `graph addb {
  input %x: f32[N,3]
  input %b: f32[3]
  %y = add (%x, %b): f32[N,3]
  output %y
}`,
	}
	var cases []harness.Case
	inputs := map[string][]*ir.Tensor{}
	want := map[string][]*ir.Tensor{}
	for name, src := range srcs {
		g := parse(t, src)
		ins := ir.SampleInputs(g, 3, 1)
		w, err := ir.Eval(g, ins...)
		require.NoError(t, err)
		res, err := compile.Compile(&frontend.Model{Name: name, Package: name, Graph: g}, compile.Options{})
		require.NoError(t, err)
		mod.MustAdd(t, name, res.Files)
		cases = append(cases, harness.Case{Pkg: name, Graph: res.Graph})
		inputs[name], want[name] = ins, w
	}
	for _, tier := range harness.Tiers {
		r, err := mod.BuildRunner(cases, nil, strings.Fields(tier.Tags)...)
		require.NoError(t, err)
		res, err := r.Run(t.TempDir(), tier.Env(), inputs)
		require.NoError(t, err)
		for name := range srcs {
			require.NoError(t, res[name].Err, "%s at tier %s", name, tier.Name)
			require.Equal(t, tier.Want().String(), res[name].Tier, "%s at tier %s", name, tier.Name)
			require.Equal(t, want[name][0].Shape, res[name].Outputs[0].Shape)
			require.InDeltaSlice(t, want[name][0].F, res[name].Outputs[0].F, 1e-6, "%s at tier %s", name, tier.Name)
		}
	}
	// Inputs that do not fit: the case's error, not the run's.
	r, err := mod.BuildRunner(cases, nil)
	require.NoError(t, err)
	bad := map[string][]*ir.Tensor{"relu": inputs["relu"], "addb": {inputs["addb"][0], ir.NewTensor(ir.F32, []int{2})}}
	res, err := r.Run(t.TempDir(), nil, bad)
	require.NoError(t, err)
	require.NoError(t, res["relu"].Err)
	require.ErrorContains(t, res["addb"].Err, "input b has 2 elements, want 3")
	// A module holds the runtime's copy and builds without modelc's
	// module: its go.mod replaces the runtime with it.
	gomod, err := os.ReadFile(filepath.Join(mod.Dir, "go.mod"))
	require.NoError(t, err)
	require.Contains(t, string(gomod), "replace "+harness.RuntimeModule+" => ./modelc-runtime")
}

// An application importing a generated package needs only the runtime's
// module and golang.org/x/sys (go list -m all), none of the compiler's
// dependencies; its binary carries none of the runtime's sources.
func TestAppModules(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an application")
	}
	g := parse(t, `graph app {
  input %x: f32[N,4]
  %y = relu (%x): f32[N,4]
  output %y
}`)
	res, err := compile.Compile(&frontend.Model{Name: "app", Package: "model", Graph: g}, compile.Options{})
	require.NoError(t, err)
	mod := harness.TempModule(t, "app")
	mod.MustAdd(t, "model", res.Files)
	main := "package main\n\nimport (\n\t\"fmt\"\n\n\tm \"" + mod.Import("model") + "\"\n)\n\nfunc main() {\n\tmodel, err := m.New()\n\tfmt.Println(model.MaxBatch(), err)\n}\n"
	require.NoError(t, os.WriteFile(filepath.Join(mod.Dir, "main.go"), []byte(main), 0o644))
	bin := filepath.Join(mod.Dir, "app.bin")
	mod.MustGo(t, []string{"CGO_ENABLED=0"}, "build", "-o", bin, ".")
	var mods []string
	for _, line := range strings.Split(strings.TrimSpace(mod.MustGo(t, nil, "list", "-m", "all")), "\n") {
		mods = append(mods, strings.Fields(line)[0])
	}
	require.Equal(t, []string{"example.com/app", harness.RuntimeModule, "golang.org/x/sys"}, mods)
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NotContains(t, string(data), "An application that does not\n// refer to Sources does not carry it", "the binary holds the runtime's sources")
}
