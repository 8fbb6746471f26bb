package peak

import (
	"math"
	"testing"
)

// TestMeasure checks that the measurement gives physically possible
// figures: a clock between 0.5 and 8 GHz, between 4 and maxPerCycle fp32
// FLOP per cycle per core (one 128-bit FMA pipe up to two 512-bit ones,
// 64, with room for the clock having moved within a clock/FMA pair), and a
// positive bandwidth. A broken kernel (a loop that does not loop, a wrong
// FLOP count) falls outside these bounds every time; a busy machine can
// take the clock's or the FMA's best sample at a disturbed moment, so a
// measurement out of bounds is repeated, up to three times, before it
// fails.
func TestMeasure(t *testing.T) {
	r := Measure(1)
	for try := 1; try < 3 && available() && !plausible(r); try++ {
		t.Logf("implausible (busy machine?), measuring again: %v", r)
		r = Measure(1)
	}
	t.Log(r)
	if !available() {
		if r.Known() {
			t.Fatalf("no kernels here, yet a peak: %v", r)
		}
		t.Skip("no peak kernels on this architecture")
	}
	if r.ClockGHz < 0.5 || r.ClockGHz > 8 || math.IsNaN(r.ClockGHz) {
		t.Errorf("clock %.2f GHz is not plausible", r.ClockGHz)
	}
	if r.FlopPerCycle < 4 || r.FlopPerCycle > maxPerCycle {
		t.Errorf("%.1f FLOP/cycle/core is not plausible", r.FlopPerCycle)
	}
	if r.ReadGBs <= 0 || math.IsInf(r.ReadGBs, 0) {
		t.Errorf("bandwidth %.1f GB/s", r.ReadGBs)
	}
}

// maxPerCycle is two 512-bit FMA pipes' 64 FLOP per cycle and 15% for a
// clock that moved between the halves of a pair; a kernel that counts its
// FLOP twice, or a loop that does not loop, lands far outside.
const maxPerCycle = 64 * 1.15

// plausible reports whether r's figures are within TestMeasure's bounds.
func plausible(r Result) bool {
	return r.ClockGHz >= 0.5 && r.ClockGHz <= 8 && r.FlopPerCycle >= 4 && r.FlopPerCycle <= maxPerCycle && r.ReadGBs > 0 && !math.IsInf(r.ReadGBs, 0)
}
