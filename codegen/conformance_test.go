package codegen_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/fixtures"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/internal/qemu"
	"github.com/modelc/modelc/ir"
)

// The conformance suite, in the style of gonum's testblas: every PyTorch
// op fixture of ir/testdata/torch, which the reference evaluator is
// checked against, also runs through generated code at every tier of
// harness.Tiers (the machine's best, AVX2, pure Go by dispatch, and the
// purego build) and on arm64 under qemu (NEON, and NEON with the dot
// product), and must match PyTorch's outputs by the same rule
// (fixtures.Match). Each case runs twice: with every operand fed at run
// time, as the evaluator's test builds it, and with every operand but the
// first a constant, as a model's weights are (so kernels take their
// packed-weight paths). All the variants codegen takes are compiled into
// one package, built once per build (purego or not) and run once per tier.
//
// A variant codegen has no kernel for yet is unsupported: listed, with
// the reason, in testdata/conformance-unsupported.txt, which -update
// rewrites. A variant that leaves that list (a kernel landed) or joins it
// (a kernel was lost) fails until the list is updated and the diff
// reviewed.

// unsupported are codegen's errors for what it does not implement yet.
var unsupported = regexp.MustCompile(`no kernel for|not supported by (codegen|the generated kernels) yet`)

const unsupportedFile = "testdata/conformance-unsupported.txt"

// variant is one way of running a fixture.
type variant struct {
	fixtures.Case
	name      string // node name: the case's, "/const" added for constArgs
	constArgs bool
}

func (v variant) build(b *ir.Builder) (outs, inputs []*ir.Value, err error) {
	return v.Build(b, v.name, v.constArgs)
}

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated package")
	}
	cases, err := fixtures.LoadTorch(filepath.Join("..", fixtures.TorchDir))
	require.NoError(t, err)

	// Each variant alone through the compile driver: what codegen does not
	// take yet is unsupported; any other error fails.
	var run []variant
	var skipped []string
	for _, c := range cases {
		for _, v := range []variant{{c, c.Name, false}, {c, c.Name + "/const", true}} {
			if v.constArgs && len(c.Inputs) < 2 {
				continue
			}
			b := ir.NewBuilder(v.name)
			outs, _, err := v.build(b)
			require.NoError(t, err, v.name)
			b.G.Outputs = outs
			_, err = compile.Compile(&frontend.Model{Name: v.name, Package: "one", Graph: b.G}, compile.Options{})
			switch {
			case err == nil:
				run = append(run, v)
			case unsupported.MatchString(err.Error()):
				skipped = append(skipped, v.name+": "+strings.ReplaceAll(err.Error(), "\n", " "))
			default:
				t.Errorf("%s: %v", v.name, err)
			}
		}
	}
	sort.Strings(skipped)
	list := strings.Join(skipped, "\n") + "\n"
	if *update {
		require.NoError(t, os.WriteFile(unsupportedFile, []byte(list), 0o644))
	}
	want, err := os.ReadFile(unsupportedFile)
	require.NoError(t, err, "go test ./codegen -run TestConformance -update")
	require.Equal(t, string(want), list, "the variants codegen does not take changed (go test ./codegen -run TestConformance -update, then review the diff)")

	// Every variant codegen takes, in one package.
	b := ir.NewBuilder("conformance")
	first := make([]int, len(run)) // each variant's first output
	var ins []*ir.Tensor
	for i, v := range run {
		outs, inputs, err := v.build(b)
		require.NoError(t, err, v.name)
		first[i] = len(b.G.Outputs)
		b.G.Outputs = append(b.G.Outputs, outs...)
		ins = append(ins, v.Inputs[:len(inputs)]...)
	}
	res, err := compile.Compile(&frontend.Model{Name: "conformance", Package: "conformance", Graph: b.G}, compile.Options{})
	require.NoError(t, err)
	mod := harness.TempModule(t, "conformance")
	mod.MustAdd(t, "conformance", res.Files)
	mod.MustGo(t, nil, "vet", "./conformance")
	pkg := []harness.Case{{Pkg: "conformance", Graph: res.Graph}}
	check := func(tier, want string, r *harness.Runner, env []string) {
		got, err := r.Run(t.TempDir(), env, map[string][]*ir.Tensor{"conformance": ins})
		require.NoError(t, err)
		require.NoError(t, got["conformance"].Err, "tier %s", tier)
		require.Equal(t, want, got["conformance"].Tier, "tier %s", tier)
		outs := got["conformance"].Outputs
		failed := 0
		for i, v := range run {
			for j, w := range v.Outputs {
				if err := fixtures.Match(outs[first[i]+j], w); err != nil {
					t.Errorf("tier %s: %s (%s): output %d: %v", tier, v.name, v.OpName, j, err)
					failed++
				}
			}
		}
		t.Logf("tier %s (runs %s): %d of %d variants match PyTorch", tier, want, len(run)-failed, len(run))
	}
	runners := map[string]*harness.Runner{}
	for _, tier := range harness.Tiers {
		r := runners[tier.Tags]
		if r == nil {
			r, err = mod.BuildRunner(pkg, nil, strings.Fields(tier.Tags)...)
			require.NoError(t, err)
			runners[tier.Tags] = r
		}
		check(tier.Name, tier.Want().String(), r, tier.Env())
	}
	// The arm64 kernels, cross-compiled and run under qemu on each
	// emulated core.
	if emulator, err := exec.LookPath("qemu-aarch64-static"); err != nil {
		require.NotEqual(t, "true", os.Getenv("CI"), "qemu-aarch64-static is missing (apt-get install qemu-user-static)")
		t.Logf("no qemu-aarch64-static: the arm64 kernels are not run")
	} else {
		r, err := mod.BuildRunner(pkg, []string{"GOARCH=arm64"})
		require.NoError(t, err)
		r.Emulator = emulator
		for _, core := range qemu.ARM64 {
			check("arm64 "+core.CPU, core.Want, r, []string{"QEMU_CPU=" + core.CPU})
		}
	}
	t.Logf("%d variants of %d cases run, %d unsupported (%s)", len(run), len(cases), len(skipped), unsupportedFile)
	require.Greater(t, len(run), len(cases), "most fixtures must run through generated code")
}
