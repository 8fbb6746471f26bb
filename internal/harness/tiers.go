package harness

import (
	"os"
	"os/exec"

	"github.com/modelc/modelc/internal/qemu"
	"github.com/modelc/modelc/runtime"
)

// Tier is one way of running generated code so that one kernel tier runs:
// a GODEBUG setting that hides CPU features from golang.org/x/sys/cpu
// (so the package's dispatch picks a lower tier), or the purego build
// tag, which leaves the assembly out. Cap is the highest tier the
// runtime may then report (runtime.CPUTier); a machine without it runs
// its own highest.
type Tier struct {
	Name    string
	GODEBUG string
	Tags    string
	Cap     runtime.Tier
}

// Want is the tier generated code must run at under t on this machine.
func (t Tier) Want() runtime.Tier { return min(t.Cap, runtime.CPUTier()) }

// Env is the environment entries that select the tier: GODEBUG, and
// MODELC_WANT_TIER, which a generated package's TestTier checks.
func (t Tier) Env() []string {
	env := []string{"MODELC_WANT_TIER=" + t.Want().String()}
	if t.GODEBUG != "" {
		env = append(env, "GODEBUG="+t.GODEBUG)
	}
	return env
}

// Args are the go command's flags that select the tier ("-tags purego").
func (t Tier) Args() []string {
	if t.Tags == "" {
		return nil
	}
	return []string{"-tags", t.Tags}
}

// Tiers are the distinct kernel paths of a generated package on amd64:
// the machine as it is (AVX-512 where it has it), AVX-512 off (AVX2), AVX2
// off (pure Go, chosen at start-up), and -tags purego (pure Go, no
// assembly built). A test that runs a package at each of them runs every
// kernel the package has on this machine and its pure-Go twin.
var Tiers = []Tier{
	{Name: "native", Cap: runtime.TierVNNI},
	{Name: "avx2", GODEBUG: "cpu.avx512f=off", Cap: runtime.TierAVX2},
	{Name: "generic", GODEBUG: "cpu.avx2=off", Cap: runtime.TierGeneric},
	{Name: "purego", Tags: "purego", Cap: runtime.TierGeneric},
}

// TB is the part of testing.TB the test helpers use (this package is
// linked into modelc too, so it does not import testing).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

// TempModule is a fresh Module in a temporary folder removed after the
// test; its path is example.com/NAME.
func TempModule(t TB, name string) *Module {
	t.Helper()
	m, err := NewModule(t.TempDir(), "example.com/"+name)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return m
}

// MustAdd writes a generated package into the module or fails the test.
func (m *Module) MustAdd(t TB, pkg string, files map[string][]byte) {
	t.Helper()
	if err := m.Add(pkg, files); err != nil {
		t.Fatalf("%v", err)
	}
}

// MustGo runs go in the module (see Go) or fails the test, and returns
// what it printed.
func (m *Module) MustGo(t TB, env []string, args ...string) string {
	t.Helper()
	out, err := m.Go(env, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return string(out)
}

// EveryTier runs `go test -count=1 ARGS…` (ARGS ends with the packages)
// in the module at every tier of Tiers, then cross-compiled for arm64
// under qemu on its first core (qemu.ARM64: the NEON kernels, the same on
// every core). Without qemu-aarch64-static the arm64 run is left out,
// which fails the test with CI=true.
func (m *Module) EveryTier(t TB, args ...string) {
	t.Helper()
	for _, tier := range Tiers {
		a := append([]string{"test", "-count=1"}, tier.Args()...)
		m.MustGo(t, tier.Env(), append(a, args...)...)
	}
	emulator, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("qemu-aarch64-static is missing (apt-get install qemu-user-static)")
		}
		t.Logf("no qemu-aarch64-static: the arm64 kernels are not run")
		return
	}
	m.MustGo(t, qemu.ARM64[0].Env(), append([]string{"test", "-count=1", "-exec", emulator}, args...)...)
}
