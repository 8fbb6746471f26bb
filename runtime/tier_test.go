package runtime

import (
	"os"
	"strings"
	"testing"
)

func TestX86Tier(t *testing.T) {
	all := x86Features{true, true, true, true, true, true}
	cases := []struct {
		off  func(*x86Features)
		want Tier
	}{
		{func(*x86Features) {}, TierVNNI},
		{func(f *x86Features) { f.vnni = false }, TierAVX512},
		{func(f *x86Features) { f.avx512bw = false }, TierAVX2},
		{func(f *x86Features) { f.avx512vl = false }, TierAVX2},
		{func(f *x86Features) { f.avx512f = false }, TierAVX2},
		// Features do not cascade: AVX-512 without FMA is no tier above generic.
		{func(f *x86Features) { f.fma = false }, TierGeneric},
		{func(f *x86Features) { f.avx2 = false }, TierGeneric},
	}
	for _, c := range cases {
		f := all
		c.off(&f)
		if got := x86Tier(f); got != c.want {
			t.Errorf("x86Tier(%+v) = %v, want %v", f, got, c.want)
		}
	}
}

func TestArmTier(t *testing.T) {
	for _, c := range []struct {
		f    armFeatures
		want Tier
	}{
		{armFeatures{asimd: true, dotprod: true}, TierDotProd},
		{armFeatures{asimd: true}, TierNEON},
		{armFeatures{dotprod: true}, TierGeneric},
		{armFeatures{}, TierGeneric},
	} {
		if got := armTier(c.f); got != c.want {
			t.Errorf("armTier(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
}

// TestSupports checks that a tier is supported only on its own
// architecture and up to the CPU's tier.
func TestSupports(t *testing.T) {
	defer func(saved Tier) { tier = saved }(tier)
	for _, c := range []struct {
		cpu, t Tier
		want   bool
	}{
		{TierGeneric, TierGeneric, true},
		{TierGeneric, TierAVX2, false},
		{TierAVX512, TierAVX2, true},
		{TierAVX512, TierAVX512, true},
		{TierAVX512, TierVNNI, false},
		{TierVNNI, TierNEON, false},
		{TierDotProd, TierNEON, true},
		{TierDotProd, TierAVX2, false},
		{TierNEON, TierDotProd, false},
		{TierNEON, TierGeneric, true},
	} {
		tier = c.cpu
		if got := Supports(c.t); got != c.want {
			t.Errorf("on a %v CPU, Supports(%v) = %v, want %v", c.cpu, c.t, got, c.want)
		}
	}
	for tt := TierGeneric; tt <= TierDotProd; tt++ {
		if tt.String() == "tier(?)" || (tt != TierGeneric && tt.Arch() == "") {
			t.Errorf("tier %d has no name or architecture", tt)
		}
	}
}

// TestCPUTier checks the tier against MODELC_WANT_TIER, which the
// dispatch matrix of make test sets beside each GODEBUG setting and the
// purego tag.
func TestCPUTier(t *testing.T) {
	t.Logf("CPUTier() = %v (GODEBUG=%q)", CPUTier(), os.Getenv("GODEBUG"))
	want := os.Getenv("MODELC_WANT_TIER")
	if want == "" {
		t.Skip("MODELC_WANT_TIER not set")
	}
	if got := CPUTier().String(); !strings.EqualFold(got, want) {
		t.Fatalf("CPUTier() = %s, want %s", got, want)
	}
}
