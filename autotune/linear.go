package autotune

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
)

// Linear is the GEMM of a linear layer, y[m×N] = x[m×K]·Wᵀ + bias, at one
// kernel tier, as codegen generates it: the pure-Go kernel of
// codegen/gemm, or the Linear kernels of the codegen target that has the
// tier (codegen.Targets: amd64's avx512 and avx2, arm64's neon), whose
// register tile the tuner sets through isa.LinearSpec.Tile.
//
// Its axes, by tier:
//
//   - a target's tier: pw, the panel width of the packed weights (16, 32,
//     48, 64), and the register tiles the target lists for it
//     (isa.LinearTiler): nv, the tile's vectors a row, where a panel
//     width allows more than one (avx2: 1 or 2, 8 or 16 columns; neon: 2
//     or 4, 8 or 16 columns; avx512's tile covers the panel, pw/16), and
//     mr, its rows (avx512 and avx2: 1–12, as long as the accumulators,
//     W's vectors and a broadcast fit the vector registers; neon: 1–5);
//   - generic (the pure-Go kernel, for the purego build, CPUs without a
//     vector tier and other architectures): gemm.Params' MR, NR, KC (0:
//     no K blocking) and KU. The panel width is not searched: it only
//     places the pure-Go kernel's blocks in memory, and it must stay a
//     multiple of 16 for the assembly tiers of the same package; it is
//     codegen's (gemm.VectorPanel), or 48 where NR (3, 6, 12) does not
//     divide that.
//
// Every tier's variants read weights packed by gemm.Pack, so a variant's
// panel width (Panel) is also the packing codegen must use for it.
type Linear struct {
	N, K int
	Tier string // a target's tier ("avx512", "avx2", "neon") or "generic"
}

// LinearTiers are the tiers Linear has spaces for: every codegen
// target's tier whose Linear kernels take a tuned tile at some panel
// width (a tier only other families use, such as amd64's vnni for the
// integer GEMM, has none), then generic.
func LinearTiers() []string {
	var tiers []string
	for _, t := range codegen.Targets() {
		tt, ok := t.(isa.LinearTiler)
		if !ok {
			continue
		}
		for _, tier := range t.Tiers() {
			for _, pw := range panelWidths {
				if len(tt.LinearTiles(tier.Name, pw)) > 0 {
					tiers = append(tiers, tier.Name)
					break
				}
			}
		}
	}
	return append(tiers, "generic")
}

// target returns the codegen target of the tier, nil for generic or a
// tier no target has.
func (l Linear) target() isa.Target {
	for _, t := range codegen.Targets() {
		for _, tier := range t.Tiers() {
			if tier.Name == l.Tier {
				return t
			}
		}
	}
	return nil
}

// tiles lists the target's register tiles of the tier at panel width
// pw, the default first.
func (l Linear) tiles(pw int) []isa.Tile {
	if tt, ok := l.target().(isa.LinearTiler); ok {
		return tt.LinearTiles(l.Tier, pw)
	}
	return nil
}

// Family implements Kernel.
func (l Linear) Family() string { return "linear." + l.Tier }

// Shape implements Kernel.
func (l Linear) Shape() string { return fmt.Sprintf("n%d_k%d", l.N, l.K) }

// FLOPs implements Kernel.
func (l Linear) FLOPs(batch int) float64 { return 2 * float64(batch) * float64(l.N) * float64(l.K) }

var panelWidths = []int{16, 32, 48, 64}

// Space implements Kernel.
func (l Linear) Space() *Space {
	if l.Tier != "generic" {
		return l.tileSpace()
	}
	kcs := []int{0}
	for _, kc := range []int{64, 128, 256, 512} {
		if kc < l.K {
			kcs = append(kcs, kc)
		}
	}
	return &Space{
		Axes: []Axis{{"mr", []int{1, 2, 3, 4}}, {"nr", []int{1, 2, 3, 4, 6, 8, 12, 16}}, {"kc", kcs}, {"ku", []int{1, 2, 4, 8}}},
		// Past 16 accumulators the Go compiler spills every one of them
		// (gemm's doc.go): legal, and slow beyond doubt.
		Valid: func(p Point) bool { return p[0]*p[1] <= 16 },
	}
}

// tileSpace is a target tier's space: pw, then nv when some panel width
// has tiles of more than one width, then mr; a point is valid when the
// target lists its tile.
func (l Linear) tileSpace() *Space {
	nvs, mrs := map[int]bool{}, map[int]bool{}
	nvAxis := false
	for _, pw := range panelWidths {
		at := map[int]bool{}
		for _, t := range l.tiles(pw) {
			nvs[t.NV], mrs[t.MR], at[t.NV] = true, true, true
		}
		nvAxis = nvAxis || len(at) > 1
	}
	axes := []Axis{{"pw", panelWidths}}
	if nvAxis {
		axes = append(axes, Axis{"nv", slices.Sorted(maps.Keys(nvs))})
	}
	axes = append(axes, Axis{"mr", slices.Sorted(maps.Keys(mrs))})
	sp := &Space{Axes: axes}
	sp.Valid = func(p Point) bool {
		_, ok := l.tile(p)
		return ok
	}
	return sp
}

// tile returns the register tile of a target tier's point, if the
// target lists it.
func (l Linear) tile(p Point) (isa.Tile, bool) {
	ts := l.tiles(p[0])
	for _, t := range ts {
		if t.MR == p[len(p)-1] && (len(p) == 2 || t.NV == p[1]) {
			return t, true
		}
	}
	return isa.Tile{}, false
}

// Panel returns the panel width of the weights variant v reads.
func (l Linear) Panel(v Point) int {
	if l.Tier != "generic" {
		return v[0]
	}
	pw := gemm.VectorPanel(l.N)
	if pw%v[1] != 0 {
		pw = 48
	}
	return pw
}

// Default implements Kernel: codegen's choice (gemm.VectorParams and
// the target's default tile, first of its LinearTiles).
func (l Linear) Default() Point {
	p := gemm.VectorParams(l.N, l.K, 1)
	if l.Tier != "generic" {
		pw := p.Panel()
		ts := l.tiles(pw)
		if len(ts) == 0 {
			return nil
		}
		if len(l.Space().Axes) == 3 {
			return Point{pw, ts[0].NV, ts[0].MR}
		}
		return Point{pw, ts[0].MR}
	}
	ku := p.KU
	if ku == 0 {
		ku = 4
	}
	return Point{p.MR, p.NR, p.KC, ku}
}

// Params returns the codegen parameters of variant v, as codegen takes
// them from a tuning choice (Choice): the pure-Go kernel's gemm.Params
// and the vector kernels' spec (with bias).
func (l Linear) Params(v Point) (gemm.Params, isa.LinearSpec) {
	p := gemm.VectorParams(l.N, l.K, 1)
	p.Bias, p.PW = true, l.Panel(v)
	spec := isa.LinearSpec{N: l.N, K: l.K, PW: p.PW, Bias: true}
	if l.Tier != "generic" {
		// The tile as the space names it, less the panel width.
		_, tile, _ := strings.Cut(l.Space().Name(v), ",")
		spec.Tile = l.Tier + ":" + tile
		return p, spec
	}
	p.MR, p.NR, p.KC, p.KU = v[0], v[1], v[2], v[3]
	return p, spec
}

// Choice returns variant v as codegen's Input.Tuning spells it: the
// parameters with the panel width, which the generic tier's variants
// leave implicit.
func (l Linear) Choice(v Point) string {
	if l.Tier == "generic" {
		return fmt.Sprintf("pw=%d,%s", l.Panel(v), l.Space().Name(v))
	}
	return l.Space().Name(v)
}

// Program implements Kernel: the variants (the pure-Go kernel of each,
// or the target's kernel of the tier), the pure-Go twin of each packing
// for the vector tiers, and a case that checks a variant on every row
// count up to 13 (every tail of every tile) and the batch, with guard
// values around y.
func (l Linear) Program(vs []Point) (Program, error) {
	sp := l.Space()
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	f("package main\n\nimport (\n\"fmt\"\n\"math\"\n)\n")
	f("const N, K = %d, %d\n", l.N, l.K)
	twins := map[int]string{}
	var kernels []isa.Kernel
	var table, runs, twinRefs strings.Builder
	for i, v := range vs {
		if !sp.ok(v) {
			return Program{}, fmt.Errorf("variant %v is not in the space of %s", v, l.Family())
		}
		p, spec := l.Params(v)
		if err := p.Validate(); err != nil {
			return Program{}, err
		}
		if l.Tier == "generic" {
			name := fmt.Sprintf("v%d", i)
			fmt.Fprintf(&table, "{%q, \"\"},\n", sp.Name(v))
			f("%s", gemm.Emit(p, name))
			fmt.Fprintf(&runs, "func(m int, y, x, wp, bias []float32) { %s(m, 0, %d, y, x, wp, bias) },\n", name, p.Blocks())
			twinRefs.WriteString("nil,\n")
			continue
		}
		var k *isa.Kernel
		if tg := l.target(); tg != nil {
			for _, c := range tg.Linear(spec) {
				if c.Tier.Name == l.Tier {
					k = &c
				}
			}
		}
		if k == nil {
			return Program{}, fmt.Errorf("no target has a %s Linear kernel for %+v", l.Tier, spec)
		}
		kernels = append(kernels, *k)
		fmt.Fprintf(&table, "{%q, %q},\n", sp.Name(v), l.Tier)
		fmt.Fprintf(&runs, "func(m int, y, x, wp, bias []float32) { %s(m, 0, %d, y, x, wp, bias, nil) },\n", k.Name, spec.Panels())
		twin := fmt.Sprintf("twin_pw%d", p.PW)
		if _, ok := twins[p.PW]; !ok {
			tp := gemm.VectorParams(l.N, l.K, 1)
			tp.Bias, tp.PW = true, p.PW
			f("%s", gemm.Emit(tp, twin))
			twins[p.PW] = fmt.Sprintf("func(m int, y, x, wp, bias []float32) { %s(m, 0, %d, y, x, wp, bias) }", twin, tp.Blocks())
		}
		twinRefs.WriteString(twins[p.PW] + ",\n")
	}
	f("var variants = []variant{\n%s}\n", table.String())
	f("var vpw = []int{")
	for _, v := range vs {
		fmt.Fprintf(&b, "%d, ", l.Panel(v))
	}
	f("}\n")
	f("var vrun = []func(m int, y, x, wp, bias []float32){\n%s}\n", runs.String())
	f("var vtwin = []func(m int, y, x, wp, bias []float32){\n%s}\n", twinRefs.String())
	b.WriteString(linearCase)
	prog := Program{Go: b.String()}
	if len(kernels) > 0 {
		files, err := l.target().Render(isa.File{Package: "main", Runtime: "github.com/modelc/modelc/runtime", Kernels: kernels})
		if err != nil {
			return Program{}, err
		}
		prog.Files = files
	}
	return prog, nil
}

// linearCase is the case of Linear's harness (see harness_main.go).
const linearCase = `
// kcase holds random inputs for batch rows, the weights packed in every
// panel width, and the bias padded to whole panels.
type kcase struct {
	m          int
	x, w, bias []float32
	wp, bp     map[int][]float32
	y          []float32
	refs       map[int]*ref
}

// ref is the exact result for the first m rows, and each element's
// Σ|x·w| + |bias|, in float64.
type ref struct{ y, mag []float64 }

func newCase(batch int) *kcase {
	rows := max(batch, 13)
	r := newRand(1)
	c := &kcase{m: batch, x: r.normals(rows * K), w: r.normals(N * K), bias: r.normals(N),
		wp: map[int][]float32{}, bp: map[int][]float32{}, refs: map[int]*ref{}}
	for _, pw := range vpw {
		if c.wp[pw] == nil {
			c.wp[pw] = pack(c.w, pw)
			np := (N + pw - 1) / pw
			c.bp[pw] = append(append([]float32(nil), c.bias...), make([]float32, np*pw-N)...)
		}
	}
	c.y = make([]float32, rows*N)
	return c
}

// pack lays W [N, K] out as codegen/gemm.Pack does: panel q holds
// −W[q·pw+j, k] at (q·K + k)·pw + j, zeros past N.
func pack(w []float32, pw int) []float32 {
	np := (N + pw - 1) / pw
	wp := make([]float32, np*K*pw)
	for j := 0; j < N; j++ {
		q, jj := j/pw, j%pw
		for k := 0; k < K; k++ {
			wp[(q*K+k)*pw+jj] = -w[j*K+k]
		}
	}
	return wp
}

// prepare computes the exact results check compares with, on every
// row count it checks.
func (c *kcase) prepare() {
	for _, m := range c.rows() {
		c.exact(m)
	}
}

// rows are the row counts check checks: every tail of every tile
// (1…13) and the batch.
func (c *kcase) rows() []int {
	ms := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	if c.m > 13 {
		ms = append(ms, c.m)
	}
	return ms
}

func (c *kcase) run(v int) {
	vrun[v](c.m, c.y[:c.m*N], c.x[:c.m*K], c.wp[vpw[v]], c.bp[vpw[v]])
}

func (c *kcase) exact(m int) *ref {
	if r := c.refs[m]; r != nil {
		return r
	}
	r := &ref{y: make([]float64, m*N), mag: make([]float64, m*N)}
	for i := 0; i < m; i++ {
		for j := 0; j < N; j++ {
			s, a := float64(c.bias[j]), math.Abs(float64(c.bias[j]))
			for k := 0; k < K; k++ {
				p := float64(c.x[i*K+k]) * float64(c.w[j*K+k])
				s += p
				a += math.Abs(p)
			}
			r.y[i*N+j], r.mag[i*N+j] = s, a
		}
	}
	c.refs[m] = r
	return r
}

const guard = 16

var sentinel = math.Float32frombits(0x7fc0dead)

// call runs fn on the first m rows into a buffer with guard values on
// both sides, and checks the guards.
func (c *kcase) call(fn func(m int, y, x, wp, bias []float32), m, pw int) ([]float32, error) {
	buf := make([]float32, m*N+2*guard)
	for i := range buf {
		buf[i] = sentinel
	}
	y := buf[guard : guard+m*N]
	fn(m, y, c.x[:m*K], c.wp[pw], c.bp[pw])
	for i := range buf {
		if (i < guard || i >= guard+m*N) && math.Float32bits(buf[i]) != math.Float32bits(sentinel) {
			return nil, fmt.Errorf("m=%d: wrote outside y (guard %d)", m, i)
		}
	}
	return y, nil
}

// check compares variant v with its pure-Go twin (the assembly tiers) or
// the exact result (the pure-Go variants, as codegen/gemm's tests do) by
// design.md's kernel rule: per element within 4·K·2⁻²⁴·(Σ|x·w| + |bias|),
// on every row count 1…13 and the batch.
func (c *kcase) check(v int) error {
	for _, m := range c.rows() {
		r := c.exact(m)
		got, err := c.call(vrun[v], m, vpw[v])
		if err != nil {
			return err
		}
		want := make([]float64, m*N)
		for i := range want {
			want[i] = r.y[i]
		}
		if vtwin[v] != nil {
			tw, err := c.call(vtwin[v], m, vpw[v])
			if err != nil {
				return fmt.Errorf("the twin: %v", err)
			}
			for i, t := range tw {
				want[i] = float64(t)
			}
		}
		for i := range got {
			tol := 4 * K * math.Pow(2, -24) * r.mag[i]
			if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
				return fmt.Errorf("m=%d: y[%d,%d] = %g, want %g (tolerance %.3g)", m, i/N, i%N, got[i], want[i], tol)
			}
			if d := math.Abs(want[i] - r.y[i]); !(d <= tol) {
				return fmt.Errorf("m=%d: the twin's y[%d,%d] = %g, exact %g (tolerance %.3g)", m, i/N, i%N, want[i], r.y[i], tol)
			}
		}
	}
	return nil
}

// rng is a small seeded generator (xorshift64*), the same on every
// target.
type rng struct{ s uint64 }

func newRand(seed uint64) *rng { return &rng{s: seed*0x9e3779b97f4a7c15 + 1} }

func (r *rng) next() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 2685821657736338717
}

// normals returns n standard normal values (Box–Muller).
func (r *rng) normals(n int) []float32 {
	out := make([]float32, n)
	for i := 0; i < n; i += 2 {
		u1 := (float64(r.next()>>11) + 1) / (1 << 53)
		u2 := float64(r.next()>>11) / (1 << 53)
		m := math.Sqrt(-2 * math.Log(u1))
		out[i] = float32(m * math.Cos(2*math.Pi*u2))
		if i+1 < n {
			out[i+1] = float32(m * math.Sin(2*math.Pi*u2))
		}
	}
	return out
}
`
