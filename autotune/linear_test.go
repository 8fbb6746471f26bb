package autotune

import (
	"context"
	"fmt"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/autotune/db"
)

// TestLinearSpaces checks every variant of every tier this CPU runs, on
// a shape with tails everywhere (N not a multiple of any panel, K odd),
// against the twin: all must match. One representative of the family
// (the rest in TestLinearSpacesLong).
func TestLinearSpaces(t *testing.T) {
	if testing.Short() {
		t.Skip("builds harnesses")
	}
	r, p := checkingRunner(t)
	for _, tier := range LinearTiers() {
		l := Linear{N: 100, K: 37, Tier: tier}
		if tg := l.target(); tg != nil && tg.GOARCH() != goruntime.GOARCH {
			continue // another architecture's (TestRunnerEmulated)
		}
		sp := l.Space()
		vs := sp.All()
		if tier == "generic" {
			// Every value of every axis, not the whole product.
			vs = nil
			for i, a := range sp.Axes {
				for _, v := range a.Values {
					q := append(Point(nil), l.Default()...)
					q[i] = v
					if sp.ok(q) {
						vs = append(vs, q)
					}
				}
			}
			vs = append(vs, Point{4, 3, 0, 1}, Point{1, 16, 0, 8}, Point{2, 8, 0, 2})
		}
		recs, err := r.Measure(context.Background(), l, 5, vs)
		if err != nil {
			t.Fatal(err)
		}
		needs := tier != "generic" && !tierRuns(p.Machine.Tier, tier)
		for _, rec := range recs {
			switch {
			case needs && (rec.Status != db.StatusFailed || !strings.HasPrefix(rec.Reason, "needs the "+tier+" tier")):
				t.Errorf("%s %s on a %s CPU: %s %s", l.Family(), rec.Variant, p.Machine.Tier, rec.Status, rec.Reason)
			case !needs && rec.Status != db.StatusOK:
				t.Errorf("%s %s: %s", l.Family(), rec.Variant, rec.Reason)
			}
		}
		t.Logf("%s: %d variants checked", l.Family(), len(recs))
	}
}

// TestLinearSpacesFromTargets: the spaces of the vector tiers are the
// register tiles their codegen target lists (isa.LinearTiler), each
// variant's choice makes the target generate that tile, and the default
// is codegen's.
func TestLinearSpacesFromTargets(t *testing.T) {
	want := map[string]struct {
		axes string
		size int
		def  Point
		name string // a variant's name and the kernel codegen makes of it
		kern string
	}{
		"avx512": {"pw,mr", 39, Point{64, 6}, "pw=32,mr=7", "linear_n100_k37_pw32_b_7x32_avx512"},
		"avx2":   {"pw,nv,mr", 4 * (12 + 6), Point{64, 2, 6}, "pw=16,nv=1,mr=9", "linear_n100_k37_pw16_b_9x8_avx2"},
		"neon":   {"pw,nv,mr", 4 * (5 + 5), Point{64, 4, 5}, "pw=64,nv=2,mr=3", "linear_n100_k37_pw64_b_3x8_neon"},
	}
	require.Equal(t, []string{"avx512", "avx2", "neon", "generic"}, LinearTiers())
	for tier, w := range want {
		l := Linear{N: 100, K: 37, Tier: tier}
		sp := l.Space()
		var axes []string
		for _, a := range sp.Axes {
			axes = append(axes, a.Name)
		}
		require.Equal(t, w.axes, strings.Join(axes, ","), tier)
		require.Equal(t, w.size, sp.Size(), tier)
		require.Equal(t, w.def, l.Default(), tier)
		v, err := sp.Parse(w.name)
		require.NoError(t, err)
		_, spec := l.Params(v)
		var names []string
		for _, k := range l.target().Linear(spec) {
			names = append(names, k.Name)
		}
		require.Contains(t, names, w.kern, tier)
	}
}

// checkingRunner is a started runner that checks variants and times them
// only briefly.
func checkingRunner(t *testing.T) (*Runner, *Probe) {
	t.Helper()
	r := &Runner{Timeout: 20 * time.Second, Rounds: 1, PerRound: 1, Sample: 100 * time.Microsecond}
	t.Cleanup(r.Close)
	p, err := r.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r, p
}

// tierRuns reports whether a CPU of tier have runs kernels of tier need.
func tierRuns(have, need string) bool {
	rank := map[string]int{"generic": 0, "avx2": 1, "avx512": 2, "vnni": 3}
	return rank[have] >= rank[need]
}

// mutated is a kernel whose program is k's with one edit, in the table
// of variant calls: the check must catch it.
type mutated struct {
	Linear
	old, new string
}

func (m mutated) Program(vs []Point) (Program, error) {
	p, err := m.Linear.Program(vs)
	at := strings.Index(p.Go, "var vrun")
	if err != nil || at < 0 || !strings.Contains(p.Go[at:], m.old) {
		return p, fmt.Errorf("mutation %q: not in the program", m.old)
	}
	p.Go = p.Go[:at] + strings.Replace(p.Go[at:], m.old, m.new, 1)
	return p, nil
}

// TestLinearCheckCatches: a variant that skips its last panel, or rounds
// badly, fails its check.
func TestLinearCheckCatches(t *testing.T) {
	if testing.Short() {
		t.Skip("builds harnesses")
	}
	r, p := checkingRunner(t)
	tier := "generic"
	if tierRuns(p.Machine.Tier, "avx2") {
		tier = "avx2"
	}
	l := Linear{N: 40, K: 300, Tier: tier}
	cases := []mutated{
		// The last panel (or block) is never computed.
		{l, "(m, 0, ", "(m, 0, -1+"},
		// One element of the last row is 1% off.
		{l, "[]float32) { ", "[]float32) { defer func() { if len(y) > 0 { y[len(y)-1] *= 1.01 } }(); "},
	}
	for i, m := range cases {
		recs, err := r.Measure(context.Background(), m, 3, []Point{l.Default()})
		if err != nil {
			t.Fatal(err)
		}
		if recs[0].Status != db.StatusFailed || !strings.HasPrefix(recs[0].Reason, "wrong results") {
			t.Errorf("mutation %d: %s %q", i, recs[0].Status, recs[0].Reason)
		}
	}
}
