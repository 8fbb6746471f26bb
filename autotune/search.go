package autotune

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Strategy chooses which variants of a space to measure next and learns
// from the measurements (the ask/tell loop of TVM MetaSchedule's search
// strategies): Next proposes a batch, Tell reports each result.
type Strategy interface {
	// Next returns up to n variants not yet proposed, to be measured
	// next; none means the strategy has nothing more worth measuring.
	Next(n int) []Point
	// Tell reports a measurement: the variant's time, or failed.
	Tell(p Point, ns float64, failed bool)
}

// ExhaustiveLimit is the size up to which Choose measures a space in
// full.
const ExhaustiveLimit = 128

// Choose returns the strategy for a space: exhaustive up to
// ExhaustiveLimit variants, else the model-guided search. Variants
// measured before (a resumed tuning) are told first; the default is
// proposed first.
func Choose(s *Space, def Point, seed uint64) Strategy {
	if s.Size() <= ExhaustiveLimit {
		return NewExhaustive(s, def)
	}
	return NewModelSearch(s, def, seed)
}

// history is what a strategy has proposed and learnt.
type history struct {
	s        *Space
	all      []Point
	index    map[string]int // by Space.Name
	proposed []bool
	ns       []float64 // measured time; NaN: not yet; +Inf: failed
}

func newHistory(s *Space) history {
	h := history{s: s, all: s.All(), index: map[string]int{}}
	for i, p := range h.all {
		h.index[s.Name(p)] = i
	}
	h.proposed = make([]bool, len(h.all))
	h.ns = make([]float64, len(h.all))
	for i := range h.ns {
		h.ns[i] = math.NaN()
	}
	return h
}

func (h *history) Tell(p Point, ns float64, failed bool) {
	i, ok := h.index[h.s.Name(p)]
	if !ok {
		return
	}
	h.proposed[i] = true
	if failed || !(ns > 0) {
		ns = math.Inf(1)
	}
	h.ns[i] = ns
}

// take marks point i proposed and returns it.
func (h *history) take(i int) Point {
	h.proposed[i] = true
	return h.all[i]
}

// measured returns the indices of the measured points, fastest first.
func (h *history) measured() []int {
	var out []int
	for i, v := range h.ns {
		if !math.IsNaN(v) {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int { return cmp.Compare(h.ns[a], h.ns[b]) })
	return out
}

// Exhaustive measures every variant, the default first.
type Exhaustive struct {
	history
	def Point
}

// NewExhaustive returns the exhaustive strategy.
func NewExhaustive(s *Space, def Point) *Exhaustive {
	return &Exhaustive{history: newHistory(s), def: def}
}

// Next implements Strategy.
func (e *Exhaustive) Next(n int) []Point {
	var out []Point
	if i, ok := e.index[e.s.Name(e.def)]; ok && !e.proposed[i] {
		out = append(out, e.take(i))
	}
	for i := range e.all {
		if len(out) == n {
			break
		}
		if !e.proposed[i] {
			out = append(out, e.take(i))
		}
	}
	return out
}

// Random measures uniformly drawn variants: the baseline the model-guided
// search is tested against.
type Random struct {
	history
	r *rand.Rand
}

// NewRandom returns the random strategy.
func NewRandom(s *Space, seed uint64) *Random {
	return &Random{history: newHistory(s), r: rand.New(rand.NewPCG(seed, 0x5eed))}
}

// Next implements Strategy.
func (r *Random) Next(n int) []Point {
	var left []int
	for i, p := range r.proposed {
		if !p {
			left = append(left, i)
		}
	}
	r.r.Shuffle(len(left), func(i, j int) { left[i], left[j] = left[j], left[i] })
	var out []Point
	for _, i := range left[:min(n, len(left))] {
		out = append(out, r.take(i))
	}
	return out
}

// ModelSearch is the search for spaces too large to measure in full: a
// cost model fitted to the measurements ranks the unmeasured variants,
// and each batch takes the best-ranked neighbours of the fastest variants
// so far (tinygrad's BEAM: one step along one axis), the best-ranked
// variants anywhere (MetaSchedule's model-guided proposals) and a few
// that explore (its ε-greedy share, so a wrong model cannot trap the
// search; aimed at the pairs of values the model knows nothing of,
// addExplore).
//
// The model is ridge regression of log time on features of each axis's
// value and of each pair of axes' values (see features): a tile's speed
// depends on each parameter and on how two of them combine (rows ×
// columns of accumulators against the register file), rarely on three
// at once. It is refitted before every batch, in milliseconds, where a
// measurement costs a harness build and a timing.
type ModelSearch struct {
	history
	def   Point
	r     *rand.Rand
	x     [][]float64 // per point: its features
	nf    int
	pairs [][]int // per point: its one-hot pair features (what exploring covers)
	// Seeds is how many exploring variants the search measures first,
	// beside the default (default 2% of the space, at least 8).
	Seeds int
	// Beam is how many of the fastest variants have their neighbours
	// proposed (default 3).
	Beam int
}

// NewModelSearch returns the model-guided search.
func NewModelSearch(s *Space, def Point, seed uint64) *ModelSearch {
	m := &ModelSearch{history: newHistory(s), def: def, r: rand.New(rand.NewPCG(seed, 0xbea4)), Seeds: max(8, s.Size()/50), Beam: 3}
	m.features()
	return m
}

// features computes every point's feature vector: one-hot features of
// each axis's value and of each pair of axes' values (what the model
// learns per tile shape), and smooth ones that let it reach pairs it has
// not measured: per axis its position and position squared, and per pair
// the log of the product of the values and its square (a tile's rows ×
// columns, whose optimum sits near the register file's size).
func (m *ModelSearch) features() {
	axes := m.s.Axes
	off := make([]int, len(axes))
	n := 0
	for i, a := range axes {
		off[i] = n
		n += len(a.Values)
	}
	pairOff := map[[2]int]int{}
	for i := range axes {
		for j := i + 1; j < len(axes); j++ {
			pairOff[[2]int{i, j}] = n
			n += len(axes[i].Values) * len(axes[j].Values)
		}
	}
	smooth := n
	n += 2*len(axes) + len(axes)*(len(axes)-1)
	m.nf = n
	m.x = make([][]float64, len(m.all))
	m.pairs = make([][]int, len(m.all))
	for k, p := range m.all {
		x := make([]float64, n)
		idx := make([]int, len(p))
		pos := make([]float64, len(p))
		lg := make([]float64, len(p))
		for i := range p {
			idx[i] = m.s.index(i, p[i])
			x[off[i]+idx[i]] = 1
			pos[i] = float64(idx[i]) / float64(max(1, len(axes[i].Values)-1))
			lg[i] = math.Log2(1 + math.Abs(float64(p[i])))
		}
		f := smooth
		for i := range axes {
			x[f], x[f+1] = pos[i], pos[i]*pos[i]
			f += 2
			for j := i + 1; j < len(axes); j++ {
				pf := pairOff[[2]int{i, j}] + idx[i]*len(axes[j].Values) + idx[j]
				x[pf] = 1
				m.pairs[k] = append(m.pairs[k], pf)
				l := (lg[i] + lg[j]) / 8
				x[f], x[f+1] = l, l*l
				f += 2
			}
		}
		m.x[k] = x
	}
}

// predict fits the model to the measurements and returns the predicted
// log time of every point (nil when too few are measured to fit).
func (m *ModelSearch) predict() []float64 {
	meas := m.measured()
	if len(meas) < 4 {
		return nil
	}
	// Failed variants count as twice the slowest measured time, so the
	// model steers away from their region without an infinity.
	worst := 0.0
	for _, i := range meas {
		if !math.IsInf(m.ns[i], 1) {
			worst = max(worst, m.ns[i])
		}
	}
	if worst == 0 {
		return nil
	}
	var mean float64
	y := make([]float64, len(meas))
	for k, i := range meas {
		v := m.ns[i]
		if math.IsInf(v, 1) {
			v = 2 * worst
		}
		y[k] = math.Log(v)
		mean += y[k] / float64(len(meas))
	}
	// Ridge regression on the centred target: (XᵀX + λI)w = Xᵀ(y − ȳ).
	const lambda = 0.3
	x := mat.NewDense(len(meas), m.nf, nil)
	for k, i := range meas {
		x.SetRow(k, m.x[i])
		y[k] -= mean
	}
	var ata mat.SymDense
	ata.SymOuterK(1, x.T())
	for a := range m.nf {
		ata.SetSym(a, a, ata.At(a, a)+lambda)
	}
	var aty mat.VecDense
	aty.MulVec(x.T(), mat.NewVecDense(len(y), y))
	var chol mat.Cholesky
	if !chol.Factorize(&ata) {
		return nil
	}
	var w mat.VecDense
	if err := chol.SolveVecTo(&w, &aty); err != nil {
		return nil
	}
	pred := make([]float64, len(m.all))
	for k, row := range m.x {
		pred[k] = mean + mat.Dot(mat.NewVecDense(m.nf, row), &w)
	}
	return pred
}

// Next implements Strategy.
func (m *ModelSearch) Next(n int) []Point {
	var out []Point
	add := func(i int) bool {
		if len(out) < n && !m.proposed[i] {
			out = append(out, m.take(i))
			return true
		}
		return false
	}
	if i, ok := m.index[m.s.Name(m.def)]; ok {
		add(i)
	}
	seeded := 0
	for _, p := range m.proposed {
		if p {
			seeded++
		}
	}
	// The first batch: the default and seeds for the model.
	for seeded < m.Seeds+1 && len(out) < n {
		if !m.addExplore(add) {
			return out
		}
		seeded++
	}
	if len(out) > 0 {
		return out
	}
	pred := m.predict()
	if pred == nil {
		for len(out) < n && m.addExplore(add) {
		}
		return out
	}
	byPred := func(cands []int) {
		slices.SortStableFunc(cands, func(a, b int) int { return cmp.Compare(pred[a], pred[b]) })
	}
	// Neighbours of the fastest variants, best predicted first: half
	// the batch at most, so the global proposals are never crowded out.
	meas := m.measured()
	var near []int
	for _, i := range meas[:min(m.Beam, len(meas))] {
		if math.IsInf(m.ns[i], 1) {
			break
		}
		for _, q := range m.s.Near(m.all[i]) {
			if j := m.index[m.s.Name(q)]; !m.proposed[j] {
				near = append(near, j)
			}
		}
	}
	byPred(near)
	for _, i := range near {
		if len(out) >= (n+1)/2 {
			break
		}
		add(i)
	}
	// One variant in eight explores; the rest, the best predicted.
	for k := 0; k < n/8; k++ {
		m.addExplore(add)
	}
	var rest []int
	for i, p := range m.proposed {
		if !p {
			rest = append(rest, i)
		}
	}
	byPred(rest)
	for _, i := range rest {
		if len(out) >= n {
			break
		}
		add(i)
	}
	return out
}

// addExplore proposes the unproposed point that brings the model the most
// pairs of axis values it has no measurement of yet (ties drawn at
// random): exploration aimed at what the model cannot predict, where
// uniform sampling would keep landing on pairs it already knows. Seeded
// this way the model sees every pair of values early.
func (m *ModelSearch) addExplore(add func(int) bool) bool {
	covered := map[int]bool{}
	var left []int
	for i, p := range m.proposed {
		if p {
			for _, f := range m.pairs[i] {
				covered[f] = true
			}
		} else {
			left = append(left, i)
		}
	}
	if len(left) == 0 {
		return false
	}
	m.r.Shuffle(len(left), func(i, j int) { left[i], left[j] = left[j], left[i] })
	best, most := left[0], -1
	for _, i := range left {
		n := 0
		for _, f := range m.pairs[i] {
			if !covered[f] {
				n++
			}
		}
		if n > most {
			best, most = i, n
		}
	}
	return add(best)
}
