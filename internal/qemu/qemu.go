// Package qemu runs arm64 code on this machine for the tests: the test
// binary cross-compiled for arm64 and run by qemu-aarch64-static on an
// emulated core. It imports nothing of modelc, so any package's tests may
// use it.
package qemu

import (
	"os"
	"os/exec"
)

// Emulated is one way of running arm64 code on this machine: the test
// binary cross-compiled for arm64 and run by qemu-aarch64-static on the
// core QEMU_CPU names, whose runtime tier is Want.
type Emulated struct {
	CPU  string
	Want string // the runtime.Tier's name the kernels run at
}

// ARM64 are the emulated arm64 cores the tests run generated code on:
// every feature qemu has (NEON with the dot product), and a Cortex-A53
// (ARMv8.0: NEON alone).
var ARM64 = []Emulated{{CPU: "max", Want: "dotprod"}, {CPU: "cortex-a53", Want: "neon"}}

// Env is the environment that cross-compiles for arm64 and selects the
// core, with MODELC_WANT_TIER for a generated package's TestTier.
func (e Emulated) Env() []string {
	return []string{"GOARCH=arm64", "QEMU_CPU=" + e.CPU, "MODELC_WANT_TIER=" + e.Want}
}

// Path returns the path of qemu-aarch64-static, for go test -exec. Where
// it is missing the test is skipped, or fails with CI=true (make test
// installs it: apt-get install qemu-user-static).
func Path(t interface {
	Helper()
	Fatalf(string, ...any)
	Skip(...any)
}) string {
	t.Helper()
	p, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("qemu-aarch64-static is missing (apt-get install qemu-user-static)")
		}
		t.Skip("qemu-aarch64-static is missing (apt-get install qemu-user-static)")
	}
	return p
}
