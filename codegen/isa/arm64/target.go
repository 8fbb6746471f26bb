package arm64

import (
	"fmt"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
)

// Target is the arm64 back end: NEON kernels in Plan 9 assembly, called
// from the shared Go drivers (codegen/isa/driver).
type Target struct{}

// tierNEON runs on every arm64 CPU with Advanced SIMD (all that Go
// supports in practice); tierDotProd (qgemm.go) adds ARMv8.2's dot
// product and only the integer GEMM has kernels for it.
var tierNEON = isa.Tier{Name: "neon", Check: "rt.Supports(rt.TierNEON)"}

func (Target) Name() string       { return "arm64" }
func (Target) GOARCH() string     { return "arm64" }
func (Target) Constraint() string { return "!purego" }
func (Target) Tiers() []isa.Tier  { return []isa.Tier{tierDotProd, tierNEON} }

// part is what Render writes for a kernel: its Go driver, the assembly
// functions it calls (shared between kernels by name) and the parameter
// blocks it uses.
type part struct {
	goSrc string
	funcs []*Func
	decls []string
}

func kernel(fam isa.Family, name string, p part) []isa.Kernel {
	return []isa.Kernel{{Family: fam, Tier: tierNEON, Name: name, Part: p}}
}

// Linear runs on the GEMM microkernels (5×16 tiles, or the tile
// LinearSpec.Tile names).
func (Target) Linear(s isa.LinearSpec) []isa.Kernel {
	if !acts(s.Epi.Act) || s.PW%16 != 0 {
		return nil
	}
	t, tuned := neonTile, ""
	if tt, ok := tunedTile(s); ok {
		t, tuned = tt, fmt.Sprintf("_%dx%d", tt.MR, tt.W())
	}
	name := fmt.Sprintf("linear_n%d_k%d_pw%d%s%s%s_neon", s.N, s.K, s.PW, bSuffix(s.Bias), s.Epi.Suffix(), tuned)
	src, fns := linearKernel(s, name, t)
	return kernel(isa.Linear, name, part{src, fns, []string{driver.GemmArgs}})
}

// LinearTiles implements isa.LinearTiler: the 5×16 default, then every
// tile of 1–5 rows of 8 or 16 columns (the accumulators of row i, vector
// v are V(4i+v), A's rows V20–V24 and B's row V28–V31, so each fits).
func (Target) LinearTiles(tier string, pw int) []isa.Tile {
	if tier != tierNEON.Name || pw%16 != 0 {
		return nil
	}
	ts := []isa.Tile{{MR: neonTile.MR, NV: neonTile.NV}}
	for _, nv := range []int{2, 4} {
		for mr := 1; mr <= 5; mr++ {
			if t := (tile{MR: mr, NV: nv}); t != neonTile && pw%t.W() == 0 {
				ts = append(ts, isa.Tile{MR: mr, NV: nv})
			}
		}
	}
	return ts
}

// tunedTile returns the tile s.Tile names ("neon:nv=2,mr=4"), if
// LinearTiles lists it.
func tunedTile(s isa.LinearSpec) (tile, bool) {
	c, ok := isa.TunedTile(Target{}, s, tierNEON.Name, isa.Tile{MR: neonTile.MR, NV: neonTile.NV})
	return tile{MR: c.MR, NV: c.NV}, ok
}

// ConvBlock runs on the GEMM microkernels with the right-hand side packed
// at run time.
func (Target) ConvBlock(s isa.ConvBlockSpec) []isa.Kernel {
	if !acts(s.Epi.Act) || s.PW%16 != 0 {
		return nil
	}
	pos := ""
	if s.Pos {
		pos = "_pos"
	}
	name := fmt.Sprintf("convblock_k%d_pw%d%s%s_neon", s.K, s.PW, pos, s.Epi.Suffix())
	src, fns := blockKernel(s, name)
	return kernel(isa.ConvBlock, name, part{src, fns, []string{driver.GemmArgs}})
}

// ConvRow runs on the GEMM microkernels walking the window.
func (Target) ConvRow(s isa.ConvRowSpec) []isa.Kernel {
	if !acts(s.Epi.Act) || s.PW%16 != 0 {
		return nil
	}
	name := fmt.Sprintf("conv%dx%d_c%d_o%d_s%d_wp%d_ow%d%s%s_neon", s.KH, s.KW, s.C, s.O, s.SW, s.Wp, s.OW, bSuffix(s.Bias), s.Epi.Suffix())
	src, fns := convRowKernel(s, name)
	return kernel(isa.ConvRow, name, part{src, fns, []string{driver.GemmArgs}})
}

// Attention runs QKᵀ and PV on the GEMM microkernels and the softmax on
// its row kernel, where a head's width of V is a multiple of 16.
func (Target) Attention(s isa.AttentionSpec) []isa.Kernel {
	if (s.Dv/s.H)%16 != 0 {
		return nil
	}
	return []isa.Kernel{attentionKernel(s)}
}

// Elementwise has kernels for relu, affine, add, sub and mul.
func (Target) Elementwise(s isa.ElementwiseSpec) []isa.Kernel {
	if !hasElementwise(s.Op) {
		return nil
	}
	name := "ew_" + s.Op + "_neon"
	return kernel(isa.Elementwise, name, part{driver.Elementwise(name, s.Op, 4), []*Func{elementwise(name+"_k", s.Op)}, []string{driver.EWArgs}})
}

// LayerNorm has kernels for rows of whole vectors.
func (Target) LayerNorm(s isa.LayerNormSpec) []isa.Kernel {
	if s.I%4 != 0 || s.I == 0 || s.I > layerNormMax {
		return nil
	}
	suffix := bSuffix(s.Beta)
	if s.Plain {
		suffix = "_plain"
	}
	name := fmt.Sprintf("layernorm_i%d%s_neon", s.I, suffix)
	return kernel(isa.LayerNorm, name, part{driver.LayerNorm(name, s), []*Func{layerNorm(name+"_k", s)}, []string{driver.LNArgs}})
}

// Softmax has kernels for rows of any length (a scalar tail).
func (Target) Softmax(s isa.SoftmaxSpec) []isa.Kernel {
	if s.L < 1 {
		return nil
	}
	name := fmt.Sprintf("softmax_l%d_neon", s.L)
	return kernel(isa.Softmax, name, part{driver.Softmax(name, s.L, 4, false), []*Func{softmax(name+"_k", s.L)}, nil})
}

// Depthwise runs on the depthwise microkernels, four channels a vector,
// where the row has at least one whole vector of channels.
func (Target) Depthwise(s isa.DepthwiseSpec) []isa.Kernel {
	name := fmt.Sprintf("dw%dx%d_c%d_s%d_d%dx%d_wp%d_ow%d%s%s_neon", s.KH, s.KW, s.C, s.SW, s.DH, s.DW, s.Wp, s.OW, bSuffix(s.Bias), s.Epi.Suffix())
	src, fns, ok := depthwiseKernel(s, name)
	if !ok {
		return nil
	}
	return kernel(isa.Depthwise, name, part{src, fns, []string{driver.DWArgs}})
}
