package autotune

import (
	"fmt"
	"math"
	"slices"

	"github.com/modelc/modelc/autotune/db"
	"github.com/modelc/modelc/ir"
)

// Chosen is the variant a build uses for one kernel, and why.
type Chosen struct {
	Kernel  Kernel
	Layers  []string
	Variant string   // the database's name; "" for the default
	Choice  string   // codegen's spelling (Input.Tuning), "" for the default
	Gain    float64  // the default's time over the variant's (geometric mean over the buckets)
	Buckets []string // the batch buckets compared
	Why     string   // why the default stays, when it does
}

// Choices reads a database for a compiled graph: for every kernel of the
// graph with a variant space, the variant to build with, and codegen's
// Input.Tuning (kernel → choice) for those that are not the default.
//
// A variant replaces the default only when it is faster beyond noise, by
// the measurements of the batch buckets in which the default was
// measured: it must be measured and usable in all of them, never slower
// than the default's 90th percentile in any, faster than the default's
// median by its own 90th percentile in at least one, and fastest by the
// geometric mean of its times over the default's. So a build on a noisy
// machine keeps the default rather than a variant that only looked
// faster.
func Choices(d *db.DB, g *ir.Graph) (tuning map[string]string, chosen []Chosen) {
	tier := KernelTier(d.Machine.Tier)
	tasks, _ := Tasks(g, tier, []int{1})
	tuning = map[string]string{}
	for _, t := range tasks {
		c := choose(d, t.Kernel)
		c.Layers = t.Layers
		if c.Choice != "" {
			tuning[t.Kernel.Family()+" "+t.Kernel.Shape()] = c.Choice
		}
		chosen = append(chosen, c)
	}
	return tuning, chosen
}

// choose picks the variant of k to build with (see Choices).
func choose(d *db.DB, k Kernel) Chosen {
	c := Chosen{Kernel: k}
	sp := k.Space()
	def := sp.Name(k.Default())
	type rec = db.Record
	byBucket := map[string]map[string]rec{}
	for _, r := range d.Records {
		if r.Kernel == k.Family() && r.Shape == k.Shape() {
			if byBucket[r.Batch] == nil {
				byBucket[r.Batch] = map[string]rec{}
			}
			byBucket[r.Batch][r.Variant] = r
		}
	}
	if len(byBucket) == 0 {
		c.Why = "not tuned on this machine"
		return c
	}
	for b, rs := range byBucket {
		if rs[def].Usable() {
			c.Buckets = append(c.Buckets, b)
		}
	}
	slices.Sort(c.Buckets)
	if len(c.Buckets) == 0 {
		c.Why = "the default variant was not measured"
		return c
	}
	best, bestScore := "", 1.0
	for v := range byBucket[c.Buckets[0]] {
		if v == def {
			continue
		}
		var ratios []float64
		ok, faster := true, false
		for _, b := range c.Buckets {
			r, dr := byBucket[b][v], byBucket[b][def]
			if !r.Usable() || r.MedianNs > dr.P90Ns {
				ok = false
				break
			}
			faster = faster || r.P90Ns < dr.MedianNs
			ratios = append(ratios, r.MedianNs/dr.MedianNs)
		}
		if !ok || !faster {
			continue
		}
		if s := geomean(ratios); s < bestScore || s == bestScore && v < best {
			best, bestScore = v, s
		}
	}
	if best == "" {
		c.Why = "no variant faster than the default beyond noise"
		return c
	}
	p, err := sp.Parse(best)
	if err != nil {
		c.Why = fmt.Sprintf("the database's variant %q: %v", best, err)
		return c
	}
	c.Variant, c.Gain, c.Choice = best, 1/bestScore, k.Choice(p)
	return c
}

// geomean is the geometric mean of v.
func geomean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += math.Log(x)
	}
	return math.Exp(s / float64(len(v)))
}
