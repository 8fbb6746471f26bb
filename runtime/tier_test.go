package runtime

import (
	"os"
	"strings"
	"testing"
)

func TestTierOf(t *testing.T) {
	all := features{true, true, true, true, true, true}
	cases := []struct {
		off  func(*features)
		want Tier
	}{
		{func(*features) {}, TierVNNI},
		{func(f *features) { f.vnni = false }, TierAVX512},
		{func(f *features) { f.avx512bw = false }, TierAVX2},
		{func(f *features) { f.avx512vl = false }, TierAVX2},
		{func(f *features) { f.avx512f = false }, TierAVX2},
		// Features do not cascade: AVX-512 without FMA is no tier above generic.
		{func(f *features) { f.fma = false }, TierGeneric},
		{func(f *features) { f.avx2 = false }, TierGeneric},
	}
	for _, c := range cases {
		f := all
		c.off(&f)
		if got := tierOf(f); got != c.want {
			t.Errorf("tierOf(%+v) = %v, want %v", f, got, c.want)
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
