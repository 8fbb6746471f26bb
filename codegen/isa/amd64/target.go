package amd64

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
)

// Target is the amd64 back end: AVX-512 and AVX2 kernels in Plan 9
// assembly, each called from a Go driver that walks the kernel's shape
// and handles its tails.
type Target struct{}

var (
	tierAVX512 = isa.Tier{Name: "avx512", Check: "rt.Supports(rt.TierAVX512)"}
	tierAVX2   = isa.Tier{Name: "avx2", Check: "rt.Supports(rt.TierAVX2)"}
)

func (Target) Name() string       { return "amd64" }
func (Target) GOARCH() string     { return "amd64" }
func (Target) Constraint() string { return "!purego" }
func (Target) Tiers() []isa.Tier  { return []isa.Tier{tierVNNI, tierAVX512, tierAVX2} }

// tierOf returns the tier a tile's Tier names.
func tierOf(name string) isa.Tier {
	if name == tierVNNI.Name {
		return tierVNNI
	}
	if name == tierAVX512.Name {
		return tierAVX512
	}
	return tierAVX2
}

// part is what Render writes for a kernel: its Go driver, the assembly
// functions it calls (shared between kernels by name) and the parameter
// blocks it uses.
type part struct {
	goSrc string
	funcs []*Func
	decls []string // parameter block declarations (gemmArgsDecl, …)
}

func kernel(fam isa.Family, name, tier string, p part) isa.Kernel {
	return isa.Kernel{Family: fam, Tier: tierOf(tier), Name: name, Part: p}
}

// Linear runs on the GEMM microkernels; the AVX-512 tile covers a whole
// panel, the AVX2 one a 16-column slice of it. Epilogues with an
// activation the kernels lack get none: the caller applies them in Go.
func (Target) Linear(s isa.LinearSpec) []isa.Kernel {
	if !acts(s.Epi.Act) || s.PW%16 != 0 {
		return nil
	}
	var ks []isa.Kernel
	for _, t := range linearTiles(s.PW) {
		tuned := ""
		if tt, ok := tunedTile(s, t); ok {
			t, tuned = tt, fmt.Sprintf("_%dx%d", tt.MR, tt.W())
		}
		name := fmt.Sprintf("linear_n%d_k%d_pw%d%s%s%s_%s", s.N, s.K, s.PW, bSuffix(s.Bias), s.Epi.Suffix(), tuned, t.Tier)
		src, fns := linearKernel(s, name, t)
		ks = append(ks, kernel(isa.Linear, name, t.Tier, part{src, fns, []string{driver.GemmArgs}}))
	}
	return ks
}

// LinearTiles implements isa.LinearTiler: codegen's default first, then
// every tile that fits (fits) of 1–12 rows and, for AVX2, 8 or 16
// columns (AVX-512's covers the panel).
func (Target) LinearTiles(tier string, pw int) []isa.Tile {
	var def tile
	for _, t := range linearTiles(pw) {
		if t.Tier == tier {
			def = t
		}
	}
	if def.Tier == "" || pw%16 != 0 {
		return nil
	}
	nvs := []int{1, 2}
	if def.Lanes == 16 {
		nvs = []int{pw / 16}
	}
	ts := []isa.Tile{{MR: def.MR, NV: def.NV}}
	for _, nv := range nvs {
		for mr := 1; mr <= 12; mr++ {
			t := def
			t.MR, t.NV = mr, nv
			if fits(t, pw) && t != def {
				ts = append(ts, isa.Tile{MR: mr, NV: nv})
			}
		}
	}
	return ts
}

// fits reports whether tile t works at panel width pw: at most 12 rows
// (the row addressing), accumulators, B's vectors and the broadcast
// within the tier's vector registers, and slices that divide the panel
// (AVX-512's tile covers it whole).
func fits(t tile, pw int) bool {
	regs := 16
	if t.Lanes == 16 {
		regs = 32
	}
	return t.MR >= 1 && t.MR <= 12 && t.NV >= 1 && t.MR*t.NV+t.NV+1 <= regs && pw%t.W() == 0 && (t.Lanes != 16 || t.NV == pw/16)
}

// tunedTile returns the tile s.Tile names for the tier of t, if
// LinearTiles lists it.
func tunedTile(s isa.LinearSpec, t tile) (tile, bool) {
	c, ok := isa.TunedTile(Target{}, s, t.Tier, isa.Tile{MR: t.MR, NV: t.NV})
	t.MR, t.NV = c.MR, c.NV
	return t, ok
}

// ConvBlock runs on the GEMM microkernels with the right-hand side packed
// at run time.
func (Target) ConvBlock(s isa.ConvBlockSpec) []isa.Kernel {
	if !acts(s.Epi.Act) || s.PW%16 != 0 {
		return nil
	}
	var ks []isa.Kernel
	for _, t := range linearTiles(s.PW) {
		pos := ""
		if s.Pos {
			pos = "_pos"
		}
		name := fmt.Sprintf("convblock_k%d_pw%d%s%s_%s", s.K, s.PW, pos, s.Epi.Suffix(), t.Tier)
		src, fns := blockKernel(s, name, t)
		ks = append(ks, kernel(isa.ConvBlock, name, t.Tier, part{src, fns, []string{driver.GemmArgs}}))
	}
	return ks
}

// ConvRow runs on the GEMM microkernels walking the convolution window,
// with a tile chosen per tier for the row's width (convTile).
func (Target) ConvRow(s isa.ConvRowSpec) []isa.Kernel {
	if !acts(s.Epi.Act) || s.PW%16 != 0 {
		return nil
	}
	var ks []isa.Kernel
	for _, tier := range []string{tierAVX512.Name, tierAVX2.Name} {
		name := fmt.Sprintf("conv%dx%d_c%d_o%d_s%d_wp%d_ow%d%s%s_%s", s.KH, s.KW, s.C, s.O, s.SW, s.Wp, s.OW, bSuffix(s.Bias), s.Epi.Suffix(), tier)
		src, fns := convRowKernel(s, name, convTile(tier, s.OW, s.PW, s.KW*s.C))
		ks = append(ks, kernel(isa.ConvRow, name, tier, part{src, fns, []string{driver.GemmArgs}}))
	}
	return ks
}

// Attention runs QKᵀ and PV on the GEMM microkernels and the softmax on
// its row kernels, where a head's width of V is a multiple of 16.
func (Target) Attention(s isa.AttentionSpec) []isa.Kernel {
	if (s.Dv/s.H)%16 != 0 {
		return nil
	}
	var ks []isa.Kernel
	for _, tier := range []string{tierAVX512.Name, tierAVX2.Name} {
		ks = append(ks, attentionKernel(s, tier))
	}
	return ks
}

// Elementwise has kernels for relu, affine, add, sub and mul.
func (Target) Elementwise(s isa.ElementwiseSpec) []isa.Kernel {
	if !hasElementwise(s.Op) {
		return nil
	}
	var ks []isa.Kernel
	for _, t := range []struct {
		tier  string
		lanes int
	}{{tierAVX512.Name, 16}, {tierAVX2.Name, 8}} {
		name := fmt.Sprintf("ew_%s_%s", s.Op, t.tier)
		micro := elementwise(name+"_k", s.Op, t.lanes)
		ks = append(ks, kernel(isa.Elementwise, name, t.tier, part{driver.Elementwise(name, s.Op, t.lanes), []*Func{micro}, []string{driver.EWArgs}}))
	}
	return ks
}

// LayerNorm has kernels for rows of whole vectors.
func (Target) LayerNorm(s isa.LayerNormSpec) []isa.Kernel {
	var ks []isa.Kernel
	for _, t := range []struct {
		tier  string
		lanes int
	}{{tierAVX512.Name, 16}, {tierAVX2.Name, 8}} {
		if !layerNormTile(s.I, t.lanes) {
			continue
		}
		suffix := bSuffix(s.Beta)
		if s.Plain {
			suffix = "_plain"
		}
		name := fmt.Sprintf("layernorm_i%d%s_%s", s.I, suffix, t.tier)
		micro := layerNorm(name+"_k", s, t.lanes)
		ks = append(ks, kernel(isa.LayerNorm, name, t.tier, part{driver.LayerNorm(name, s), []*Func{micro}, []string{driver.LNArgs}}))
	}
	return ks
}

// Softmax has kernels for rows of any length (masked tails).
func (Target) Softmax(s isa.SoftmaxSpec) []isa.Kernel {
	if s.L < 1 {
		return nil
	}
	var ks []isa.Kernel
	for _, t := range []struct {
		tier  string
		lanes int
	}{{tierAVX512.Name, 16}, {tierAVX2.Name, 8}} {
		name := fmt.Sprintf("softmax_l%d_%s", s.L, t.tier)
		micro := softmax(name+"_k", s.L, t.lanes)
		ks = append(ks, kernel(isa.Softmax, name, t.tier, part{driver.Softmax(name, s.L, t.lanes, t.lanes == 8), []*Func{micro}, nil}))
	}
	return ks
}

func bSuffix(bias bool) string {
	if bias {
		return "_b"
	}
	return ""
}

// shapeName spells an attention spec for kernel names.
func shapeName(s isa.AttentionSpec) string {
	n := fmt.Sprintf("t%d_s%d_d%d_dv%d_h%d", s.T, s.S, s.D, s.Dv, s.H)
	if s.Causal {
		n += "_causal"
	}
	return n
}

// Depthwise runs on the depthwise microkernels, vectors across channels,
// where the row has at least one whole 8-float vector of channels.
func (Target) Depthwise(s isa.DepthwiseSpec) []isa.Kernel {
	var ks []isa.Kernel
	for _, tier := range []string{tierAVX512.Name, tierAVX2.Name} {
		name := fmt.Sprintf("dw%dx%d_c%d_s%d_d%dx%d_wp%d_ow%d%s%s_%s", s.KH, s.KW, s.C, s.SW, s.DH, s.DW, s.Wp, s.OW, bSuffix(s.Bias), s.Epi.Suffix(), tier)
		if src, fns, ok := depthwiseKernel(s, name, tier); ok {
			ks = append(ks, kernel(isa.Depthwise, name, tier, part{src, fns, []string{driver.DWArgs}}))
		}
	}
	return ks
}
