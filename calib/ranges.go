package calib

import (
	"fmt"
	"math"
	"slices"
)

// Activation ranges for quantization (docs/algorithms.md §5.3): a
// histogram of |x| over the calibration rows, and the threshold T beyond
// which values saturate, chosen by one of the methods below. Counts are
// sums, so the result does not depend on the batch order or the number
// of threads.

// Range methods.
const (
	RangeKL         = "kl"         // entropy calibration: T minimising KL(P ‖ Q)
	RangeMax        = "max"        // T = max|x|
	RangePercentile = "percentile" // T = the p-th percentile of |x|
	RangeMSE        = "mse"        // T minimising E[(x − x̂)²] over the KL's candidate grid
)

// RangeMethods lists the methods, for option checking.
var RangeMethods = []string{RangeKL, RangeMax, RangePercentile, RangeMSE}

// Histogram counts |x| in equal bins on [0, Max]: the value Max lands in
// the last bin.
type Histogram struct {
	Max    float64
	Counts []float64
	// Total is how many values were added; NaN and ±Inf are not counted.
	Total float64
	// DropZeroBin makes the KL search ignore bin 0, as TensorRT does: a
	// ReLU's output is half exact zeros, and that spike, spread by Q over
	// its group's bins, makes every cut but the narrowest look costly, so
	// the search would clip much of the tail.
	DropZeroBin bool
}

// NewHistogram returns an empty histogram of bins bins on [0, max].
func NewHistogram(bins int, max float64) *Histogram {
	return &Histogram{Max: max, Counts: make([]float64, bins)}
}

// Width is one bin's width.
func (h *Histogram) Width() float64 { return h.Max / float64(len(h.Counts)) }

// Add counts the finite values of v.
func (h *Histogram) Add(v []float32) {
	n := len(h.Counts)
	if h.Max <= 0 {
		for _, x := range v {
			if !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) {
				h.Counts[0]++
				h.Total++
			}
		}
		return
	}
	scale := float64(n) / h.Max
	for _, x := range v {
		a := math.Abs(float64(x))
		if math.IsNaN(a) || math.IsInf(a, 0) {
			continue
		}
		b := int(a * scale)
		if b >= n {
			b = n - 1
		}
		h.Counts[b]++
		h.Total++
	}
}

// Clipped is the fraction of the counted values above t.
func (h *Histogram) Clipped(t float64) float64 {
	if h.Total == 0 || t >= h.Max {
		return 0
	}
	w := h.Width()
	above := 0.0
	for i, c := range h.Counts {
		if lo := float64(i) * w; lo >= t {
			above += c
		} else if hi := lo + w; hi > t {
			above += c * (hi - t) / w // the bin's part above t, taking it as uniform
		}
	}
	return above / h.Total
}

// Threshold returns T for the method: levels is the number of positive
// quantization levels (2^(b−1) for b-bit symmetric: 128 for int8), p the
// percentile (percentile only). With KL, levels at or above the number of
// bins (16-bit formats) leave nothing to search: T is max|x|.
func (h *Histogram) Threshold(method string, levels int, p float64) (float64, error) {
	if !slices.Contains(RangeMethods, method) {
		return 0, fmt.Errorf("unknown range method %q (want %v)", method, RangeMethods)
	}
	if h.Total == 0 || h.Max == 0 {
		return h.Max, nil
	}
	switch method {
	case RangeMax:
		return h.Max, nil
	case RangePercentile:
		return h.percentile(p), nil
	case RangeKL:
		if levels >= len(h.Counts) {
			return h.Max, nil
		}
		return h.kl(levels), nil
	case RangeMSE:
		return h.mse(levels), nil
	}
	return 0, fmt.Errorf("unknown range method %q (want %v)", method, RangeMethods)
}

// percentile is the p-th percentile (0 < p ≤ 100) of |x|, at a bin's
// upper edge.
func (h *Histogram) percentile(p float64) float64 {
	want := h.Total * p / 100
	acc := 0.0
	for i, c := range h.Counts {
		acc += c
		if acc >= want {
			return float64(i+1) * h.Width()
		}
	}
	return h.Max
}

// kl is TensorRT's entropy calibration (§5.3): for every cut i from
// levels to the number of bins, P is bins 0…i−1 with the outliers added
// to the last, Q those bins merged into levels groups, each group's total
// spread over its non-empty bins; T = (i* + 0.5)·width for the cut of
// least KL(P ‖ Q). With DropZeroBin, bin 0 counts as empty.
func (h *Histogram) kl(levels int) float64 {
	n := len(h.Counts)
	counts := h.Counts
	if h.DropZeroBin {
		counts = slices.Clone(counts)
		counts[0] = 0
	}
	best, bestD := n, math.Inf(1)
	p := make([]float64, n)
	q := make([]float64, n)
	tail := make([]float64, n+1) // tail[i] = Σ counts[i:]
	for i := n - 1; i >= 0; i-- {
		tail[i] = tail[i+1] + counts[i]
	}
	for i := levels; i <= n; i++ {
		copy(p, counts[:i])
		p[i-1] += tail[i]
		clear(q[:i])
		for g := 0; g < levels; g++ {
			lo, hi := g*i/levels, (g+1)*i/levels
			total, nonEmpty := 0.0, 0
			for j := lo; j < hi; j++ {
				total += counts[j]
				if counts[j] > 0 {
					nonEmpty++
				}
			}
			if nonEmpty == 0 {
				continue
			}
			for j := lo; j < hi; j++ {
				if counts[j] > 0 {
					q[j] = total / float64(nonEmpty)
				}
			}
		}
		d := klDivergence(p[:i], q[:i])
		if d < bestD {
			best, bestD = i, d
		}
	}
	return math.Min((float64(best)+0.5)*h.Width(), h.Max)
}

// klDivergence is KL(P ‖ Q) of two unnormalised histograms, in nats,
// over the bins where P > 0; an empty bin of Q counts as 1e-12 of its
// mass.
func klDivergence(p, q []float64) float64 {
	sp, sq := 0.0, 0.0
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	if sp == 0 || sq == 0 {
		return math.Inf(1)
	}
	d := 0.0
	for i := range p {
		if p[i] <= 0 {
			continue
		}
		pi := p[i] / sp
		qi := q[i] / sq
		if qi <= 0 {
			qi = 1e-12
		}
		d += pi * math.Log(pi/qi)
	}
	return d
}

// KLDivergence is KL(P ‖ Q) of two histograms over the same bins,
// normalised here; empty bins of Q where P > 0 count as 1e-12.
func KLDivergence(p, q []float64) float64 { return klDivergence(p, q) }

// mse is the cut of the KL's grid (and max|x|) minimising the expected
// squared error of symmetric quantization with levels positive levels,
// each bin's values taken at its centre.
func (h *Histogram) mse(levels int) float64 {
	n := len(h.Counts)
	w := h.Width()
	best, bestE := h.Max, math.Inf(1)
	cands := []int{}
	for i := min(levels, n); i <= n; i++ {
		cands = append(cands, i)
	}
	for _, i := range slices.Compact(cands) {
		t := float64(i) * w
		step := t / float64(levels-1)
		e := 0.0
		for j, c := range h.Counts {
			if c == 0 {
				continue
			}
			x := (float64(j) + 0.5) * w
			var d float64
			if x > t {
				d = x - t
			} else {
				d = x - math.RoundToEven(x/step)*step
			}
			e += c * d * d
		}
		if e < bestE {
			best, bestE = t, e
		}
	}
	return best
}
