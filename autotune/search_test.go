package autotune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// run drives strategy s over the table's times (ns by variant name; a
// missing name failed) until it has measured budget variants or stops,
// proposing batch at a time, and returns the fastest time it saw.
func run(s Strategy, sp *Space, ns map[string]float64, budget, batch int) (best float64, measured int) {
	best = math.Inf(1)
	for measured < budget {
		ps := s.Next(min(batch, budget-measured))
		if len(ps) == 0 {
			break
		}
		for _, p := range ps {
			t, ok := ns[sp.Name(p)]
			s.Tell(p, t, !ok)
			if ok {
				best = min(best, t)
			}
			measured++
		}
	}
	return best, measured
}

// quality runs the model-guided search and random search with 10 seeds
// each on one table and budget: how many seeds got within 5% of the best.
func quality(sp *Space, def Point, ns map[string]float64, budget int) (model, random int, detail string) {
	opt := math.Inf(1)
	for _, t := range ns {
		opt = min(opt, t)
	}
	for seed := uint64(1); seed <= 10; seed++ {
		mb, _ := run(NewModelSearch(sp, def, seed), sp, ns, budget, 8)
		rb, _ := run(NewRandom(sp, seed), sp, ns, budget, 8)
		if mb <= 1.05*opt {
			model++
		}
		if rb <= 1.05*opt {
			random++
		}
		detail += fmt.Sprintf(" seed %d: model %.3f× random %.3f×;", seed, mb/opt, rb/opt)
	}
	return model, random, detail
}

// TestSearchQuality is the search's must-show, offline on the committed
// tables of real timings (TestMeasureTables): with 20% of a table's
// variants, uniform random search misses the band within 5% of the best
// in at least 3 of 10 seeds, and the model-guided search reaches it in
// at least 9 of 10.
func TestSearchQuality(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "table_*.json"))
	if len(files) == 0 {
		t.Fatal("no timing tables in testdata")
	}
	for _, f := range files {
		tb := loadTable(t, f)
		l := tableKernel(t, tb)
		sp := l.Space()
		ns := map[string]float64{}
		band := 0
		opt := math.Inf(1)
		for _, r := range tb.Rows {
			if r.Failed == "" && r.Ns > 0 {
				ns[r.Variant] = r.Ns
				opt = min(opt, r.Ns)
			}
		}
		for _, v := range ns {
			if v <= 1.05*opt {
				band++
			}
		}
		if len(tb.Rows) != sp.Size() || len(tb.Rows) < 200 {
			t.Fatalf("%s: %d rows, the space has %d variants (want ≥ 200)", f, len(tb.Rows), sp.Size())
		}
		budget := len(tb.Rows) / 5
		model, random, detail := quality(sp, l.Default(), ns, budget)
		t.Logf("%s (%s): %d variants, %d within 5%% of the best; budget %d: model-guided %d/10, random %d/10;%s", f, tb.Machine.CPU, len(tb.Rows), band, budget, model, random, detail)
		if random > 7 {
			t.Errorf("%s: random search reaches the 5%% band in %d of 10 seeds: the table does not tell strategies apart", f, random)
		}
		if model < 9 {
			t.Errorf("%s: the model-guided search reaches the 5%% band in %d of 10 seeds, want ≥ 9", f, model)
		}
	}
}

// tableKernel returns the kernel a table measured.
func tableKernel(t *testing.T, tb *Table) Linear {
	t.Helper()
	var l Linear
	if _, err := fmt.Sscanf(tb.Shape, "n%d_k%d", &l.N, &l.K); err != nil {
		t.Fatalf("table shape %q: %v", tb.Shape, err)
	}
	_, err := fmt.Sscanf(tb.Kernel, "linear.%s", &l.Tier)
	if err != nil {
		t.Fatalf("table kernel %q: %v", tb.Kernel, err)
	}
	return l
}

// synthetic is a space of 5 axes with a pairwise-structured landscape
// and a narrow optimum, plus noise: for developing the search without
// a machine.
func synthetic(seed uint64) (*Space, map[string]float64) {
	sp := &Space{Axes: []Axis{{"a", seq(1, 6)}, {"b", seq(1, 8)}, {"c", seq(0, 4)}, {"d", seq(0, 3)}, {"e", seq(0, 1)}},
		Valid: func(p Point) bool { return p[0]*p[1] <= 24 }}
	r := rand.New(rand.NewPCG(seed, 3))
	ns := map[string]float64{}
	ca, cb := 2+r.IntN(3), 3+r.IntN(4)
	for _, p := range sp.All() {
		acc := float64(p[0] * p[1])
		t := 1.0 + math.Abs(acc-float64(ca*cb))/8 + 0.15*math.Abs(float64(p[2]-2)) + 0.1*float64((p[3]+p[4])%2) + 0.03*r.NormFloat64()
		if acc > 20 {
			t += 1 // spills
		}
		ns[sp.Name(p)] = 1e6 * t
	}
	return sp, ns
}

// TestSearchSynthetic runs the search on a made-up space whose optimum is
// one pair of values of two axes (seed 2: random search with the same
// budget reaches it in 3 of 10 seeds).
func TestSearchSynthetic(t *testing.T) {
	for seed := uint64(2); seed <= 2; seed++ {
		sp, ns := synthetic(seed)
		model, random, _ := quality(sp, Point{1, 8, 0, 0, 0}, ns, sp.Size()/5)
		t.Logf("synthetic %d: %d variants: model %d/10, random %d/10", seed, sp.Size(), model, random)
		if model < 9 {
			t.Errorf("synthetic %d: model-guided %d/10", seed, model)
		}
	}
}

// TestExhaustive: every variant once, the default first.
func TestExhaustive(t *testing.T) {
	sp := Linear{N: 100, K: 64, Tier: "avx512"}.Space()
	def := Point{48, 8}
	e := NewExhaustive(sp, def)
	seen := map[string]bool{}
	first := true
	for {
		ps := e.Next(7)
		if len(ps) == 0 {
			break
		}
		if first && sp.Name(ps[0]) != sp.Name(def) {
			t.Errorf("first proposal %v, want the default", ps[0])
		}
		first = false
		for _, p := range ps {
			if seen[sp.Name(p)] {
				t.Fatalf("%v proposed twice", p)
			}
			seen[sp.Name(p)] = true
		}
	}
	if len(seen) != sp.Size() || sp.Size() != 39 {
		t.Errorf("proposed %d of %d", len(seen), sp.Size())
	}
}

func seq(lo, hi int) []int {
	var s []int
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}
