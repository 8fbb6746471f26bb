package amd64

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/modelc/modelc/codegen/isa"
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
func (Target) Tiers() []isa.Tier  { return []isa.Tier{tierAVX512, tierAVX2} }

// tierOf returns the tier a tile's Tier names.
func tierOf(name string) isa.Tier {
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
		src, fns := emitLinear(s, name, t)
		ks = append(ks, kernel(isa.Linear, name, t.Tier, part{src, fns, []string{gemmArgsDecl}}))
	}
	return ks
}

// LinearTile returns the register tile Linear uses by default for a tier
// at panel width pw: vectors per row and rows (the autotuner's default
// variant).
func LinearTile(tier string, pw int) (nv, mr int) {
	for _, t := range linearTiles(pw) {
		if t.Tier == tier {
			return t.NV, t.MR
		}
	}
	return 0, 0
}

// tunedTile returns the tile s.Tile names for the tier of t, if it names
// one that fits: at most 12 rows (the row addressing), accumulators, B's
// vectors and the broadcast within the tier's vector registers, and
// slices that divide the panel (AVX-512's tile covers it whole).
func tunedTile(s isa.LinearSpec, t tile) (tile, bool) {
	tier, kv, ok := strings.Cut(s.Tile, ":")
	if !ok || tier != t.Tier {
		return t, false
	}
	for _, f := range strings.Split(kv, ",") {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			return t, false
		}
		switch k {
		case "mr":
			t.MR = n
		case "nv":
			t.NV = n
		default:
			return t, false
		}
	}
	regs := 16
	if t.Lanes == 16 {
		regs = 32
	}
	if t.MR < 1 || t.MR > 12 || t.NV < 1 || t.MR*t.NV+t.NV+1 > regs || s.PW%t.W() != 0 || t.Lanes == 16 && t.NV != s.PW/16 {
		return t, false
	}
	return t, true
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
		src, fns := emitBlock(s.K, s.PW, name, t, s.Epi, s.Pos)
		ks = append(ks, kernel(isa.ConvBlock, name, t.Tier, part{src, fns, []string{gemmArgsDecl}}))
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
		src, fns := emitConvRow(s, name, convTile(tier, s.OW, s.PW, s.KW*s.C))
		ks = append(ks, kernel(isa.ConvRow, name, tier, part{src, fns, []string{gemmArgsDecl}}))
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
		k := emitAttention(s, tier)
		ks = append(ks, k)
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
		ks = append(ks, kernel(isa.Elementwise, name, t.tier, part{elementwiseDriver(name, s.Op, t.lanes), []*Func{micro}, []string{ewArgsDecl}}))
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
		name := fmt.Sprintf("layernorm_i%d%s_%s", s.I, bSuffix(s.Beta), t.tier)
		micro := layerNorm(name+"_k", s.I, t.lanes, s.Beta)
		ks = append(ks, kernel(isa.LayerNorm, name, t.tier, part{layerNormDriver(name, s.I, s.Beta), []*Func{micro}, []string{lnArgsDecl}}))
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
		ks = append(ks, kernel(isa.Softmax, name, t.tier, part{softmaxDriver(name, s.L, t.lanes), []*Func{micro}, nil}))
	}
	return ks
}

func bSuffix(bias bool) string {
	if bias {
		return "_b"
	}
	return ""
}
