package gemm

import "fmt"

// Params choose a variant of the kernel; the autotuner searches them.
// Params that differ only in KC ≥ K, or in KU 0 and 4, emit the same code.
type Params struct {
	N, K   int  // weight shape [N, K]: N outputs, K inputs
	MR, NR int  // register tile: MR rows of x by NR columns of y
	KC     int  // K blocking: chunks of KC along K (0 or ≥ K: none)
	KU     int  // K steps per iteration of the inner loop (0: 4)
	Bias   bool // add bias[N]
	// PW is the panel width of the packed weights, a multiple of NR (0:
	// NR). Assembly kernels read the same packed weights with vectors
	// of 8 or 16 floats, so a package with them packs in panels of 16–64
	// columns and the pure-Go kernel computes NR-column blocks inside
	// them.
	PW int
}

// Name returns a name that identifies the variant, usable as a Go
// identifier, e.g. "sgemm_n512_k3072_4x4_kc256_b".
func (p Params) Name() string {
	s := fmt.Sprintf("sgemm_n%d_k%d_%dx%d", p.N, p.K, p.MR, p.NR)
	if p.KC > 0 {
		s += fmt.Sprintf("_kc%d", p.KC)
	}
	if p.KU > 0 {
		s += fmt.Sprintf("_u%d", p.KU)
	}
	if p.PW > 0 && p.PW != p.NR {
		s += fmt.Sprintf("_pw%d", p.PW)
	}
	if p.Bias {
		s += "_b"
	}
	return s
}

// Validate reports whether p describes a variant Emit can generate.
func (p Params) Validate() error {
	switch {
	case p.N < 1 || p.K < 1:
		return fmt.Errorf("gemm: weight shape [%d, %d]: both must be ≥ 1", p.N, p.K)
	case p.MR < 1 || p.NR < 1:
		return fmt.Errorf("gemm: tile %d×%d: both must be ≥ 1", p.MR, p.NR)
	case p.MR > MaxMR || p.NR > MaxNR:
		return fmt.Errorf("gemm: tile %d×%d: at most %d×%d", p.MR, p.NR, MaxMR, MaxNR)
	case p.KC < 0:
		return fmt.Errorf("gemm: KC %d: must be ≥ 0", p.KC)
	case p.KU < 0 || p.KU > MaxKU:
		return fmt.Errorf("gemm: KU %d: must be in [0, %d]", p.KU, MaxKU)
	case p.PW < 0 || p.PW%p.NR != 0:
		return fmt.Errorf("gemm: panel width %d: must be a multiple of NR = %d", p.PW, p.NR)
	}
	return nil
}

// MaxMR, MaxNR and MaxKU bound the variants, to keep emitted code to a
// sane size. On amd64 nothing near them pays: beyond about 12
// accumulators the Go compiler spills to the stack (15 usable float
// registers, X0–X14).
const (
	MaxMR = 16
	MaxNR = 16
	MaxKU = 16
)

// Blocks returns the number of column blocks, ⌈N/NR⌉: the kernel's lo and
// hi count in these.
func (p Params) Blocks() int { return (p.N + p.NR - 1) / p.NR }

// Panel returns the panel width of the packed weights: PW, or NR.
func (p Params) Panel() int {
	if p.PW == 0 {
		return p.NR
	}
	return p.PW
}

// Panels returns the number of panels of packed weights, ⌈N/Panel()⌉.
func (p Params) Panels() int { return (p.N + p.Panel() - 1) / p.Panel() }

// PackedLen returns len(Pack(p, w)).
func (p Params) PackedLen() int { return p.Panels() * p.K * p.Panel() }

// chunk returns the effective K blocking: KC, or K when KC is 0 or ≥ K.
func (p Params) chunk() int {
	if p.KC <= 0 || p.KC >= p.K {
		return p.K
	}
	return p.KC
}

// unroll returns the effective KU.
func (p Params) unroll() int {
	if p.KU == 0 {
		return 4
	}
	return p.KU
}

func (p Params) mustValidate() {
	if err := p.Validate(); err != nil {
		panic(err.Error())
	}
}

// Pack rearranges W [N, K] (row-major, PyTorch's layout) into the layout
// the kernels read: ⌈N/PW⌉ panels of PW = Panel() columns of y; panel q
// holds W[q·PW+j, k] at (q·K + k)·PW + j, negated (see doc.go), with the
// columns past N zero. It runs at build time.
func Pack(p Params, w []float32) []float32 {
	p.mustValidate()
	if len(w) != p.N*p.K {
		panic(fmt.Sprintf("gemm: Pack: len(w) = %d, want N·K = %d", len(w), p.N*p.K))
	}
	pw := p.Panel()
	wp := make([]float32, p.PackedLen())
	for q := range p.Panels() {
		panel := wp[q*p.K*pw : (q+1)*p.K*pw]
		for j := range min(pw, p.N-q*pw) {
			row := w[(q*pw+j)*p.K:][:p.K]
			for k, v := range row {
				panel[k*pw+j] = -v
			}
		}
	}
	return wp
}

// Default returns the variant to use for a weight [n, k] when no tuning
// result is at hand (the caller sets Bias); mHint is a typical number of
// rows (1 for batch-1 inference). On amd64 one row or many want the same
// tile (doc.go says why), so mHint does not change the choice today; it
// is there for the autotuner and other targets. The choice comes from the
// benchmarks in bench_test.go.
func Default(n, k, mHint int) Params {
	_ = mHint
	// One row by 8–12 columns. Narrower tiles run slower (1×8 about 3.5%
	// below 1×12), and wider blocks pad the last one more: take the best
	// product of the two.
	p := Params{N: n, K: k, MR: 1, NR: min(n, 12)}
	score := func(nr int) float64 { return float64(n) / float64(pad(n, nr)) * (1 - 0.009*float64(12-nr)) }
	for nr := 11; nr >= 8 && n > 12; nr-- {
		if score(nr) > score(p.NR) {
			p.NR = nr
		}
	}
	// Chunks of 256 steps keep a panel chunk (at most 12 KiB) in a 32 KiB
	// L1 beside the rows of x that pass it, and make the trip count a
	// power of two, reduced with an AND instead of a multiply. A panel
	// that fits in 24 KiB with K a power of two needs neither.
	if k > 256 && (k&(k-1) != 0 || k*p.NR*4 > 24<<10) {
		p.KC = 256
	}
	return p
}

// pad returns the columns a kernel with blocks of nr computes for n.
func pad(n, nr int) int { return (n + nr - 1) / nr * nr }

// VectorPanel returns the panel width for n columns in a package with
// vector kernels, one of 64, 48, 32 and 16 (multiples of every target's
// vector width, so every target reads the same packed weights): the one
// that wastes least on padding, weighed against the narrower tiles'
// lower speed (one or two vectors a row load more per multiply-add).
func VectorPanel(n int) int {
	eff := map[int]float64{64: 1, 48: 1, 32: 0.95, 16: 0.85}
	best, score := 64, 0.0
	for _, pw := range []int{64, 48, 32, 16} {
		if s := float64(n) / float64(pad(n, pw)) * eff[pw]; s > score {
			best, score = pw, s
		}
	}
	return best
}

// VectorParams is Default for a package with vector kernels: the weights
// are packed in panels of VectorPanel(n) columns, and the pure-Go kernel
// (for the purego build, architectures without vector kernels and CPUs
// below their tiers) computes 8-column blocks inside them.
func VectorParams(n, k, mHint int) Params {
	p := Default(n, k, mHint)
	p.PW = VectorPanel(n)
	p.NR = 8
	return p
}

// RowBlock is the number of rows of x (K floats each) whose block stays
// in L2 (128 KiB of it) while the panels pass it, a multiple of mr; 6
// (the common multiple of the amd64 tiles' heights at this size) when mr
// is 0. Linear layers also split their rows across threads in blocks of
// it.
func RowBlock(k, mr int) int {
	if mr == 0 {
		mr = 6
	}
	return max(mr, (128<<10)/(4*k)/mr*mr)
}
