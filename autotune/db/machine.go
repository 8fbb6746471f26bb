package db

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/modelc/modelc/runtime"
)

// Machine is a machine's signature: what decides which variant of a
// kernel is fastest on it. Two machines with equal signatures share a
// database.
type Machine struct {
	CPU  string `json:"cpu"`  // model name, as the OS reports it
	OS   string `json:"os"`   // GOOS
	Arch string `json:"arch"` // GOARCH
	// Tier is the kernel tier generated packages run at (runtime.Tier's
	// name: generic, avx2, avx512, vnni), after GODEBUG: a machine with
	// AVX-512 turned off is another machine to the tuner.
	Tier   string `json:"tier"`
	CPUs   int    `json:"cpus"`    // logical CPUs
	L1DKiB int    `json:"l1d_kib"` // per core; 0: unknown
	L2KiB  int    `json:"l2_kib"`
	L3KiB  int    `json:"l3_kib"`
}

// ThisMachine returns the signature of the machine the process runs on.
func ThisMachine() Machine {
	l1, l2, l3 := probeCaches()
	return Machine{
		CPU: probeCPUModel(), OS: goruntime.GOOS, Arch: goruntime.GOARCH,
		Tier: runtime.CPUTier().String(), CPUs: goruntime.NumCPU(),
		L1DKiB: l1, L2KiB: l2, L3KiB: l3,
	}
}

// ID returns a name for the machine that is a valid file name and says
// what it is, e.g. "linux-amd64_amd-epyc_avx512_2cpu_32k-1m-32m". Names
// longer than 100 bytes are cut and end in a hash of the whole.
func (m Machine) ID() string {
	cpu := slug(m.CPU)
	if cpu == "" {
		cpu = "unknown-cpu"
	}
	id := fmt.Sprintf("%s-%s_%s_%s_%dcpu_%s-%s-%s", slug(m.OS), slug(m.Arch), cpu, slug(m.Tier), m.CPUs,
		kib(m.L1DKiB), kib(m.L2KiB), kib(m.L3KiB))
	if len(id) > 100 {
		sum := sha256.Sum256([]byte(id))
		id = id[:88] + "_" + hex.EncodeToString(sum[:])[:11]
	}
	return id
}

// String describes the machine for messages.
func (m Machine) String() string {
	return fmt.Sprintf("%s (%s/%s, tier %s, %d CPUs, L1d %s, L2 %s, L3 %s)", orUnknown(m.CPU), m.OS, m.Arch, m.Tier, m.CPUs,
		kib(m.L1DKiB), kib(m.L2KiB), kib(m.L3KiB))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown CPU"
	}
	return s
}

// kib writes a cache size: "32k", "1m", "?" when unknown.
func kib(n int) string {
	switch {
	case n <= 0:
		return "x"
	case n%1024 == 0:
		return fmt.Sprintf("%dm", n/1024)
	}
	return fmt.Sprintf("%dk", n)
}

// slug lower-cases s and keeps letters and digits, joining runs of
// anything else with one '-': "Intel(R) Xeon(R) CPU @ 2.90GHz" becomes
// "intel-r-xeon-r-cpu-2-90ghz".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// DefaultPath returns the database file of machine m in the user's cache
// directory: $XDG_CACHE_HOME/modelc/tune/<ID>.jsonl (on Linux,
// ~/.cache/modelc/tune/… when XDG_CACHE_HOME is not set).
func DefaultPath(m Machine) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("tuning database: no cache directory (set XDG_CACHE_HOME or give --tune-db): %w", err)
	}
	return filepath.Join(cache, "modelc", "tune", m.ID()+".jsonl"), nil
}
