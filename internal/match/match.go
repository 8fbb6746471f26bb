// Package match implements design.md's rule for when two results "match",
// in one place, so every test in the project cites the same definition:
//
//   - model outputs: |a − b| ≤ rtol·(|b| + max|b|), and argmax equal
//     wherever the top-2 margin exceeds 1e-3·max|logit| (near-ties are
//     listed, not failed);
//   - kernels and exact passes: rel_l2 ≤ 1e-5 and
//     max_abs ≤ 1e-4·max(1, max|ref|).
//
// Non-finite reference values must be reproduced exactly (NaN where the
// reference is NaN, the same infinity where it is infinite).
package match

import (
	"fmt"
	"math"
)

// Kernel checks got against the reference want by the kernel rule.
func Kernel(got, want []float32) error {
	if len(got) != len(want) {
		return fmt.Errorf("length %d, want %d", len(got), len(want))
	}
	if err := nonFinite(got, want); err != nil {
		return err
	}
	var num, den, maxAbs, maxRef float64
	worst := -1
	for i := range want {
		w := float64(want[i])
		if math.IsNaN(w) || math.IsInf(w, 0) {
			continue
		}
		d := math.Abs(float64(got[i]) - w)
		num += d * d
		den += w * w
		if d > maxAbs {
			maxAbs, worst = d, i
		}
		maxRef = math.Max(maxRef, math.Abs(w))
	}
	rel := math.Sqrt(num / math.Max(den, 1e-300))
	if den == 0 {
		rel = math.Sqrt(num)
	}
	if limit := 1e-4 * math.Max(1, maxRef); maxAbs > limit || rel > 1e-5 {
		return fmt.Errorf("rel_l2 %.3g (limit 1e-5), max_abs %.3g at %d: got %g want %g (limit %.3g)", rel, maxAbs, worst, got[worst], want[worst], limit)
	}
	return nil
}

func nonFinite(got, want []float32) error {
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		switch {
		case math.IsNaN(w) && !math.IsNaN(g):
			return fmt.Errorf("element %d: got %g, want NaN", i, g)
		case math.IsInf(w, 0) && g != w:
			return fmt.Errorf("element %d: got %g, want %g", i, g, w)
		case !math.IsNaN(w) && math.IsNaN(g):
			return fmt.Errorf("element %d: got NaN, want %g", i, w)
		}
	}
	return nil
}

// Report describes a comparison of model outputs.
type Report struct {
	MaxErr   float64 // largest |a−b| / (rtol·(|b|+max|b|)); ≤ 1 passes
	Worst    int     // index of MaxErr
	NearTies []int   // rows whose top-2 margin is too small to compare argmax
}

// Outputs checks model outputs got against want (rows of rowLen logits)
// by the model rule with tolerance rtol.
func Outputs(got, want []float32, rowLen int, rtol float64) (Report, error) {
	var r Report
	if len(got) != len(want) {
		return r, fmt.Errorf("length %d, want %d", len(got), len(want))
	}
	if err := nonFinite(got, want); err != nil {
		return r, err
	}
	var maxB float64
	for _, w := range want {
		if !math.IsInf(float64(w), 0) && !math.IsNaN(float64(w)) {
			maxB = math.Max(maxB, math.Abs(float64(w)))
		}
	}
	for i := range want {
		w := float64(want[i])
		if math.IsNaN(w) || math.IsInf(w, 0) {
			continue
		}
		tol := rtol * (math.Abs(w) + maxB)
		e := math.Abs(float64(got[i]) - w)
		ratio := e / tol
		if tol == 0 {
			ratio = 0
			if e > 0 {
				ratio = math.Inf(1)
			}
		}
		if ratio > r.MaxErr {
			r.MaxErr, r.Worst = ratio, i
		}
	}
	if r.MaxErr > 1 {
		i := r.Worst
		return r, fmt.Errorf("element %d: got %g, want %g (error %.3g× the tolerance rtol %g)", i, got[i], want[i], r.MaxErr, rtol)
	}
	if rowLen <= 1 {
		return r, nil
	}
	for row := 0; row*rowLen < len(want); row++ {
		g, w := got[row*rowLen:(row+1)*rowLen], want[row*rowLen:(row+1)*rowLen]
		wi, margin := top2(w)
		if margin <= 1e-3*maxB {
			r.NearTies = append(r.NearTies, row)
			continue
		}
		if gi, _ := top2(g); gi != wi {
			return r, fmt.Errorf("row %d: argmax %d, want %d (margin %.3g)", row, gi, wi, margin)
		}
	}
	return r, nil
}

// top2 returns the argmax of v and its margin over the runner-up.
func top2(v []float32) (int, float64) {
	best, second := -1, math.Inf(-1)
	for i, x := range v {
		f := float64(x)
		if best < 0 || f > float64(v[best]) {
			if best >= 0 {
				second = float64(v[best])
			}
			best = i
		} else if f > second {
			second = f
		}
	}
	if best < 0 {
		return -1, 0
	}
	return best, float64(v[best]) - second
}
