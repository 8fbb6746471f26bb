package amd64

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
)

// Direct convolution on NHWC activations, without im2col. One output row
// of one image is a GEMM whose rows are the row's OW pixels and whose
// columns are the O output channels (the packed weights' panels, as for a
// linear layer, with K = KH·KW·C in (kh, kw, c) order). Its left operand
// is read in place from the zero-padded input: pixel ow's taps in window
// row kh are the KW·C floats starting at ((oh·SH + kh)·Wp + ow·SW)·C, so a
// tile of consecutive pixels is a row-strided operand (lda = SW·C floats)
// and the microkernel walks the KH window rows (kh passes of KW·C steps). Bias, residual
// and activation are the GEMM epilogue's: per output channel, which is a
// column here.

// convTile chooses the tile of tier ("avx512" or "avx2") for rows of
// ow pixels and panels of pw columns, by a count of the cycles a k step
// takes on each tile a row needs (multiply-adds, or loads at two per
// cycle when they dominate; a few more loads break ties), plus a fixed
// cost per microkernel call. The tile's width divides the panel.
func convTile(tier string, ow, pw, k int) tile {
	lanes, regs := 16, 32
	if tier == "avx2" {
		lanes, regs = 8, 16
	}
	best, bestCost := tile{}, 0.0
	for nv := 1; nv <= 4; nv++ {
		if pw%(nv*lanes) != 0 {
			continue
		}
		for mr := 1; mr <= 16; mr++ {
			// Accumulators, then B and the broadcast, or the GELU's four
			// temporaries.
			if mr*nv+max(nv+1, 4) > regs {
				break
			}
			cost := 0.0
			for i := 0; i < ow; i += mr {
				r := min(mr, ow-i)
				loads := float64(r + nv)
				cost += float64(k)*(max(float64(r*nv), loads/2)+0.05*loads) + 60
			}
			cost *= float64(pw / (nv * lanes))
			if best.MR == 0 || cost < bestCost {
				best, bestCost = tile{Tier: tier, Lanes: lanes, NV: nv, MR: mr}, cost
			}
		}
	}
	return best
}

// emitConvRow returns the Go driver
//
//	func name(x, wp, bias, y, resid []float32)
//
// that computes one output row of a convolution of shape s with tile t:
// x starts at the window's top-left input (padded rows of Wp·C floats),
// y and resid are the row's OW·O outputs (pixel-major), wp the packed
// weights (negated, as Pack stores them), bias Panels·PW floats when
// s.Bias: the isa.ConvRow contract. It returns the microkernels too
// (see emitLinear).
func emitConvRow(s isa.ConvRowSpec, name string, t tile) (goSrc string, fns []*Func) {
	p := gemm.Params{N: s.O, K: s.KW * s.C, MR: 1, NR: 8, PW: s.PW}
	mustValidate(p)
	ms := microSpec{t: t, ldb: s.PW, bias: s.Bias, epi: s.Epi}
	np := (s.O + s.PW - 1) / s.PW
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	f("// %s computes one output row (%d pixels × %d channels) of a %d×%d convolution", name, s.OW, s.O, s.KH, s.KW)
	f("// of %d channels, stride %d, on NHWC rows of %d padded pixels, with %s kernels (%d×%d tiles).", s.C, s.SW, s.Wp, t.Tier, t.MR, t.W())
	f("func %s(x, wp, bias, y, resid []float32) {", name)
	f("const C, O, KH, KW, SW, Wp, OW = %d, %d, %d, %d, %d, %d, %d", s.C, s.O, s.KH, s.KW, s.SW, s.Wp, s.OW)
	f("const K, PW, NP, MR, W = KH * KW * C, %d, %d, %d, %d", s.PW, np, t.MR, t.W())
	check := "len(x) < ((KH-1)*Wp+(OW-1)*SW+KW)*C || len(y) < OW*O || len(wp) < NP*K*PW"
	if s.Bias {
		check += " || len(bias) < NP*PW"
	}
	if s.Epi.Resid {
		check += " || len(resid) < OW*O"
	}
	driverPreamble(f, name, check, "SW*C", "KW*C, KH, (Wp-KW)*C*4", ms)
	f("for q := 0; q < NP; q++ {")
	panelSlice(f, s.Bias, "O")
	f("for i := 0; i < OW; i += MR {")
	f("r := min(MR, OW-i)")
	rows := rowCounts(t, s.OW)
	rowTile(f, ms, rows, "SW*C", "O", "O")
	f("}")
	f("}")
	f("}")
	f("}")
	return b.String(), micros(ms, rows)
}
