package autotune

import (
	"testing"
	"time"

	"github.com/modelc/modelc/autotune/db"
	"github.com/modelc/modelc/ir"
)

// twoLinears is a graph x[N, 64] → linear [96, 64] → linear [10, 96].
func twoLinears(t *testing.T) *ir.Graph {
	b := ir.NewBuilder("two")
	x, _ := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(64)}))
	h := x
	for i, s := range [][2]int{{96, 64}, {10, 96}} {
		w, _ := b.Const("w"+string(rune('a'+i)), ir.NewTensor(ir.F32, []int{s[0], s[1]}))
		var err error
		if h, err = b.Add1("fc"+string(rune('a'+i)), &ir.Linear{}, []*ir.Value{h, w}, "h"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	b.G.Outputs = []*ir.Value{h}
	return b.G
}

// TestChoices: a variant replaces the default only when it is faster
// beyond noise in the buckets the default was measured in.
func TestChoices(t *testing.T) {
	m := db.Machine{CPU: "T", OS: "linux", Arch: "amd64", Tier: "avx512", CPUs: 2}
	a := Linear{N: 96, K: 64, Tier: "avx512"}
	c := Linear{N: 10, K: 96, Tier: "avx512"}
	def := a.Space().Name(a.Default())
	rec := func(k Linear, bucket, variant string, med, spread float64) db.Record {
		return db.Record{Kernel: k.Family(), Shape: k.Shape(), Batch: bucket, Variant: variant, Status: db.StatusOK,
			MedianNs: med, P10Ns: med * (1 - spread), P90Ns: med * (1 + spread), Samples: 30, Modelc: "t", Go: "t", At: time.Now()}
	}
	recs := []db.Record{
		rec(a, "1", def, 100, 0.02), rec(a, "9-32", def, 1000, 0.02),
		// Faster in both buckets, beyond noise: chosen.
		rec(a, "1", "pw=32,mr=3", 90, 0.02), rec(a, "9-32", "pw=32,mr=3", 950, 0.02),
		// Faster still on average, but slower than the default's spread
		// at batch 1: not chosen.
		rec(a, "1", "pw=16,mr=5", 110, 0.02), rec(a, "9-32", "pw=16,mr=5", 600, 0.02),
		// Not measured at batch 32: not chosen.
		rec(a, "1", "pw=64,mr=2", 50, 0.02),
		// The second layer: a variant 1% faster within a 5% spread.
		rec(c, "1", c.Space().Name(c.Default()), 100, 0.05), rec(c, "1", "pw=32,mr=4", 99, 0.05),
	}
	failed := rec(a, "1", "pw=48,mr=1", 10, 0)
	failed.Status, failed.MedianNs, failed.Reason = db.StatusFailed, 0, "crashed"
	emulated := rec(a, "1", "pw=48,mr=2", 10, 0.01)
	emulated.Emulated = true
	recs = append(recs, failed, emulated, rec(a, "9-32", "pw=48,mr=2", 10, 0.01))
	path := t.TempDir() + "/db.jsonl"
	d, err := db.Update(path, m, recs)
	if err != nil {
		t.Fatal(err)
	}
	tuning, chosen := Choices(d, twoLinears(t))
	if len(tuning) != 1 || tuning["linear.avx512 n96_k64"] != "pw=32,mr=3" {
		t.Errorf("tuning %v", tuning)
	}
	if len(chosen) != 2 || chosen[0].Variant != "pw=32,mr=3" || chosen[0].Gain < 1.08 || chosen[0].Gain > 1.09 {
		t.Errorf("chosen[0] = %+v", chosen[0])
	}
	if chosen[1].Variant != "" || chosen[1].Why != "no variant faster than the default beyond noise" {
		t.Errorf("chosen[1] = %+v", chosen[1])
	}
	// The generic tier spells the panel width out for codegen.
	g := Linear{N: 100, K: 64, Tier: "generic"}
	if got := g.Choice(Point{2, 3, 0, 4}); got != "pw=48,mr=2,nr=3,kc=0,ku=4" {
		t.Errorf("generic choice %s", got)
	}
	if got := g.Choice(Point{1, 8, 0, 4}); got != "pw=64,mr=1,nr=8,kc=0,ku=4" {
		t.Errorf("generic choice %s", got)
	}
}
